package molotov

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"
)

// defaultDialer is http.DefaultTransport's dialer, shared by every
// session's transport (a net.Dialer is safe for concurrent use).
var defaultDialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

// proxyCache answers http.ProxyFromEnvironment for a session's transport,
// remembering the answer for the latest scheme and host: the environment
// is read once per process anyway, and the lookup costs on every request.
type proxyCache struct{ last atomic.Pointer[proxyEntry] }

type proxyEntry struct {
	scheme, host string
	url          *url.URL
	err          error
}

func (c *proxyCache) proxy(req *http.Request) (*url.URL, error) {
	if e := c.last.Load(); e != nil && e.host == req.URL.Host && e.scheme == req.URL.Scheme {
		return e.url, e.err
	}
	u, err := http.ProxyFromEnvironment(req)
	c.last.Store(&proxyEntry{scheme: req.URL.Scheme, host: req.URL.Host, url: u, err: err})
	return u, err
}

// sessionProxy returns the Proxy of a session's transport: none when the
// environment names no proxy, since http.ProxyFromEnvironment would then
// answer nil to every request (and net/http skips its proxy lookup
// altogether for a nil Proxy), else the cached ProxyFromEnvironment.
func sessionProxy() func(*http.Request) (*url.URL, error) {
	for _, k := range [...]string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		if os.Getenv(k) != "" {
			return new(proxyCache).proxy
		}
	}
	return nil
}

// newSession builds the worker's session from its config.
func newSession(rs *runState, worker int, cfg *SessionConfig) (*Session, error) {
	if cfg == nil {
		cfg = &SessionConfig{}
	}
	base := rs.cfg.BaseURL
	if cfg.BaseURL != "" {
		base = cfg.BaseURL
		if err := checkBaseURL(base); err != nil {
			return nil, fmt.Errorf("SessionConfig.BaseURL: %w", err)
		}
	}
	s := &Session{
		Worker: worker,
		rs:     rs,
		base:   strings.TrimRight(base, "/"),
		t0:     time.Now(),
	}
	if h := cfg.Header; len(h) > 0 {
		s.header.Store(&h)
	}
	s.t0Clock = clockSince(s.t0)
	var rt http.RoundTripper = cfg.Transport
	if rt == nil {
		// http.DefaultTransport's settings, built afresh: Clone would also
		// copy the TLS config that DefaultTransport grew when first used.
		tr := &http.Transport{
			Proxy:                 sessionProxy(),
			DialContext:           defaultDialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		tr.MaxIdleConnsPerHost = 16
		if rs.cfg.InsecureSkipVerify {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for, and warned about at the start of the run
		}
		// No client-side idle timeout: its timer reset costs every request,
		// servers close idle connections themselves, and the session
		// closes its own when it ends. ConfigureTransport may set one.
		tr.IdleConnTimeout = 0
		if cfg.ConfigureTransport != nil {
			cfg.ConfigureTransport(tr)
		}
		countDials(tr, &rs.stats.conns)
		s.trans = tr
		rt = tr
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = rs.cfg.RequestTimeout
	}
	// The timeout lives in the measuring transport, not in Client.Timeout:
	// the client's own timer would wrap the body outside our tracking and
	// start a goroutine per request.
	s.Client = &http.Client{Transport: &measuringTransport{base: rt, s: s, timeout: timeout}, Jar: &s.jar, CheckRedirect: checkRedirect}
	rs.sessions.add(s)
	return s, nil
}

// maxRedirects is net/http's limit, kept.
const maxRedirects = 10

// checkRedirect is net/http's default policy, with an error that names
// where the chain started and where it was going.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("molotov: %s %s: stopped after %d redirects (the last to %s); a redirect loop?",
			via[0].Method, via[0].URL.Redacted(), maxRedirects, req.URL.Redacted())
	}
	return nil
}

// lazyJar is the session's cookie jar, made when the first cookie is set.
// Until then it answers Cookies with nil without asking a jar, whose
// lookup (host canonicalisation, a clock read, a lock) costs about 0.3µs
// on every request of the many load tests whose target sets no cookie,
// and a worker whose target sets none has no jar to keep.
type lazyJar struct {
	once sync.Once
	jar  *cookiejar.Jar
	used atomic.Bool // jar is made and has been given cookies
}

func (j *lazyJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if len(cookies) == 0 {
		return
	}
	j.once.Do(func() { j.jar, _ = cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}) }) // never fails
	j.jar.SetCookies(u, cookies)
	j.used.Store(true)
}

func (j *lazyJar) Cookies(u *url.URL) []*http.Cookie {
	if !j.used.Load() {
		return nil
	}
	return j.jar.Cookies(u)
}

// close releases the session's connections.
func (s *Session) close() {
	s.endScenario()
	defer s.rs.sessions.remove(s)
	defer s.closeTimeout()
	s.Client.CloseIdleConnections() // measuringTransport passes it to whichever transport it wraps
}

// countDials makes tr count in n each connection it opens: its dials
// (DialContext, else the deprecated Dial, else a zero net.Dialer as
// net/http would use) and its TLS dials when it has its own (DialTLSContext
// or DialTLS). A dial costs one atomic add beside the
// connection's own work; requests on open connections cost nothing.
func countDials(tr *http.Transport, n *atomic.Int64) {
	type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)
	count := func(dial dialFunc) dialFunc {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err == nil && c != nil { // net/http turns (nil, nil) into an error
				n.Add(1)
			}
			return c, err
		}
	}
	// A ConfigureTransport may still set the deprecated Dial or DialTLS,
	// which net/http uses when DialContext or DialTLSContext is nil: they
	// are wrapped as they are.
	//lint:ignore SA1019 wrapped, not used anew
	dial, dialTLS := tr.Dial, tr.DialTLS
	switch {
	case tr.DialContext != nil:
		tr.DialContext = count(tr.DialContext)
	case dial != nil:
		tr.DialContext = count(func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) })
	default:
		tr.DialContext = count((&net.Dialer{}).DialContext)
	}
	switch {
	case tr.DialTLSContext != nil:
		tr.DialTLSContext = count(tr.DialTLSContext)
	case dialTLS != nil:
		tr.DialTLSContext = count(func(_ context.Context, network, addr string) (net.Conn, error) { return dialTLS(network, addr) })
	}
}
