package molotov

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	"go.uber.org/zap"
)

// SessionConfig shapes one worker's session. Setup returns it; nil means
// the defaults.
type SessionConfig struct {
	BaseURL            string                // overrides Runner.BaseURL for this worker
	Header             http.Header           // sent with every request of the session (unless the request sets it)
	Timeout            time.Duration         // bounds each whole request, body included; zero: Runner.RequestTimeout
	ConfigureTransport func(*http.Transport) // TLS, proxies, limits on the worker's own transport (a clone of http.DefaultTransport with MaxIdleConnsPerHost 16 and no IdleConnTimeout)
	Transport          http.RoundTripper     // replaces the transport; still wrapped so requests are measured
}

// Session is one worker's HTTP session, like the aiohttp session that
// Molotov hands its scenarios. A worker keeps the same session for all its
// scenario runs, so cookies and keep-alive connections persist.
//
// Session's methods are safe for concurrent use: a scenario may fan out
// over s.Client from several goroutines.
//
// Requests made with Get, Post, GetJSON and PostJSON may carry a context
// of the session's own, derived from the one passed in (it holds the
// request timeout): read the scenario's ctx, not resp.Request.Context().
// Each redirect hop gets its own RequestTimeout. Never call t.FailNow (or testify's
// require) inside a scenario: return an error instead.
type Session struct {
	// Worker is the worker's number, from 0 (Molotov's worker_id).
	Worker int
	// Client is the worker's own client: its own transport (connection
	// pool) and cookie jar. Every request made through it is measured and
	// emits events, whoever makes it.
	Client *http.Client

	// The fields every request reads or writes come first and together,
	// so that a request touches few cache lines of its session: with
	// many workers a session is rarely still in cache when its next
	// request comes.
	rs     *runState
	header http.Header
	// t0 is the session's clock base: times are kept as time.Since(t0),
	// one monotonic clock read (time.Now reads two clocks).
	t0      time.Time
	t0Clock time.Duration   // t0 as the run's clock counts time (see clockSince)
	trans   *http.Transport // the worker's own transport, closed when the session ends
	mu      sync.Mutex      // guards bodies, rt, names, key and values
	bodies  []*trackedBody  // bodies handed out during the current scenario run
	// rt bounds requests without a context and a timer per request.
	rt     reqTimeout
	recent [4]atomic.Pointer[nameEntry] // the names of its latest requests, for statsFor
	jar    lazyJar

	run      scenarioRun                // the scenario run in progress, for runScenario
	base     string                     // base URL without trailing slash; "" when none
	logger   atomic.Pointer[zap.Logger] // made on first use: most scenarios never log
	step     int
	iter     int64
	scenario atomic.Pointer[scenario] // the scenario running now, for events
	values   map[any]any
	names    map[string]*nameEntry // this session's request names, "METHOD /path"
	key      []byte                // scratch for building "METHOD /path"

	// gx is the worker's runtime.Goexit guard; nil outside a worker.
	gx *goexitGuard
}

// reqTimeout enforces the request timeout of a session's requests cheaply
// in the common case of one request in flight at a time on the session's
// own transport: that request gets a cancellable context that is reused
// from request to request (created again only after it was cancelled, or
// when the request's parent context changes), and no timer at all: the
// run's clock (clock.go) cancels it once it is past its deadline, within
// clockPeriod. A second request in flight at the same time, a
// timeout shorter than minClockTimeout, or a session with a custom
// Transport falls back to a context.WithDeadline of its own. The
// session's mu guards every field but due.
type reqTimeout struct {
	parent   context.Context         // what ctx derives from; always of a comparable type
	ctx      *sharedCtx              // the reusable request context; nil: none
	cancel   context.CancelCauseFunc // cancels ctx
	busy     *trackedBody            // the request using ctx now; nil: none
	deadline time.Duration           // busy's deadline, since the session's t0
	due      atomic.Int64            // deadline while busy, else 0: read by the clock without the lock
	closed   bool
}

// sharedCtx is a session's reusable request context: a cancellable child
// of parent. Session's request helpers (Get, Post, GetJSON, PostJSON)
// build their requests on it directly when it is free, which spares the
// measuring transport a copy of the request (req.WithContext).
type sharedCtx struct {
	context.Context
	s      *Session
	parent context.Context
	trace  any // parent.Value(traceKey), kept: a context's values never change
}

// Value answers net/http's lookup of a ClientTrace, which it makes on
// every request and again while writing it, from what the parent said
// when the context was made, instead of walking the chain of contexts
// each time.
func (c *sharedCtx) Value(key any) any {
	if key == traceKey && traceKey != nil {
		return c.trace
	}
	return c.Context.Value(key)
}

// traceKey is the key under which net/http/httptrace keeps a ClientTrace
// in a context: learnt once, by having httptrace look one up in a context
// that records the key it is asked for.
var traceKey = func() any {
	r := &keyRecorder{Context: context.Background()}
	httptrace.ContextClientTrace(r)
	return r.key
}()

// keyRecorder is a context that records the last key it was asked for.
type keyRecorder struct {
	context.Context
	key any
}

func (r *keyRecorder) Value(key any) any {
	r.key = key
	return nil
}

// requestContext returns the context a request helper should build its
// request on: the session's shared context when it derives from ctx and
// no request holds it, else ctx. RoundTrip checks again and copes with a
// shared context that was taken or cancelled in between.
func (s *Session) requestContext(ctx context.Context) context.Context {
	r := &s.rt
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ctx != nil && r.busy == nil && r.parent == ctx {
		return r.ctx
	}
	return ctx
}

// acquireTimeout returns the reusable context for a request with the
// given parent and deadline, or false when another request holds it or
// the timeout is too short for the run's clock (the caller then makes a
// context of its own).
func (s *Session) acquireTimeout(parent context.Context, b *trackedBody, deadline, timeout time.Duration) (*sharedCtx, bool) {
	if timeout < minClockTimeout {
		return nil, false
	}
	r := &s.rt
	s.mu.Lock()
	if r.busy != nil || r.closed {
		s.mu.Unlock()
		return nil, false
	}
	if r.ctx != nil && r.parent == parent && r.ctx.Err() == nil {
		if !s.holdLocked(b, deadline, timeout) {
			s.mu.Unlock()
			return nil, false
		}
		s.mu.Unlock()
		return r.ctx, true
	}
	s.mu.Unlock()
	// A new shared context, made without the lock: making it calls the
	// parent's methods (Done, Value, AfterFunc), which may be the user's
	// and may use the session.
	if !reflect.TypeOf(parent).Comparable() {
		return nil, false // r.parent != parent would panic next time
	}
	ctx, cancel := context.WithCancelCause(parent)
	sc := &sharedCtx{Context: ctx, s: s, parent: parent}
	if traceKey != nil {
		sc.trace = parent.Value(traceKey)
	}
	s.mu.Lock()
	if r.busy != nil || r.closed { // another request took the slot meanwhile
		s.mu.Unlock()
		cancel(context.Canceled)
		return nil, false
	}
	old := r.cancel
	r.ctx, r.cancel, r.parent = sc, cancel, parent
	held := s.holdLocked(b, deadline, timeout)
	s.mu.Unlock()
	if old != nil {
		old(context.Canceled) // detach the previous context from its parent
	}
	if !held {
		return nil, false
	}
	return sc, true
}

// holdLocked gives the reusable context to b until deadline, the
// deadline of a request of the given timeout, and tells the run's clock.
// It reports false, and gives nothing, when a scan of the clock may have
// missed that deadline: one that ran more than clockPeriod after the
// request read its start, before the deadline was published here (a
// request stalled in between, by preemption or a slow parent context),
// may have put its next scan past it (see sessionSet.expire). s.mu must
// be held.
func (s *Session) holdLocked(b *trackedBody, deadline, timeout time.Duration) bool {
	r := &s.rt
	r.busy, r.deadline = b, deadline
	r.due.Store(int64(deadline))
	if s.rs.sessions.scannedAfter(s.t0Clock + deadline - timeout + clockPeriod) {
		r.busy = nil
		r.due.Store(0)
		return false
	}
	return true
}

// releaseTimeout ends b's hold on the reusable context.
func (s *Session) releaseTimeout(b *trackedBody) {
	r := &s.rt
	s.mu.Lock()
	if r.busy == b {
		r.busy = nil
		r.due.Store(0)
	}
	s.mu.Unlock()
}

// expireTimeout cancels the request holding the reusable context if it is
// past its deadline at now; else it returns that deadline, if a request
// holds the context. The run's clock calls it (see sessionSet.expire).
func (s *Session) expireTimeout(now time.Time) (next time.Time, pending bool) {
	r := &s.rt
	due := r.due.Load()
	if due == 0 {
		return time.Time{}, false
	}
	if int64(now.Sub(s.t0)) < due {
		return s.t0.Add(time.Duration(due)), true
	}
	s.mu.Lock()
	b := r.busy
	if b == nil || r.closed {
		s.mu.Unlock()
		return time.Time{}, false
	}
	if d := r.deadline; d > now.Sub(s.t0) {
		s.mu.Unlock()
		return s.t0.Add(d), true
	}
	b.timedOut.Store(true)
	cancel := r.dropLocked()
	s.mu.Unlock()
	cancel(context.DeadlineExceeded)
	return time.Time{}, false
}

// dropLocked forgets the reusable context and the request holding it, and
// returns the context's cancel (nil when there was none), for the caller
// to call once it has released the session's mu, which it must hold.
func (r *reqTimeout) dropLocked() context.CancelCauseFunc {
	cancel := r.cancel
	r.ctx, r.cancel, r.parent, r.busy = nil, nil, nil, nil
	r.due.Store(0)
	return cancel
}

// closeTimeout detaches the reusable context from its parent when the
// session ends.
func (s *Session) closeTimeout() {
	r := &s.rt
	s.mu.Lock()
	r.closed = true
	cancel := r.dropLocked()
	s.mu.Unlock()
	if cancel != nil {
		cancel(context.Canceled)
	}
}

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
		header: cfg.Header,
		t0:     time.Now(),
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
	j.once.Do(func() { j.jar, _ = cookiejar.New(nil) }) // cookiejar.New never fails with nil options
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

// Step returns the number of the current scenario run of this worker,
// from 1 (Molotov's context step).
func (s *Session) Step() int { return s.step }

// Iteration returns a run-wide number of the current scenario run, unique
// across workers, from 1: handy for unique test data.
func (s *Session) Iteration() int64 { return s.iter }

// SetValue attaches a value to the session, for the scenarios and fixtures
// of this worker (Molotov's get_context(session) attributes). Values live
// as long as the session.
func (s *Session) SetValue(key, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = make(map[any]any)
	}
	s.values[key] = value
}

// Value returns the value attached with SetValue under key, or nil.
func (s *Session) Value(key any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[key]
}

// Logger returns the run's logger with the worker's number attached.
func (s *Session) Logger() *zap.Logger {
	if l := s.logger.Load(); l != nil {
		return l
	}
	l := s.rs.logger.With(zap.Int("worker", s.Worker))
	if s.logger.CompareAndSwap(nil, l) {
		return l
	}
	return s.logger.Load()
}

// Printf prints a line on the run's console (Molotov's session.print).
// Nothing is printed when the run is Quiet.
func (s *Session) Printf(format string, args ...any) {
	if s.rs.cfg.Quiet {
		return
	}
	s.rs.console.Println(fmt.Sprintf("[W:%d] ", s.Worker) + fmt.Sprintf(format, args...))
}

// Metrics returns the run's go-metrics registry, for custom metrics
// (Molotov's get_context(session).statsd).
func (s *Session) Metrics() metrics.Registry { return s.rs.metrics }

// URL resolves u against the session's base URL: an absolute URL is used
// as is; a path is appended to the base URL's path
// ("http://h/api/v1" + "/items" → "http://h/api/v1/items").
func (s *Session) URL(u string) string {
	if s.base == "" || isAbsoluteHTTP(u) {
		return u
	}
	if u == "" || u[0] != '/' {
		return s.base + "/" + u
	}
	return s.base + u
}

// Get sends a GET request to url (see [Session.URL]).
func (s *Session) Get(ctx context.Context, url string) (*http.Response, error) {
	req, err := s.newGet(ctx, url)
	if err != nil {
		return nil, err
	}
	return s.Client.Do(req)
}

// newGet makes Get's request. It is never inlined: Get's frame stays on
// the worker's stack while the request waits, and the call that makes the
// request takes the most room in it (see runScenario).
//
//go:noinline
func (s *Session) newGet(ctx context.Context, url string) (*http.Request, error) {
	return http.NewRequestWithContext(s.requestContext(ctx), http.MethodGet, s.URL(url), nil)
}

// Post sends a POST request with the given content type and body.
func (s *Session) Post(ctx context.Context, url, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(s.requestContext(ctx), http.MethodPost, s.URL(url), body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return s.Client.Do(req)
}

// Do sends req through the session's client. A request whose URL has no
// host is resolved against the session's base URL.
func (s *Session) Do(req *http.Request) (*http.Response, error) {
	if req.URL != nil && req.URL.Host == "" && s.base != "" {
		u, err := url.Parse(s.URL(req.URL.String()))
		if err != nil {
			return nil, err
		}
		req.URL = u
		req.Host = ""
	}
	return s.Client.Do(req)
}

// GetJSON sends a GET request and decodes a 2xx JSON response into out
// (unless out is nil). Any other status is a *StatusError.
func (s *Session) GetJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(s.requestContext(ctx), http.MethodGet, s.URL(url), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return s.doJSON(req, out)
}

// PostJSON sends in encoded as JSON and decodes a 2xx JSON response into
// out (unless out is nil). Any other status is a *StatusError.
func (s *Session) PostJSON(ctx context.Context, url string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("molotov: PostJSON %s: encoding the request body: %w", url, err)
	}
	req, err := http.NewRequestWithContext(s.requestContext(ctx), http.MethodPost, s.URL(url), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return s.doJSON(req, out)
}

func (s *Session) doJSON(req *http.Request, out any) error {
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := ExpectStatus(resp); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("molotov: %s %s: decoding the JSON response: %w", req.Method, req.URL.Redacted(), err)
	}
	return nil
}

// Measure times fn, work that is not HTTP (a gRPC call, a database query),
// and records it under the request name name, as a request: its latency,
// and an error when fn returns one. It returns fn's error.
func (s *Session) Measure(name string, fn func() error) error {
	st := s.rs.stats.request(name)
	start := time.Now()
	err := fn()
	st.record(time.Since(start), 0, err != nil)
	return err
}

// ExpectStatus returns nil when resp's status is one of codes (any 2xx
// when codes is empty), and a *StatusError naming what came and what was
// wanted otherwise.
func ExpectStatus(resp *http.Response, codes ...int) error {
	if resp == nil {
		return &StatusError{Want: slices.Clone(codes)}
	}
	if len(codes) == 0 {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
	} else {
		for _, c := range codes {
			if resp.StatusCode == c {
				return nil
			}
		}
	}
	// A copy: keeping codes would move every caller's variadic slice to the
	// heap, an allocation per call on the success path too.
	e := &StatusError{Got: resp.StatusCode, Want: slices.Clone(codes)}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		if resp.Request.URL != nil {
			e.URL = resp.Request.URL.Redacted()
		}
	}
	return e
}

// StatusError reports a response whose status was not the expected one.
type StatusError struct {
	Got         int   // the status received; 0 when there was no response
	Want        []int // the statuses expected; empty means any 2xx
	Method, URL string
}

func (e *StatusError) Error() string {
	want := "2xx"
	if len(e.Want) > 0 {
		parts := make([]string, len(e.Want))
		for i, c := range e.Want {
			parts[i] = strconv.Itoa(c)
		}
		want = strings.Join(parts, " or ")
	}
	if e.Got == 0 {
		return "molotov: no response, want status " + want
	}
	return fmt.Sprintf("molotov: %s %s: status %d %s, want %s", e.Method, e.URL, e.Got, http.StatusText(e.Got), want)
}

type requestNameKey struct{}

// WithRequestName returns a context whose requests are grouped in the
// statistics under name instead of "METHOD /path", for URLs that carry ids:
//
//	ctx = molotov.WithRequestName(ctx, "GET /items/{id}")
func WithRequestName(ctx context.Context, name string) context.Context {
	requestNamesUsed.Store(true)
	return context.WithValue(ctx, requestNameKey{}, name)
}

// requestNamesUsed is set once WithRequestName was called in the process:
// until then no request's context is searched for a name (a walk up the
// context chain on every request).
var requestNamesUsed atomic.Bool

// sessionNameCache bounds the request names a session remembers; others
// are looked up in the run's table each time, so memory stays bounded
// however many workers and names there are.
const sessionNameCache = 64

// nameEntry is a request name a session has seen, split into its method
// and path, with its stats.
type nameEntry struct {
	method, path string
	st           *requestStats
}

// statsFor finds the stats of req's name. A session's recent names are
// found without a lock, a hash or an allocation: a scenario's requests
// mostly repeat the same few names.
func (s *Session) statsFor(req *http.Request) *requestStats {
	if requestNamesUsed.Load() {
		if name, ok := req.Context().Value(requestNameKey{}).(string); ok && name != "" {
			return s.rs.stats.request(name)
		}
	}
	path := "/"
	if req.URL != nil && req.URL.Path != "" {
		path = req.URL.Path
	}
	slot := &s.recent[(len(path)+len(req.Method))%len(s.recent)]
	if e := slot.Load(); e != nil && e.path == path && e.method == req.Method {
		return e.st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = append(append(append(s.key[:0], req.Method...), ' '), path...)
	e, ok := s.names[string(s.key)]
	if !ok {
		e = &nameEntry{method: req.Method, path: path, st: s.rs.stats.request(string(s.key))}
	}
	// The map keeps the names that lost their slot to another, so that a
	// session whose few names never share a slot has no map at all.
	if old := slot.Load(); old != nil && old != e {
		if s.names == nil {
			s.names = make(map[string]*nameEntry)
		}
		if len(s.names) < sessionNameCache {
			s.names[old.st.name] = old // the run's own copy of the name: nothing per session but the entry
		}
	}
	slot.Store(e)
	return e.st
}

// measuringTransport wraps a worker's transport: it applies the session's
// headers, times each request, counts statuses, emits events, dumps under
// Verbose 2 and tracks response bodies.
type measuringTransport struct {
	base    http.RoundTripper
	s       *Session
	timeout time.Duration // bounds the whole request, body included
}

// CloseIdleConnections closes the wrapped transport's idle connections, so
// that s.Client.CloseIdleConnections (and the session's end) reach them.
func (t *measuringTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *measuringTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// The work is in send and received: this frame stays on the worker's
	// stack for the whole request (see runScenario).
	req, b := t.send(req)
	resp, err := t.base.RoundTrip(req)
	return t.received(req, b, resp, err)
}

// send prepares req for the wrapped transport: the session's headers, its
// stats entry, events and dumps, the clock, the body tracker b and the
// request's timeout.
func (t *measuringTransport) send(req *http.Request) (*http.Request, *trackedBody) {
	s := t.s
	rs := s.rs
	if len(s.header) > 0 {
		req = withHeaders(req, s.header, redirectedAway(req))
	}
	st := s.statsFor(req)
	if rs.hasHandlers {
		s.emitRequest(SendingRequest, req, nil, nil)
	}
	if rs.cfg.Verbose >= 2 {
		rs.dumpRequest(req)
	}
	start := time.Since(s.t0)
	parent := req.Context()
	stamped := false // req was built on the session's shared context
	if sc, ok := parent.(*sharedCtx); ok && sc.s == s {
		parent, stamped = sc.parent, true
	}
	b := &trackedBody{s: s, st: st, start: start, limit: rs.cfg.MaxResponseBytes, timeout: t.timeout, parent: parent, method: req.Method, url: req.URL}
	if t.timeout > 0 {
		var ctx context.Context
		if s.trans != nil {
			if sc, ok := s.acquireTimeout(parent, b, start+t.timeout, t.timeout); ok {
				b.shared, ctx = true, sc
			}
		}
		if !b.shared {
			ctx, b.cancel = context.WithDeadline(parent, s.t0.Add(start+t.timeout))
		}
		if ctx != req.Context() {
			req = req.WithContext(ctx)
		}
	} else if stamped {
		req = req.WithContext(parent)
	}
	return req, b
}

// received records what the wrapped transport answered and hands out
// the tracked body.
func (t *measuringTransport) received(req *http.Request, b *trackedBody, resp *http.Response, err error) (*http.Response, error) {
	s := t.s
	rs := s.rs
	st, start, parent := b.st, b.start, b.parent
	if err != nil {
		if t.timeout > 0 {
			if (b.timedOut.Load() || errors.Is(err, context.DeadlineExceeded)) && parent.Err() == nil {
				// http.Client names the request around this error already.
				err = &TimeoutError{Limit: t.timeout, Err: err}
			}
			b.endTimeout()
		}
		st.record(time.Since(s.t0)-start, 0, true)
		if rs.hasHandlers {
			s.emitRequest(ResponseReceived, req, nil, err)
		}
		return nil, err
	}
	if rs.cfg.Verbose >= 2 {
		rs.dumpResponse(resp)
	}
	if rs.hasHandlers {
		s.emitRequest(ResponseReceived, req, resp, nil)
	}
	b.rc, b.last, b.status = resp.Body, time.Since(s.t0), resp.StatusCode
	resp.Body = b
	s.mu.Lock()
	if n := len(s.bodies); n >= 16 && n == cap(s.bodies) {
		// Forget the bodies already closed, so that a long scenario run does
		// not keep every response it made (amortised O(1)).
		live := s.bodies[:0]
		for _, x := range s.bodies {
			if !x.closed.Load() {
				live = append(live, x)
			}
		}
		clear(s.bodies[len(live):])
		s.bodies = live
	}
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
	return resp, nil
}

// emitRequest sends a SendingRequest or ResponseReceived event. It is a
// function of its own, never inlined, so that the Event does not sit in
// the frame of RoundTrip, which is on a worker's stack for the whole
// request: a worker's stack stays small (its size is most of a worker's
// memory) and quick to scan at each GC cycle.
//
//go:noinline
func (s *Session) emitRequest(kind EventKind, req *http.Request, resp *http.Response, err error) {
	s.rs.emit(Event{Kind: kind, Time: time.Now(), Worker: s.Worker, Scenario: s.scenarioName(), Request: req, Response: resp, Err: err})
}

func (s *Session) scenarioName() string {
	if sc := s.scenario.Load(); sc != nil {
		return sc.name
	}
	return ""
}

// withHeaders returns req with the session's headers added where req does
// not set them; req itself is not modified (a RoundTripper must not).
func withHeaders(req *http.Request, h http.Header, away bool) *http.Request {
	missing := false
	for k := range h {
		if away && sensitiveHeader(k) {
			continue
		}
		if _, ok := req.Header[k]; !ok || k == "Cookie" {
			missing = true
			break
		}
	}
	if !missing {
		return req
	}
	r2 := new(http.Request)
	*r2 = *req
	r2.Header = make(http.Header, len(req.Header)+len(h))
	for k, v := range req.Header {
		r2.Header[k] = v
	}
	for k, v := range h {
		if away && sensitiveHeader(k) {
			continue
		}
		if cur, ok := r2.Header[k]; !ok {
			r2.Header[k] = v
		} else if k == "Cookie" {
			// The jar's cookies (or the request's) and the session's: send both.
			r2.Header[k] = []string{strings.Join(append(append([]string(nil), cur...), v...), "; ")}
		}
	}
	return r2
}

// sensitiveHeader reports the headers that net/http drops on a redirect to
// another domain.
func sensitiveHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization":
		return true
	}
	return false
}

// redirectedAway reports whether req is a redirect hop to a host outside the
// domain of the request that started the chain: there net/http drops
// credentials, and the session must not add them back.
func redirectedAway(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if first == req || first.URL == nil || req.URL == nil {
		return false
	}
	dst, src := strings.ToLower(req.URL.Hostname()), strings.ToLower(first.URL.Hostname())
	if dst == src {
		return false
	}
	return strings.Contains(dst, ":") || !strings.HasSuffix(dst, "."+src)
}

// endScenario drains and closes the bodies the scenario left open, so
// their connections go back to the pool.
func (s *Session) endScenario() {
	s.mu.Lock()
	bodies := s.bodies
	s.bodies = s.bodies[:0]
	s.mu.Unlock()
	for i, b := range bodies {
		if !b.closed.Load() {
			b.drainAndClose()
		}
		bodies[i] = nil
	}
}

// drainLimit bounds how much of a forgotten body is read to keep its
// connection; a longer body's connection is closed instead.
const drainLimit = 256 << 10

// trackedBody wraps a response body: it records the request's latency when
// the body is read to its end or closed, enforces MaxResponseBytes, and
// lets the session close it when the scenario forgot to.
type trackedBody struct {
	rc       io.ReadCloser
	st       *requestStats
	start    time.Duration // since the session's t0: when the request was sent
	last     time.Duration // since t0: when the headers came, then the scenario's last read
	fixed    time.Duration // latency to record instead of time.Since(start); 0: none
	method   string
	url      *url.URL
	status   int
	limit    int64
	n        int64
	err      error // sticky error once the limit is passed
	done     bool  // latency recorded
	draining bool  // the session drains what the scenario left
	closed   atomic.Bool
	s        *Session
	shared   bool               // the request uses the session's reusable timeout context
	timedOut atomic.Bool        // the session's timer cancelled the request
	cancel   context.CancelFunc // ends the request's own timeout context, when not shared
	timeout  time.Duration      // zero: no timeout
	parent   context.Context    // the request's context before the timeout
}

// endTimeout ends the request's timeout: it releases the session's
// reusable context, or cancels the request's own.
func (b *trackedBody) endTimeout() {
	if b.shared {
		b.s.releaseTimeout(b)
	} else if b.cancel != nil {
		b.cancel()
	}
}

func (b *trackedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.limit > 0 && b.n+int64(len(p)) > b.limit+1 {
		p = p[:b.limit+1-b.n] // one byte past the limit tells a body that is too long
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if err == nil && b.fixed == 0 {
		b.last = time.Since(b.s.t0) // a read that ends the body sets the latency in finish instead
	}
	if b.limit > 0 && b.n > b.limit {
		b.err = &ResponseTooLargeError{Limit: b.limit, Request: b.st.name}
		b.finish(true)
		return n - int(b.n-b.limit), b.err
	}
	if err != nil {
		switch {
		case err == io.EOF:
		case b.timeout > 0 && (b.timedOut.Load() || errors.Is(err, context.DeadlineExceeded)) && b.parent.Err() == nil:
			err = &TimeoutError{Method: b.method, URL: b.url.Redacted(), Limit: b.timeout, Err: err, Body: true}
		case !b.draining:
			// net/http's body errors ("unexpected EOF", a reset) do not
			// say which request they broke; the request name does, and
			// keeps one line per cause in Result.Errors.
			err = &BodyError{Request: b.st.name, Err: err}
		}
		b.finish(err != io.EOF)
	}
	return n, err
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	err := b.rc.Close()
	b.finish(false)
	return err
}

func (b *trackedBody) finish(failed bool) {
	if b.done {
		return
	}
	b.done = true
	var d time.Duration
	if b.fixed > 0 {
		d = b.fixed
	} else {
		d = time.Since(b.s.t0) - b.start
	}
	b.st.record(d, b.status, failed && !b.draining) // the scenario did not want the rest
	b.endTimeout()
}

func (b *trackedBody) drainAndClose() {
	// The scenario is done with this body: its latency ends where the
	// scenario last used it, not at the end of the scenario.
	b.fixed = max(b.last-b.start, 1)
	b.draining = true
	t := time.AfterFunc(drainWait, b.abort) // a slow or endless body is not worth its connection
	io.CopyN(io.Discard, b, drainLimit)
	t.Stop()
	b.Close()
}

const drainWait = 100 * time.Millisecond

// abort cancels the request of b, from another goroutine.
func (b *trackedBody) abort() {
	if !b.shared {
		if b.cancel != nil {
			b.cancel()
		}
		return
	}
	r := &b.s.rt
	b.s.mu.Lock()
	if r.busy != b {
		b.s.mu.Unlock()
		return
	}
	cancel := r.dropLocked()
	b.s.mu.Unlock()
	cancel(context.Canceled)
}

// ResponseTooLargeError reports a response body longer than
// Runner.MaxResponseBytes.
type ResponseTooLargeError struct {
	Limit   int64
	Request string // the request's name, "GET /items"
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("molotov: %s: response body larger than MaxResponseBytes (%d bytes); raise Runner.MaxResponseBytes to read it", e.Request, e.Limit)
}

// BodyError reports a response body that broke off while it was read (a
// reset, a body shorter than its Content-Length), naming the request.
type BodyError struct {
	Request string // the request's name, "GET /items"
	Err     error  // net/http's error, such as io.ErrUnexpectedEOF
}

func (e *BodyError) Error() string {
	return "molotov: " + e.Request + ": reading the response body: " + e.Err.Error()
}

func (e *BodyError) Unwrap() error { return e.Err }

// TimeoutError reports a request that did not complete within its
// timeout (SessionConfig.Timeout or Runner.RequestTimeout), body included.
type TimeoutError struct {
	Method, URL string
	Limit       time.Duration // the timeout that struck
	Body        bool          // the timeout struck while reading the body
	Err         error
}

func (e *TimeoutError) Error() string {
	where := "waiting for the response"
	if e.Body {
		where = "reading the response body"
	}
	target := ""
	if e.Method != "" {
		target = " " + e.Method + " " + e.URL + ":"
	}
	return fmt.Sprintf("molotov:%s request timeout (%v) hit while %s; raise Runner.RequestTimeout if the target is meant to be this slow", target, e.Limit, where)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, so net.Error-style checks see a timeout.
func (e *TimeoutError) Timeout() bool { return true }

// isAbsoluteHTTP reports whether u starts with http:// or https://, in any
// case; the common lower-case spelling is checked first, without folding.
func isAbsoluteHTTP(u string) bool {
	if len(u) < len("http://") || (u[0] != 'h' && u[0] != 'H') {
		return false
	}
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return true
	}
	return hasPrefixFold(u, "http://") || hasPrefixFold(u, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
