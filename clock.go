package molotov

import (
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/tick"
)

// clockPeriod is the period of the run's clock: how late at most the run
// ends after its Duration, and a request after its timeout.
const clockPeriod = 10 * time.Millisecond

// minClockTimeout is the shortest request timeout left to the run's
// clock; a shorter one gets a context deadline of its own per request, so
// that the clock's period stays a small part of it.
const minClockTimeout = 20 * clockPeriod

// startClock starts the run's clock: every clockPeriod it ends the run at
// its Duration, takes the timeline's points (and checks the thresholds
// live) and times out the sessions' requests that are past their
// deadline. One tick does all of it without a runtime timer (see
// internal/tick), so that a steady run keeps none pending. The returned
// func stops the clock and waits for its last tick.
func (rs *runState) startClock(tl *timeline) (stop func()) {
	return tick.Start(clockPeriod, func() {
		now := time.Now()
		rs.sessions.expire(now) // first: a timeline point can take a few milliseconds
		elapsed := now.Sub(rs.start)
		if d := rs.cfg.Duration; d > 0 && elapsed >= d {
			rs.stop(StopDuration)
		}
		tl.tick(elapsed)
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

// expire times out every request past its deadline at now.
//
// It scans the sessions only when one may be due: a request's deadline is
// at least minClockTimeout after its start, so one scan that finds the
// earliest deadline among the requests in flight also tells when the next
// scan is needed, a period early for a request that started as the scan
// ran. With thousands of workers and the default 30 s timeout, that is a
// scan every 190 ms instead of every tick (a scan reads every session's
// deadline, a cache miss each).
func (ss *sessionSet) expire(now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if now.Before(ss.next) {
		return
	}
	next := now.Add(minClockTimeout - clockPeriod)
	for s := range ss.set {
		if due, ok := s.expireTimeout(now); ok && due.Before(next) {
			next = due
		}
	}
	ss.next = next
}
