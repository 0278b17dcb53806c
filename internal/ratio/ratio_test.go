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
