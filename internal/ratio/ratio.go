// Package ratio holds the small rules that turn a run's counts into the
// figures people read: runs per second, fractions, and the failures held
// against a run. Every reader of a result (thresholds, compare, the
// report, the summary) uses them, so that they agree.
package ratio

import (
	"math"
	"time"
)

// PerSecond returns n per second over d; 0 when d is not positive.
func PerSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Fraction returns part / whole; 0 when whole is not positive.
func Fraction(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// Failures returns the failures held against a run or a scenario: those
// failed, less those the run itself cancelled (interrupted), which are
// not the target's.
func Failures(failed, interrupted int64) int64 { return failed - interrupted }

// FailureRate returns the failures held against a run as a fraction of
// its runs that were not interrupted.
func FailureRate(ok, failed, interrupted int64) float64 {
	held := Failures(failed, interrupted)
	return Fraction(held, ok+held)
}

// Busy returns the share of its CPUs that a process kept busy: cpu, the
// CPU time it used over elapsed, against elapsed × procs (GOMAXPROCS),
// from 0 to 1; 0 (unknown) when any of them is not positive, or when
// elapsed is shorter than MinBusyElapsed.
func Busy(cpu, elapsed time.Duration, procs int) float64 {
	if cpu <= 0 || elapsed < MinBusyElapsed || procs <= 0 {
		return 0
	}
	return min(cpu.Seconds()/(elapsed.Seconds()*float64(procs)), 1)
}

// MinBusyElapsed is the shortest time over which Busy tells anything: the
// kernel accounts CPU time by the scheduler's tick (1 to 10 ms), so over a
// few milliseconds (a run whose every worker failed its set-up, say) the
// share could read anything from 0 to 100%.
const MinBusyElapsed = 100 * time.Millisecond

// WholePercent returns the fraction f in whole percent, rounded down (a
// figure shown as 90% has reached 90%), up to float rounding: 0.95 is 95.
func WholePercent(f float64) int { return int(math.Floor(f*100 + 1e-9)) }
