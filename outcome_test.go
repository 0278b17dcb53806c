package molotov

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every way a run can go wrong maps to one outcome, in the Result and in
// Runner.Test, tested one by one; a run that cannot start has no Result
// and an error of its own type.
func TestOutcomes(t *testing.T) {
	blocking := func() *Registry {
		reg := NewRegistry()
		reg.Scenario("block", 1, func(ctx context.Context, s *Session) error {
			<-ctx.Done()
			return ctx.Err()
		})
		return reg
	}
	failingSetup := func() *Registry {
		reg, _ := noHTTPRegistry(nil)
		reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
			if worker == 0 {
				return nil, errors.New("no token for worker 0")
			}
			return nil, nil
		})
		return reg
	}
	tests := []struct {
		name    string
		reg     func() *Registry
		runner  Runner
		cancel  time.Duration // cancel the run's context after this long
		outcome Outcome
		testErr string // what Runner.Test reports; "" when it passes
	}{
		{name: "passed", runner: Runner{MaxRuns: 5}, outcome: OutcomePassed},
		{name: "failures", reg: func() *Registry { r, _ := noHTTPRegistry(func(n int64) bool { return n%3 == 0 }); return r },
			runner: Runner{MaxRuns: 5}, outcome: OutcomeFailures, testErr: "scenario runs failed"},
		{name: "failures below MaxFailures", reg: func() *Registry { r, _ := noHTTPRegistry(func(n int64) bool { return n == 2 }); return r },
			runner: Runner{MaxRuns: 5, MaxFailures: 2}, outcome: OutcomePassed},
		{name: "failures reaching MaxFailures", reg: func() *Registry { r, _ := noHTTPRegistry(func(n int64) bool { return n <= 2 }); return r },
			runner: Runner{MaxRuns: 5, MaxFailures: 2}, outcome: OutcomeFailures, testErr: "reaching MaxFailures (2)"},
		{name: "threshold broken", runner: Runner{MaxRuns: 5, Thresholds: []string{"ok > 1000"}},
			outcome: OutcomeThresholds, testErr: "threshold broken: ok > 1000 (measured 10)"},
		{name: "setup failed", reg: failingSetup, runner: Runner{MaxRuns: 5},
			outcome: OutcomeSetupFailed, testErr: "1 workers failed their Setup"},
		{name: "interrupted", reg: blocking, runner: Runner{Duration: time.Minute}, cancel: 100 * time.Millisecond,
			outcome: OutcomeInterrupted, testErr: "run interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := func() *Registry { r, _ := noHTTPRegistry(nil); return r }
			if tt.reg != nil {
				reg = tt.reg
			}
			// In Result.
			r := tt.runner
			r.Registry, r.Workers, r.Quiet = reg(), 2, true
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			res, err := r.Run(ctx)
			require.NoError(t, err)
			assert.Equal(t, tt.outcome, res.Outcome())
			assert.Equal(t, tt.outcome == OutcomePassed, res.Passed())

			// In Runner.Test.
			r.Registry = reg()
			tb := newFakeTB(t)
			tctx, tcancel := context.WithCancel(t.Context())
			defer tcancel()
			tb.ctx = tctx
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, tcancel)
			}
			res = r.Test(tb)
			require.NotNil(t, res)
			assert.Equal(t, tt.outcome, res.Outcome())
			if tt.testErr == "" {
				assert.Empty(t, tb.errs)
			} else {
				require.Len(t, tb.errs, 1)
				assert.Contains(t, tb.errs[0], tt.testErr)
			}
		})
	}
}

// A run that cannot start returns an error of its own type and no Result;
// Runner.Test reports it.
func TestOutcomesWithoutResult(t *testing.T) {
	failingGlobal := func() *Registry {
		reg, _ := noHTTPRegistry(nil)
		reg.GlobalSetup(func(ctx context.Context, r *Runner) error { return errors.New("database down") })
		return reg
	}
	tests := []struct {
		name   string
		reg    func() *Registry
		runner Runner
		as     func(error) bool
		msg    string
	}{
		{"bad configuration", nil, Runner{MaxRuns: -1}, func(err error) bool { var e *ConfigError; return errors.As(err, &e) }, "MaxRuns"},
		{"bad threshold", nil, Runner{MaxRuns: 1, Thresholds: []string{"p99 <"}}, func(err error) bool { var e *ThresholdError; return errors.As(err, &e) }, "expected a value"},
		{"GlobalSetup failed", failingGlobal, Runner{MaxRuns: 1}, func(err error) bool { var e *FixtureError; return errors.As(err, &e) }, "database down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := func() *Registry { r, _ := noHTTPRegistry(nil); return r }
			if tt.reg != nil {
				reg = tt.reg
			}
			r := tt.runner
			r.Registry, r.Quiet = reg(), true
			res, err := r.Run(context.Background())
			assert.Nil(t, res)
			require.Error(t, err)
			assert.True(t, tt.as(err), "%T: %v", err, err)
			assert.Contains(t, err.Error(), tt.msg)

			tb := newFakeTB(t)
			r.Registry = reg()
			assert.Nil(t, r.Test(tb))
			require.Len(t, tb.errs, 1)
			assert.Contains(t, strings.Join(tb.errs, "\n"), tt.msg)
		})
	}
}

// Runner.Test's message and Result.Outcome decide from the same rules: the
// message is empty exactly when the outcome is passed, over every
// combination of the inputs of a verdict.
func TestVerdictAgreesWithOutcome(t *testing.T) {
	for _, stop := range []StopReason{StopDuration, StopCancelled, StopThreshold, StopMaxFailures} {
		for _, setupFailed := range []int{0, 1} {
			for _, maxFailures := range []int{0, 2} {
				for _, failed := range []int64{0, 1, 2, 3} {
					for interrupted := int64(0); interrupted <= failed; interrupted++ {
						for _, broken := range []bool{false, true} {
							res := &Result{Started: 10, OK: 10 - failed, Failed: failed, Interrupted: interrupted,
								SetupFailed: setupFailed, StopReason: stop, maxFailures: maxFailures,
								Thresholds: []ThresholdResult{{Expr: "p99<1s", Pass: !broken}}}
							msg, outcome := verdict(res, false), res.Outcome()
							if (msg == "") != (outcome == OutcomePassed) {
								t.Errorf("%+v: outcome %s but Test's message %q", *res, outcome, msg)
							}
						}
					}
				}
			}
		}
	}
}

// With a threshold on failures and no MaxFailures, the thresholds are the
// failure verdict: Result.Passed, Outcome, Runner.Test and the JSON
// result agree.
func TestThresholdsOnFailuresAreTheVerdict(t *testing.T) {
	oneInFour := func(n int64) bool { return n%4 == 0 } // 25% of the runs fail
	tests := []struct {
		name        string
		thresholds  []string
		maxFailures int
		want        Outcome
		testErr     string
	}{
		{"failure_rate holds", []string{"failure_rate < 50%"}, 0, OutcomePassed, ""},
		{"failed holds", []string{"failed <= 10"}, 0, OutcomePassed, ""},
		{"scenario failure_rate holds", []string{"scenario(work).failure_rate < 30%"}, 0, OutcomePassed, ""},
		{"failure_rate broken", []string{"failure_rate < 1%"}, 0, OutcomeThresholds, "threshold broken: failure_rate < 1%"},
		{"a latency threshold does not judge failures", []string{"p99 < 10s"}, 0, OutcomeFailures, "scenario runs failed"},
		// A request's errors are its requests without a response: runs that
		// failed on a status (a 401) are not among them.
		{"a request's error_rate does not judge failures", []string{"request(GET /).error_rate < 50%"}, 0, OutcomeFailures, "scenario runs failed"},
		{"MaxFailures set: it is the budget", []string{"failure_rate < 50%"}, 2, OutcomeFailures, "reaching MaxFailures (2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := noHTTPRegistry(oneInFour)
			r := Runner{Registry: reg, MaxRuns: 20, Quiet: true, Thresholds: tt.thresholds, MaxFailures: tt.maxFailures}
			tb := newFakeTB(t)
			res := r.Test(tb)
			require.NotNil(t, res)
			assert.Equal(t, tt.want, res.Outcome())
			assert.Equal(t, tt.want == OutcomePassed, res.Passed())
			if tt.testErr == "" {
				assert.Empty(t, tb.errs)
			} else {
				require.NotEmpty(t, tb.errs)
				assert.Contains(t, strings.Join(tb.errs, "\n"), tt.testErr)
			}
			var buf bytes.Buffer
			require.NoError(t, res.WriteJSON(&buf))
			back, err := ReadResult(&buf)
			require.NoError(t, err)
			assert.Equal(t, tt.want, back.Outcome(), "the JSON result gives the same verdict")
		})
	}
}
