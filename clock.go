package molotov

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/molotov-go/molotov/internal/tick"
)

// clockPeriod is the run clock's first wait, and the slack it keeps in
// timing out requests, for one that started as it scanned the sessions
// (see sessionSet.expire).
const clockPeriod = 10 * time.Millisecond

// minClockTimeout is the shortest request timeout left to the run's
// clock, which counts on no deadline coming sooner after a request's
// start to space its scans of the sessions (see sessionSet.expire); a
// shorter timeout gets a context deadline of its own per request.
const minClockTimeout = 20 * clockPeriod

// startClock starts the run's clock: it ends the run at its Duration,
// takes the timeline's points (and checks the thresholds live) every
// second, and times out the sessions' requests that are past their
// deadline. It wakes when one of those is due, and every 190 ms at most
// to scan the sessions, without a runtime timer (see internal/tick), so
// that a steady run keeps none pending and a slow one is not woken a
// hundred times a second for nothing. The returned func stops the clock
// and waits for its last call.
func (rs *runState) startClock(tl *timeline) (stop func()) {
	return tick.Schedule(clockPeriod, func() time.Duration {
		now := time.Now()
		next := rs.sessions.expire(now).Sub(now) // first: a timeline point can take a few milliseconds
		elapsed := now.Sub(rs.start)
		if d := rs.cfg.Duration; d > 0 {
			if elapsed >= d {
				rs.stop(StopDuration)
			} else {
				next = min(next, d-elapsed)
			}
		}
		next = min(next, tl.tick(elapsed))
		return next - time.Since(now) // the delay counts from now, not from when this call began
	})
}

// clockBase is the origin of clockSince.
var clockBase = time.Now()

// clockSince returns t as a duration on one monotonic scale for the whole
// process, so that times taken from different bases (a session's t0, the
// clock's scans) compare.
func clockSince(t time.Time) time.Duration { return t.Sub(clockBase) }

// sessionSet is the run's live sessions, whose requests the clock times
// out.
type sessionSet struct {
	mu  sync.Mutex
	set map[*Session]struct{}
	// next is when a request may next be due: no scan is needed before.
	next time.Time
	// scanned is when the last scan began (see clockSince), for a request
	// to check that no scan missed its deadline (Session.holdLocked).
	scanned atomic.Int64
}

// scannedAfter reports whether the last scan began after t (see
// clockSince).
func (ss *sessionSet) scannedAfter(t time.Duration) bool {
	return time.Duration(ss.scanned.Load()) > t
}

func (ss *sessionSet) add(s *Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.set == nil {
		ss.set = make(map[*Session]struct{})
	}
	ss.set[s] = struct{}{}
}

func (ss *sessionSet) remove(s *Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.set, s)
}

// expire times out every request past its deadline at now, and returns
// when it next needs to be called.
//
// It scans the sessions only when one may be due: a request's deadline is
// at least minClockTimeout after its start, so one scan that finds the
// earliest deadline among the requests in flight also tells when the next
// scan is needed, a period early for a request that started as the scan
// ran. A request that stalled longer between its start and publishing its
// deadline finds out, and makes a deadline of its own
// (Session.holdLocked). With thousands of workers and the default 30 s
// timeout, that is a scan every 190 ms instead of every 10 ms (a scan
// reads every session's deadline, a cache miss each).
func (ss *sessionSet) expire(now time.Time) (next time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if now.Before(ss.next) {
		return ss.next
	}
	ss.scanned.Store(int64(clockSince(now))) // before reading any deadline: see Session.holdLocked
	next = now.Add(minClockTimeout - clockPeriod)
	for s := range ss.set {
		if due, ok := s.expireTimeout(now); ok && due.Before(next) {
			next = due
		}
	}
	ss.next = next
	return next
}
