package molotov

import (
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/tick"
)

// clockPeriod is the run clock's first wait, and the slack it keeps in
// timing out requests, for one that started as it scanned the sessions
// (see sessionSet.expire).
const clockPeriod = 10 * time.Millisecond

// minClockTimeout is the shortest request timeout left to the run's
// clock; a shorter one gets a context deadline of its own per request, so
// that the clock's period stays a small part of it.
const minClockTimeout = 20 * clockPeriod

// startClock starts the run's clock: it ends the run at its Duration,
// takes the timeline's points (and checks the thresholds live) every
// second, and times out the sessions' requests that are past their
// deadline. It wakes only when one of those is due, without a runtime
// timer (see internal/tick), so that a steady run keeps none pending and
// a slow one is not woken a hundred times a second for nothing. The
// returned func stops the clock and waits for its last call.
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
		return min(next, tl.tick(elapsed))
	})
}

// sessionSet is the run's live sessions, whose requests the clock times
// out.
type sessionSet struct {
	mu  sync.Mutex
	set map[*Session]struct{}
	// next is when a request may next be due: no scan is needed before.
	next time.Time
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
// ran. With thousands of workers and the default 30 s timeout, that is a
// scan every 190 ms instead of every 10 ms (a scan reads every session's
// deadline, a cache miss each).
func (ss *sessionSet) expire(now time.Time) (next time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if now.Before(ss.next) {
		return ss.next
	}
	next = now.Add(minClockTimeout - clockPeriod)
	for s := range ss.set {
		if due, ok := s.expireTimeout(now); ok && due.Before(next) {
			next = due
		}
	}
	ss.next = next
	return next
}
