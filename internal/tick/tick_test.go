package tick

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var starters = []struct {
	name  string
	start func(time.Duration, func()) func()
}{
	{"Start", Start},
	{"ticker", startTicker},
}

func TestTicksAtPeriod(t *testing.T) {
	const period, window = 10 * time.Millisecond, 300 * time.Millisecond
	for _, tt := range starters {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			stop := tt.start(period, func() { n.Add(1) })
			time.Sleep(window)
			stop()
			got := n.Load()
			// 30 ticks are due; 2x slack either way for a loaded machine.
			if want := int64(window / period); got < want/2 || got > want*2 {
				t.Errorf("%d ticks in %v at %v, want about %d", got, window, period, want)
			}
			time.Sleep(5 * period)
			if after := n.Load(); after != got {
				t.Errorf("fn ran %d times after stop returned", after-got)
			}
			stop() // a second stop is a no-op
		})
	}
}

func TestSlowFnMergesTicks(t *testing.T) {
	const period = 5 * time.Millisecond
	for _, tt := range starters {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			start := time.Now()
			stop := tt.start(period, func() { n.Add(1); time.Sleep(10 * period) })
			time.Sleep(30 * period)
			stop()
			// A call takes 10 periods: the ticks in between must not queue up.
			if max := int64(time.Since(start)/(10*period)) + 1; n.Load() > max {
				t.Errorf("%d calls of a fn that takes 10 periods in %v, want at most %d", n.Load(), time.Since(start), max)
			}
			if n.Load() == 0 {
				t.Error("fn never ran")
			}
		})
	}
}

func TestStopWhileIdle(t *testing.T) {
	for _, tt := range starters {
		t.Run(tt.name, func(t *testing.T) {
			stop := tt.start(time.Hour, func() { t.Error("fn ran before its first period") })
			stopsPromptly(t, stop, "while the tick waited for its first period")
		})
	}
}

// stopsPromptly calls stop and fails t unless it returns within 5 s.
func stopsPromptly(t *testing.T, stop func(), while string) {
	t.Helper()
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return " + while)
	}
}

func TestLinuxUsesTimerfd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timerfd is Linux only")
	}
	f, err := newTimerFile(time.Second)
	if err != nil {
		t.Fatalf("newTimerFile: %v", err)
	}
	f.Close()
}

func TestNonPositivePeriodPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Start(0, fn) did not panic")
		}
	}()
	Start(0, func() {})
}

var schedulers = []struct {
	name     string
	schedule func(time.Duration, func() time.Duration) func()
}{
	{"Schedule", Schedule},
	{"timer", func(first time.Duration, fn func() time.Duration) func() {
		return scheduleOn(newTimerSleeper(), first, fn)
	}},
}

func TestScheduleWaitsTheDelayFnReturns(t *testing.T) {
	delays := []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 5 * time.Millisecond, 100 * time.Millisecond}
	for _, tt := range schedulers {
		t.Run(tt.name, func(t *testing.T) {
			var calls []time.Time
			done := make(chan struct{})
			stop := tt.schedule(10*time.Millisecond, func() time.Duration {
				calls = append(calls, time.Now())
				if len(calls) > len(delays) {
					close(done)
					return time.Hour
				}
				return delays[len(calls)-1]
			})
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("fn was not called again after the delays it asked for")
			}
			stop()
			for i, d := range delays {
				got := calls[i+1].Sub(calls[i])
				// Never early; late by at most 2x and 20 ms on a loaded machine.
				if got < d || got > 2*d+20*time.Millisecond {
					t.Errorf("call %d came %v after call %d, which asked for %v", i+2, got, i+1, d)
				}
			}
		})
	}
}

func TestScheduleStopWhileIdle(t *testing.T) {
	for _, tt := range schedulers {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			stop := tt.schedule(time.Millisecond, func() time.Duration { n.Add(1); return time.Hour })
			deadline := time.Now().Add(5 * time.Second)
			for n.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n.Load() != 1 {
				t.Fatalf("fn ran %d times, want once before its hour-long delay", n.Load())
			}
			stopsPromptly(t, stop, "while the schedule waited")
			stop() // a second stop is a no-op
		})
	}
}

func TestScheduleShortDelaysAreClamped(t *testing.T) {
	for _, tt := range schedulers {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			stop := tt.schedule(0, func() time.Duration { n.Add(1); return -time.Second })
			time.Sleep(50 * time.Millisecond)
			stop()
			// MinDelay is 1 ms: at most about 50 calls, with 2x slack.
			if got := n.Load(); got == 0 || got > 100 {
				t.Errorf("%d calls in 50 ms with delays under MinDelay, want between 1 and 100", got)
			}
		})
	}
}
