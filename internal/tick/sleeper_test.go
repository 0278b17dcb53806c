package tick

import (
	"testing"
	"time"
)

var sleepers = []struct {
	name string
	new  func() *Sleeper
}{
	{"NewSleeper", NewSleeper},
	{"timer", newTimerSleeper},
}

func TestSleeperSleepsAtLeastTheDelay(t *testing.T) {
	for _, tt := range sleepers {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.new()
			defer s.Close()
			for _, d := range []time.Duration{0, 50 * time.Microsecond, 300 * time.Microsecond, 5 * time.Millisecond} {
				start := time.Now()
				if !s.Sleep(d) {
					t.Fatalf("Sleep(%v) = false before Close", d)
				}
				// At least d; at most d plus a second, for a loaded machine.
				if got := time.Since(start); got < d || got > d+time.Second {
					t.Errorf("Sleep(%v) took %v", d, got)
				}
			}
		})
	}
}

func TestSleeperCloseEndsASleep(t *testing.T) {
	for _, tt := range sleepers {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.new()
			time.AfterFunc(20*time.Millisecond, s.Close)
			start := time.Now()
			if s.Sleep(time.Hour) {
				t.Error("Sleep returned true after Close")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Close ended the sleep after %v", d)
			}
			if s.Sleep(time.Millisecond) {
				t.Error("Sleep after Close returned true")
			}
			s.Close() // a second Close is a no-op
		})
	}
}

// A Sleep allocates nothing: the open model's scheduler sleeps between
// its starts, thousands of times a second.
func TestSleeperSleepAllocatesNothing(t *testing.T) {
	for _, tt := range sleepers {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.new()
			defer s.Close()
			if n := testing.AllocsPerRun(200, func() { s.Sleep(time.Microsecond) }); n != 0 {
				t.Errorf("Sleep allocates %v times", n)
			}
		})
	}
}
