package molotov

import (
	"context"
	"net/http/httptrace"
	"reflect"
	"sync/atomic"
	"time"
)

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
