package molotov

import (
	"context"
	"errors"
	"io"
	"net/url"
	"sync/atomic"
	"time"
)

// endScenario drains and closes the bodies the scenario left open, so
// their connections go back to the pool, and gives back the body bytes
// the run held against MaxBufferedBytes.
func (s *Session) endScenario() {
	defer s.rs.buffers.release(s)
	s.mu.Lock()
	bodies := s.bodies
	s.bodies = s.bodies[:0]
	s.mu.Unlock()
	for _, b := range bodies {
		if !b.closed.Load() {
			b.drainAndClose()
		}
	}
	s.mu.Lock()
	for i, b := range bodies {
		if len(s.spare) < maxSpareBodies && !b.aborted {
			s.spare = append(s.spare, b)
		}
		bodies[i] = nil
	}
	s.mu.Unlock()
}

// maxSpareBodies is how many bodies of ended runs a session keeps to
// track its next requests with.
const maxSpareBodies = 4

// newBody returns a trackedBody for a request: one of an ended run's, or
// a new one. A response body belongs to its scenario run: once the run
// ended (and the session closed what the scenario left open), its
// tracker serves a later request of the session, which saves a request
// an allocation.
func (s *Session) newBody() *trackedBody {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := popLast(&s.spare); ok {
		return b
	}
	return new(trackedBody)
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
	counted  int64 // of n, the bytes held against the run's MaxBufferedBytes
	err      error // sticky error once the limit is passed
	done     bool  // latency recorded
	draining bool  // the session drains what the scenario left
	aborted  bool  // the drain's timer fired: abort may still run, so the tracker is not reused
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
	if over := b.n - b.counted; over >= bufferStep && !b.draining {
		step := over - over%bufferStep
		if !b.s.rs.buffers.take(b.s, step) {
			b.err = &BufferLimitError{Limit: b.s.rs.buffers.limit, Request: b.st.name}
			b.finish(true)
			return n, b.err
		}
		b.counted += step
	}
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
			err = &TimeoutError{Method: b.method, URL: b.url.Redacted(), Name: requestName(b.parent), Limit: b.timeout, Err: err, Body: true}
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
	b.aborted = !t.Stop()
	b.Close()
}

const drainWait = 100 * time.Millisecond

// closeBody closes a response body that the session's own helpers
// (GetJSON, PostJSON) are done with. A body closed before its end loses
// its connection (net/http closes it rather than read the rest), so the
// body is drained first, as the session drains those a scenario left
// open: a request per connection would cost the generator and the target
// a dial each.
// A body already read to its end (or failed) is closed at once.
func closeBody(body io.ReadCloser) {
	if b, ok := body.(*trackedBody); ok && !b.done && !b.closed.Load() {
		b.drainAndClose()
		return
	}
	body.Close()
}

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
