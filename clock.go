package molotov

import (
	"math"
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
//
// The timer file wakes the clock through the network poller, which the
// runtime services late when every core is busy with scenarios (seconds
// late with hundreds of workers burning CPU), while a runtime timer would
// still fire on time. So the workers watch the clock too: one that finds
// it more than clockLate overdue as it picks its next run does the
// clock's work itself (catchUp).
func (rs *runState) startClock(tl *timeline) (stop func()) {
	c := &rs.clock
	c.tl = tl
	c.due.Store(int64(clockSince(time.Now()) + clockPeriod))
	stopTick := tick.Schedule(clockPeriod, rs.clockStep)
	return func() {
		stopTick()
		c.stopped.Store(true)
		// Wait for a worker's timeline point in progress: the caller reads
		// the timeline next.
		c.tlMu.Lock()
		defer c.tlMu.Unlock()
	}
}

// clockLate is how overdue the run's clock may be before a worker does
// its work (see startClock).
const clockLate = clockPeriod

// runClock is the state of the run's clock, shared by its own goroutine
// and the workers that catch it up.
type runClock struct {
	tl      *timeline
	tlMu    sync.Mutex   // one timeline point at a time
	due     atomic.Int64 // when the next step is needed, on clockSince's scale
	stopped atomic.Bool  // the clock has stopped: no step runs any more
}

// clockStep is the clock's work: it times out the requests past their
// deadline, stops the run at its Duration (in the closed model: the open
// model's scheduler does, after its last start) and takes the timeline's
// points. It returns the delay until it is next needed, counted from its
// end. Its own goroutine and a worker that catches it up may run it at
// once: the time-outs and the stop take locks of their own and hold them
// briefly, and a timeline point in progress elsewhere is left to finish
// (a goroutine descheduled in the middle of one must not hold up the
// time-outs).
func (rs *runState) clockStep() time.Duration {
	c := &rs.clock
	if c.stopped.Load() {
		return time.Hour
	}
	now := time.Now()
	elapsed := now.Sub(rs.start)
	next := time.Duration(math.MaxInt64)
	if d := rs.cfg.Duration; d > 0 && rs.open == nil { // first: it takes no lock; the open model's scheduler stops at Duration itself
		if elapsed >= d {
			rs.stop(StopDuration)
		} else {
			next = d - elapsed
		}
	}
	next = min(next, rs.sessions.expire(now).Sub(now)) // before the timeline: a point can take a few milliseconds
	if c.tlMu.TryLock() {
		if !c.stopped.Load() {
			next = min(next, c.tl.tick(elapsed))
		}
		c.tlMu.Unlock()
	} else {
		next = min(next, clockPeriod) // another goroutine is taking the point
	}
	c.due.Store(int64(clockSince(now) + next))
	return next - time.Since(now) // the delay counts from now, not from when this call began
}

// catchUp does the clock's work from a worker when the clock's own
// goroutine is more than clockLate overdue at now (on clockSince's
// scale). It costs a worker one atomic load when the clock is on time.
// Of the workers that find it overdue at once, the one that moves its due
// time a period on does the work; should that one be descheduled before it
// is done, the clock is overdue again clockLate after that, for another.
func (rs *runState) catchUp(now time.Duration) {
	due := rs.clock.due.Load()
	if now >= time.Duration(due)+clockLate && rs.clock.due.CompareAndSwap(due, int64(now+clockPeriod)) {
		rs.clockStep()
	}
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
