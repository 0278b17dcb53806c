// Package tick calls a function at a steady period, or at the delays it
// asks for, without keeping a runtime timer pending.
//
// While any runtime timer is pending, the Go scheduler reads the clock
// every time it looks for work (runtime.(*timers).check), which in a load
// generator happens several times per request: about 1% of its CPU for a
// timer that fires twice a minute. On Linux a tick comes instead from a
// timerfd that the runtime's network poller watches like a socket, so the
// scheduler has no timer to check between ticks. Elsewhere, or when no
// timerfd can be made, a time.Timer does the same job at the usual cost.
//
// Start calls a function at a steady period; Schedule calls it again after
// whatever delay it returns, for a caller that knows when it is next
// needed. Schedule waits on a Sleeper, which also serves a caller that
// needs to wake within microseconds.
package tick

import (
	"os"
	"sync/atomic"
	"time"
)

// Start calls fn every period from a goroutine of its own until the
// returned stop is called. Ticks that come while fn still runs are
// merged into one call, as a time.Ticker drops them. stop waits for the
// goroutine to end, so fn never runs after stop returns; stop must not be
// called from fn, and calling it more than once is a no-op.
func Start(period time.Duration, fn func()) (stop func()) {
	if period <= 0 {
		panic("tick: non-positive period")
	}
	if f, err := newTimerFile(period); err == nil {
		return startFile(f, fn)
	}
	return startTicker(period, fn)
}

// startFile runs fn at each expiry of a periodic timer file, from a
// goroutine of its own: one whose reads block until the timer has expired
// and return the number of expiries since the last read (a Linux timerfd).
func startFile(f *os.File, fn func()) (stop func()) {
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var n [8]byte
		for {
			// Closing f in stop makes a blocked Read return at once.
			if _, err := f.Read(n[:]); err != nil || stopped.Load() {
				return
			}
			fn()
		}
	}()
	return func() {
		if !stopped.Swap(true) {
			f.Close()
		}
		<-done
	}
}

// Schedule calls fn from a goroutine of its own, first after first and
// then each time after the delay fn returned, until the returned stop is
// called; a delay under MinDelay counts as MinDelay. It is Start for a
// caller that knows when it is next needed, and that would otherwise be
// woken often for nothing. stop behaves as Start's.
func Schedule(first time.Duration, fn func() (next time.Duration)) (stop func()) {
	return scheduleOn(NewSleeper(), first, fn)
}

// MinDelay is the shortest delay Schedule waits between calls.
const MinDelay = time.Millisecond

// scheduleOn is Schedule on the sleeper s, which stop closes.
func scheduleOn(s *Sleeper, first time.Duration, fn func() time.Duration) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := first; s.Sleep(max(d, MinDelay)); {
			d = fn()
		}
	}()
	return func() {
		s.Close()
		<-done
	}
}

// startTicker is Start on a time.Timer reset after each call, where there
// is no timer file: the period is counted from the end of a call rather
// than kept in phase, which no caller of Start needs.
func startTicker(period time.Duration, fn func()) func() {
	return scheduleOn(newTimerSleeper(), period, func() time.Duration { fn(); return period })
}
