package molotov

import "github.com/molotov-go/molotov/internal/ratio"

// Outcome is the one verdict of a finished run, for CI: every way a run
// that started can go wrong maps to exactly one Outcome. A run that could
// not start has no Result: Run returns a *ConfigError (bad options), a
// *ThresholdError (a threshold that does not parse or names an unknown
// scenario) or a *FixtureError (GlobalSetup failed).
type Outcome string

// The outcomes, in the order Result.Outcome checks them: the first that
// applies is the run's.
const (
	// OutcomeInterrupted: the run was cancelled (its context, or SIGINT or
	// SIGTERM under Runner.Test) before it ended by itself; its figures
	// are partial.
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomeSetupFailed: a worker's Setup or SetupSession failed.
	OutcomeSetupFailed Outcome = "setup-failed"
	// OutcomeFailures: scenario runs failed, more than MaxFailures allows.
	// When MaxFailures is zero, any failure fails the run, unless a
	// threshold judges failures (failure_rate or failed, of the run or a
	// scenario): then the thresholds are the failure verdict. Runs the run
	// itself cancelled (ForceShutdown at a stop) never count.
	OutcomeFailures Outcome = "failures"
	// OutcomeThresholds: a threshold broke (at the end, or during the run
	// under Runner.ThresholdAbort).
	OutcomeThresholds Outcome = "thresholds"
	// OutcomePassed: none of the above.
	OutcomePassed Outcome = "passed"
)

// Outcome returns the run's verdict. Runner.Test and Benchmark fail
// exactly when it is not OutcomePassed.
func (r *Result) Outcome() Outcome {
	_, over := r.failuresOverBudget()
	switch {
	case r.StopReason == StopCancelled:
		return OutcomeInterrupted
	case r.SetupFailed > 0:
		return OutcomeSetupFailed
	case over:
		return OutcomeFailures
	case r.StopReason == StopThreshold:
		return OutcomeThresholds
	}
	for _, t := range r.Thresholds {
		if !t.Pass {
			return OutcomeThresholds
		}
	}
	return OutcomePassed
}

// Passed reports whether the run passed: it was not interrupted, no
// worker failed its setup, no scenario run failed beyond what MaxFailures
// allows, and every threshold held (Outcome is OutcomePassed).
func (r *Result) Passed() bool { return r.Outcome() == OutcomePassed }

// failuresOverBudget is the one rule of the failure budget: it returns the
// failures held against the run (Failed less Interrupted: runs the run
// itself cancelled are not the target's failures) and whether they are
// more than MaxFailures allows. With MaxFailures zero, any failure is
// too many, unless a threshold judges failures: then the thresholds
// decide (see OutcomeFailures).
func (r *Result) failuresOverBudget() (failed int64, over bool) {
	failed = ratio.Failures(r.Failed, r.Interrupted)
	switch {
	case r.maxFailures > 0:
		return failed, failed >= int64(r.maxFailures)
	case r.failuresJudgedByThresholds():
		return failed, false
	}
	return failed, failed > 0
}

// failuresJudgedByThresholds reports whether one of the run's thresholds
// is on failures: failure_rate or failed, of the run or a scenario.
func (r *Result) failuresJudgedByThresholds() bool {
	for _, tr := range r.Thresholds {
		if t, err := parseThreshold(tr.Expr); err == nil && t.OnFailures() {
			return true
		}
	}
	return false
}

// overBudget reports whether the failures are more than the run allows.
func (r *Result) overBudget() bool {
	_, over := r.failuresOverBudget()
	return over
}
