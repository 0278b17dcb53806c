package molotov

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A slow endpoint breaks a latency threshold; the other thresholds hold.
// Runner.Test fails with one line per broken threshold, naming it and the
// value measured, and the summary shows every threshold.
func TestThresholdsBrokenFailTheTest(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	})
	reg := NewRegistry()
	reg.Scenario("slow", 1, func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/slow") })
	tb := newFakeTB(t)
	r := Runner{
		Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 3, Output: io.Discard,
		Thresholds: []string{
			"p99 < 5ms",
			"failure_rate<1%",
			"scenario(slow).ok == 6",
			"request(GET /slow).p50 >= 30ms",
			"request(GET /never).count > 0",
		},
	}
	res := r.Test(tb)
	require.NotNil(t, res)
	require.Len(t, res.Thresholds, 5)

	byExpr := map[string]ThresholdResult{}
	for _, tr := range res.Thresholds {
		byExpr[tr.Expr] = tr
	}
	p99 := byExpr["p99 < 5ms"]
	assert.False(t, p99.Pass)
	assert.GreaterOrEqual(t, p99.Value, 0.030, "p99 in seconds: the handler sleeps 30ms")
	assert.Less(t, p99.Value, 1.0)
	assert.True(t, byExpr["failure_rate<1%"].Pass)
	assert.Zero(t, byExpr["failure_rate<1%"].Value)
	assert.True(t, byExpr["scenario(slow).ok == 6"].Pass)
	assert.True(t, byExpr["request(GET /slow).p50 >= 30ms"].Pass)
	never := byExpr["request(GET /never).count > 0"]
	assert.False(t, never.Pass, "a request never made cannot pass")
	assert.True(t, math.IsNaN(never.Value))
	assert.False(t, res.Passed())

	require.Len(t, tb.errs, 1, "one Errorf with a line per broken threshold")
	lines := strings.Split(tb.errs[0], "\n")
	require.Len(t, lines, 2, "%q", tb.errs[0])
	assert.Contains(t, lines[0], "threshold broken: p99 < 5ms (measured ")
	assert.Regexp(t, `measured \d+(\.\d+)?ms\)`, lines[0])
	assert.Contains(t, lines[1], "request(GET /never).count > 0 (nothing was measured)")
	assert.Contains(t, lines[1], `no request was named "GET /never", the run saw: "GET /slow"`, "a typo in a request name shows the names seen")

	logs := strings.Join(tb.logs, "\n")
	assert.Contains(t, logs, "Thresholds")
	assert.Regexp(t, `p99 < 5ms\s+\S+ms\s+FAIL`, logs)
	assert.Regexp(t, `failure_rate<1%\s+0%\s+pass`, logs)
}

func TestThresholdsAllHoldPassTheTest(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	tb := newFakeTB(t)
	r := Runner{Registry: reg, Workers: 2, MaxRuns: 5, Quiet: true,
		Thresholds: []string{"ok == 10", "failed == 0", "runs_per_s > 0", "max < 10s"}}
	res := r.Test(tb)
	require.NotNil(t, res)
	assert.Empty(t, tb.errs)
	assert.True(t, res.Passed())
	for _, tr := range res.Thresholds {
		assert.True(t, tr.Pass, "%s measured %v", tr.Expr, tr.Value)
	}
}

// Thresholds are checked before the run starts: a malformed one or an
// unknown scenario is an error pointing at the offending character, and no
// worker starts.
func TestThresholdsRejectedBeforeTheRun(t *testing.T) {
	tests := []struct {
		expr string
		pos  int
		msg  string
	}{
		{"p99 < 20xms", 6, "not a duration"},
		{"scenario(nope).p95 < 1s", 9, `unknown scenario "nope"`},
		{"latency < 1s", 0, `unknown metric "latency"`},
		{"start_lag_p99 < 5ms", 0, "measures the open model's starts, and this run has no Rate"},
		{"  peak_busy < 10", 2, "set Runner.Rate"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			reg, entered := noHTTPRegistry(nil)
			r := Runner{Registry: reg, MaxRuns: 1, Quiet: true, Thresholds: []string{"p99 < 1s", tt.expr}}
			res, err := r.Run(context.Background())
			assert.Nil(t, res)
			var te *ThresholdError
			require.True(t, errors.As(err, &te), "got %v", err)
			assert.Equal(t, tt.expr, te.Expr)
			assert.Equal(t, tt.pos, te.Pos)
			assert.Contains(t, te.Msg, tt.msg)
			assert.Zero(t, entered.Load(), "no scenario ran")
		})
	}
}

// The open model's own figures are thresholds: the start lag says whether
// the generator kept its schedule, the busy workers whether the pool
// held; each is judged on what the run measured.
func TestThresholdsOnTheOpenModel(t *testing.T) {
	r := Runner{Registry: sbOneScenario("noop", noHTTP), Rate: 200, MaxWorkers: 10, Duration: 300 * time.Millisecond, Quiet: true, Output: &bytes.Buffer{},
		Thresholds: []string{"start_lag_p99 < 10s", "start_lag_max < 1ns", "peak_busy <= 10", "peak_busy < 1"}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, res.Thresholds, 4)
	assert.Equal(t, []bool{true, false, true, false}, []bool{res.Thresholds[0].Pass, res.Thresholds[1].Pass, res.Thresholds[2].Pass, res.Thresholds[3].Pass})
	assert.InDelta(t, res.StartLag.P99.Seconds(), res.Thresholds[0].Value, 1e-9)
	assert.InDelta(t, res.StartLag.Max.Seconds(), res.Thresholds[1].Value, 1e-9)
	assert.EqualValues(t, res.PeakBusy, res.Thresholds[2].Value)
	assert.Positive(t, res.Thresholds[1].Value, "a start lag was measured")
}

// The -molotov.threshold flag may be repeated; each adds to the Runner's
// thresholds, as does MOLOTOV_THRESHOLD (several separated by ";"). A
// malformed one is refused when the flag is parsed.
func TestThresholdFlag(t *testing.T) {
	clearMolotovEnv(t)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	set := RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"-molotov.threshold", "p99<200ms", "-molotov.threshold=failure_rate < 1%"}))
	t.Setenv("MOLOTOV_THRESHOLD", "rps >= 10; ok > 0")
	r, err := set.Apply(Runner{Thresholds: []string{"max < 1s"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"max < 1s", "rps >= 10", " ok > 0", "p99<200ms", "failure_rate < 1%"}, r.Thresholds)

	fs2 := flag.NewFlagSet("test", flag.ContinueOnError)
	fs2.SetOutput(io.Discard)
	RegisterFlags(fs2)
	err = fs2.Parse([]string{"-molotov.threshold=p99 < 200"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "needs a unit")

	t.Setenv("MOLOTOV_THRESHOLD", "p42 < 1s")
	_, err = (*FlagSet)(nil).Apply(Runner{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `molotov: environment variable MOLOTOV_THRESHOLD: threshold "p42 < 1s"`), "one prefix, then the threshold's error: %q", err)
	var te *ThresholdError
	assert.ErrorAs(t, err, &te, "the threshold's error stays in the chain")
}

func TestResultPassed(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want bool
	}{
		{"clean", Result{OK: 5}, true},
		{"a failure", Result{OK: 5, Failed: 1}, false},
		{"interrupted only", Result{OK: 5, Failed: 2, Interrupted: 2}, true},
		{"under MaxFailures", Result{OK: 5, Failed: 2, maxFailures: 3}, true},
		{"at MaxFailures", Result{OK: 5, Failed: 3, maxFailures: 3}, false},
		{"setup failed", Result{OK: 5, SetupFailed: 1}, false},
		{"threshold broken", Result{OK: 5, Thresholds: []ThresholdResult{{Pass: true}, {Pass: false}}}, false},
		{"thresholds hold", Result{OK: 5, Thresholds: []ThresholdResult{{Pass: true}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.res.Passed())
		})
	}
}

// The caret sits under the offending character whatever precedes it:
// multi-byte characters, tabs, a newline in the expression.
func TestThresholdErrorCaret(t *testing.T) {
	tests := []struct{ expr, line, caret string }{
		{"request(é).p98 < 1s", "\trequest(é).p98 < 1s", "\t           ^"},
		{"\tp98 < 1s", "\t\tp98 < 1s", "\t\t^"},
		{"p99\n< 1s", "\tp99 < 1s", "\t   ^"}, // a newline is no space: the operator is missing there
	}
	for _, tt := range tests {
		_, err := parseThreshold(tt.expr)
		require.Error(t, err, tt.expr)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 3, "%q", err.Error())
		assert.Equal(t, tt.line, lines[1], "%q", tt.expr)
		assert.Equal(t, tt.caret, lines[2], "%q", tt.expr)
	}
	_, err := parseThresholds([]string{"scenario( nope ).p99<1s"}, &registrySnapshot{byName: map[string]*scenario{}}, false)
	var te *ThresholdError
	require.True(t, errors.As(err, &te))
	assert.Equal(t, 10, te.Pos, "at the name, not at the space before it")
}

// Runs the run itself cancelled are not a scenario's failures either.
func TestThresholdScenarioFailuresExcludeInterrupted(t *testing.T) {
	res := &Result{OK: 95, Failed: 5, Interrupted: 5, Elapsed: time.Second,
		Scenarios: map[string]*ScenarioStats{"a": {OK: 95, Failed: 5, Interrupted: 5}}}
	for _, expr := range []string{"failure_rate == 0", "scenario(a).failure_rate == 0", "scenario(a).failed == 0", "failed == 0"} {
		th, err := parseThreshold(expr)
		require.NoError(t, err)
		assert.True(t, th.Holds(th.Measure(figures{res})), "%s measured %v", expr, th.Measure(figures{res}))
	}
}

// Under ThresholdAbort a threshold that breaks during the run stops it at
// the next one-second check; a count that only a longer run can reach
// waits for the end.
func TestThresholdAbort(t *testing.T) {
	sleepy := func() *Registry {
		return sbOneScenario("nap", func(ctx context.Context, s *Session) error {
			time.Sleep(2 * time.Millisecond)
			return nil
		})
	}
	start := time.Now()
	res, err := (&Runner{Registry: sleepy(), Workers: 4, Duration: 30 * time.Second, Quiet: true,
		ThresholdAbort: true, Thresholds: []string{"ok > 1000000000", "max < 1ms"}}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, StopThreshold, res.StopReason)
	assert.Less(t, time.Since(start), 5*time.Second, "stopped at a one-second check, not at Duration")
	assert.Equal(t, OutcomeThresholds, res.Outcome())
	assert.Equal(t, res.Started, res.OK+res.Failed)

	res, err = (&Runner{Registry: sleepy(), Workers: 4, Duration: 1500 * time.Millisecond, Quiet: true,
		ThresholdAbort: true, Thresholds: []string{"ok > 1000000000", "max < 10s"}}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, StopDuration, res.StopReason, "a count that may still be reached does not stop the run")
	assert.Equal(t, OutcomeThresholds, res.Outcome(), "but it is checked at the end")
}

// A live check reads the latency of the requests a threshold names.
func TestThresholdAbortOnARequest(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	})
	reg := sbOneScenario("two", func(ctx context.Context, s *Session) error {
		if err := sbGet(ctx, s, "/fast"); err != nil {
			return err
		}
		return sbGet(ctx, s, "/slow")
	})
	start := time.Now()
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, Duration: 30 * time.Second, Quiet: true,
		ThresholdAbort: true, Thresholds: []string{"request(GET /fast).p50 < 1s", "request(GET /slow).p50 < 1ms"}}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, StopThreshold, res.StopReason)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.False(t, res.Thresholds[1].Pass)
	assert.True(t, res.Thresholds[0].Pass)
}
