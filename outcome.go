package molotov

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
	// OutcomeFailures: scenario runs failed, more than MaxFailures allows
	// (any failure when MaxFailures is zero). Runs the run itself
	// cancelled (ForceShutdown at a stop) do not count.
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
// more than MaxFailures allows (any failure when MaxFailures is zero).
func (r *Result) failuresOverBudget() (failed int64, over bool) {
	failed = r.Failed - r.Interrupted
	if r.maxFailures > 0 {
		return failed, failed >= int64(r.maxFailures)
	}
	return failed, failed > 0
}
