// Package tick calls a function at a steady period without keeping a
// runtime timer pending.
//
// While any runtime timer is pending, the Go scheduler reads the clock
// every time it looks for work (runtime.(*timers).check), which in a load
// generator happens several times per request: about 1% of its CPU for a
// timer that fires twice a minute. On Linux a tick comes instead from a
// timerfd that the runtime's network poller watches like a socket, so the
// scheduler has no timer to check between ticks. Elsewhere, or when no
// timerfd can be made, a time.Ticker does the same job at the usual cost.
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

// startFile runs fn at each expiry of a periodic timer file: one whose
// reads block until the timer has expired and return the number of
// expiries since the last read (a Linux timerfd).
func startFile(f *os.File, fn func()) func() {
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
		if stopped.Swap(true) {
			<-done
			return
		}
		f.Close()
		<-done
	}
}

// startTicker is Start on a time.Ticker.
func startTicker(period time.Duration, fn func()) func() {
	t := time.NewTicker(period)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-t.C:
				select {
				case <-quit: // a tick and stop at once: stop wins
					return
				default:
				}
				fn()
			case <-quit:
				return
			}
		}
	}()
	var once atomic.Bool
	return func() {
		if !once.Swap(true) {
			t.Stop()
			close(quit)
		}
		<-done
	}
}
