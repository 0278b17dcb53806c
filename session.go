package molotov

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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
	BaseURL string        // overrides Runner.BaseURL for this worker
	Header  http.Header   // sent with every request of the session (unless the request sets it)
	Timeout time.Duration // bounds each whole request, body included; zero: Runner.RequestTimeout
	// ConfigureTransport sets TLS, proxies or limits on the worker's own
	// transport (a clone of http.DefaultTransport with MaxIdleConnsPerHost
	// 16 and no IdleConnTimeout). Its dialers are then wrapped to count
	// Result.Connections: one that sets DialContext to nil gets a zero
	// net.Dialer's, and HTTP/2 then needs ForceAttemptHTTP2.
	ConfigureTransport func(*http.Transport)
	Transport          http.RoundTripper // replaces the transport; still wrapped so requests are measured
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
//
// A response belongs to its scenario run: when the run ends, the session
// drains and closes the bodies the scenario left open, and a later request
// may reuse what tracked them, so do not keep a response body beyond the
// run that received it.
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
	header atomic.Pointer[http.Header] // never changed in place: SetHeader swaps in a copy; nil: none
	// t0 is the session's clock base: times are kept as time.Since(t0),
	// one monotonic clock read (time.Now reads two clocks).
	t0      time.Time
	t0Clock time.Duration   // t0 as the run's clock counts time (see clockSince)
	trans   *http.Transport // the worker's own transport, closed when the session ends
	mu      sync.Mutex      // guards bodies, rt, names, key, values and SetHeader's copies
	bodies  []*trackedBody  // bodies handed out during the current scenario run
	spare   []*trackedBody  // bodies of ended runs, to track the next requests (see newBody)
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
	buffered atomic.Int64          // body bytes its scenario run holds against the run's MaxBufferedBytes
	names    map[string]*nameEntry // this session's request names, "METHOD /path"
	key      []byte                // scratch for building "METHOD /path"
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

// SetHeader sets a header sent with every later request of the session
// (a bearer token after a login in SetupSession, say), beside those of
// SessionConfig.Header, whose value for key it replaces; an empty value
// removes the header. A request that sets the header itself keeps its own
// value (a Cookie header is merged with the jar's cookies). Like
// net/http's Authorization, a credential header (Authorization, Cookie, or
// a name that Runner.Redact's rules call secret, such as X-Api-Key) is not
// added to a redirect that leaves the first request's domain. The verbose
// dumps show the header with its secret hidden, like any other.
//
// SetHeader is safe for concurrent use; a request already sent is not
// changed.
func (s *Session) SetHeader(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := make(http.Header)
	if cur := s.header.Load(); cur != nil {
		h = cur.Clone()
	}
	if value == "" {
		h.Del(key)
	} else {
		h.Set(key, value)
	}
	if len(h) == 0 {
		s.header.Store(nil)
		return
	}
	s.header.Store(&h)
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
// (unless out is nil). Any other status is a *StatusError. It reads what
// the decoder leaves of the body (up to 256 KiB, for at most 100 ms) before
// closing it, so that the connection is kept.
func (s *Session) GetJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(s.requestContext(ctx), http.MethodGet, s.URL(url), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return s.doJSON(req, out)
}

// PostJSON sends in encoded as JSON and decodes a 2xx JSON response into
// out (unless out is nil). Any other status is a *StatusError. Like
// GetJSON, it reads the rest of the body before closing it.
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
	defer closeBody(resp.Body)
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
		e.Name = requestName(resp.Request.Context())
	}
	return e
}

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
