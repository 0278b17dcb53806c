package molotov

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/molotov-go/molotov/internal/redact"
)

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
	if h := s.header.Load(); h != nil {
		req = withHeaders(req, *h, redirectedAway(req), rs.stats.errs.rules)
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
	b := s.newBody()
	*b = trackedBody{s: s, st: st, start: start, limit: rs.cfg.MaxResponseBytes, timeout: t.timeout, parent: parent, method: req.Method, url: req.URL}
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
		if req.URL.Host == "" { // net/http says: unsupported protocol scheme ""
			err = fmt.Errorf("no host to send it to: give a base URL (Runner.BaseURL, -molotov.base-url or SessionConfig.BaseURL) or the whole URL: %w", err)
		}
		if t.timeout > 0 {
			if (b.timedOut.Load() || errors.Is(err, context.DeadlineExceeded)) && parent.Err() == nil {
				// http.Client names the request around this error already.
				err = &TimeoutError{Limit: t.timeout, Err: err}
			}
			b.endTimeout()
		}
		if name := requestName(parent); name != "" {
			if _, ok := err.(tls.RecordHeaderError); !ok { // http.Client reads that one itself
				err = &namedError{name: name, err: err}
			}
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
	if c := resp.StatusCode; c < 100 || c > 599 {
		return nil, t.invalidStatus(req, b, resp)
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

// invalidStatus ends a request whose response has a status outside
// 100-599: the status is recorded as the server sent it, and the request
// fails with an error that says so.
func (t *measuringTransport) invalidStatus(req *http.Request, b *trackedBody, resp *http.Response) error {
	s := t.s
	resp.Body.Close()
	b.endTimeout()
	b.st.recordOdd(time.Since(s.t0)-b.start, resp.StatusCode)
	err := &InvalidStatusError{Status: resp.StatusCode}
	if s.rs.hasHandlers {
		s.emitRequest(ResponseReceived, req, nil, err)
	}
	return err
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
// not set them; req itself is not modified (a RoundTripper must not). On
// a hop away from the first request's domain, credentials are left out:
// net/http's and those whose names rules call secret.
func withHeaders(req *http.Request, h http.Header, away bool, rules *redact.Rules) *http.Request {
	missing := false
	for k := range h {
		if away && credentialHeader(k, rules) {
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
		if away && credentialHeader(k, rules) {
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

// credentialHeader reports the session headers left out of a redirect to
// another domain: net/http's sensitive headers, and any whose name rules
// call secret (X-Api-Key, X-Auth-Token), which net/http would forward.
func credentialHeader(k string, rules *redact.Rules) bool {
	return sensitiveHeader(k) || rules.Secret(k)
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
