package ratio

import (
	"testing"
	"time"
)

func TestRatio(t *testing.T) {
	if got := PerSecond(300, 2*time.Second); got != 150 {
		t.Errorf("PerSecond = %v", got)
	}
	if got := PerSecond(300, 0); got != 0 {
		t.Errorf("PerSecond over nothing = %v", got)
	}
	if got := Fraction(1, 4); got != 0.25 {
		t.Errorf("Fraction = %v", got)
	}
	if got := Fraction(1, 0); got != 0 {
		t.Errorf("Fraction of nothing = %v", got)
	}
	// 90 ok, 10 failed of which 2 interrupted: 8 held against 98.
	if got, want := FailureRate(90, 10, 2), 8.0/98; got != want {
		t.Errorf("FailureRate = %v, want %v", got, want)
	}
}

func TestWholePercent(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want int
	}{
		{0.95, 95}, {0.899, 89}, {0.9, 90}, {0.8999999, 89}, {1, 100}, {0, 0}, {0.07, 7}, {0.29, 29},
	} {
		if got := WholePercent(tt.f); got != tt.want {
			t.Errorf("WholePercent(%v) = %d, want %d", tt.f, got, tt.want)
		}
	}
}

func TestBusy(t *testing.T) {
	for _, tt := range []struct {
		cpu, elapsed time.Duration
		procs        int
		want         float64
	}{
		{time.Second, time.Second, 2, 0.5},
		{3 * time.Second, time.Second, 2, 1}, // threads beyond GOMAXPROCS: capped
		{0, time.Second, 2, 0},
		{time.Second, 0, 2, 0},
		{time.Second, time.Second, 0, 0},
		{60 * time.Microsecond, 66 * time.Microsecond, 1, 0}, // too short to tell
		{99 * time.Millisecond, 99 * time.Millisecond, 1, 0},
		{100 * time.Millisecond, 100 * time.Millisecond, 1, 1},
	} {
		if got := Busy(tt.cpu, tt.elapsed, tt.procs); got != tt.want {
			t.Errorf("Busy(%v, %v, %d) = %v, want %v", tt.cpu, tt.elapsed, tt.procs, got, tt.want)
		}
	}
}
