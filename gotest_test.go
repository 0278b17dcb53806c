package molotov

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTB records what Runner.Test reports instead of failing the real test.
type fakeTB struct {
	mu       sync.Mutex
	ctx      context.Context
	deadline time.Time
	logs     []string
	errs     []string
	fatals   []string
	skipped  bool
}

// newFakeTB also clears MOLOTOV_* variables from the caller's environment,
// which Runner.Test would apply.
func newFakeTB(t *testing.T) *fakeTB {
	clearMolotovEnv(t)
	return &fakeTB{ctx: t.Context()}
}

func clearMolotovEnv(t *testing.T) {
	for i := range flagSpecs {
		t.Setenv(flagSpecs[i].envName(), "") // Apply ignores empty values
	}
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Skip(args ...any)         { f.skipped = true }
func (f *fakeTB) Context() context.Context { return f.ctx }

// deadlineTB adds a test deadline.
type deadlineTB struct{ *fakeTB }

func (d deadlineTB) Deadline() (time.Time, bool) { return d.deadline, true }

var _ TB = (*testing.T)(nil)
var _ TB = (*testing.B)(nil)

func noHTTPRegistry(fail func(n int64) bool) (*Registry, *atomic.Int64) {
	var entered atomic.Int64
	reg := NewRegistry()
	reg.Scenario("work", 1, func(ctx context.Context, s *Session) error {
		n := entered.Add(1)
		if fail != nil && fail(n) {
			return errors.New("boom")
		}
		return nil
	})
	return reg, &entered
}

func TestFlagsApply(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		give Runner
		want func(t *testing.T, r Runner)
	}{
		{
			name: "flags set fields",
			args: []string{"-molotov.workers=7", "-molotov.duration=2s", "-molotov.max-runs", "3", "-molotov.quiet",
				"-molotov.exception", "-molotov.fail=4", "-molotov.single-mode=x", "-molotov.sizing-tolerance=2.5",
				"-molotov.base-url=http://127.0.0.1:1", "-molotov.seed=42", "-molotov.ramp-up=1.5"},
			want: func(t *testing.T, r Runner) {
				assert.Equal(t, 7, r.Workers)
				assert.Equal(t, 2*time.Second, r.Duration)
				assert.Equal(t, 3, r.MaxRuns)
				assert.True(t, r.Quiet)
				assert.True(t, r.ExitOnFailure)
				assert.Equal(t, 4, r.MaxFailures)
				assert.Equal(t, "x", r.SingleMode)
				assert.Equal(t, 2.5, r.SizingTolerance)
				assert.Equal(t, "http://127.0.0.1:1", r.BaseURL)
				assert.Equal(t, int64(42), r.Seed)
				assert.Equal(t, 1500*time.Millisecond, r.RampUp)
			},
		},
		{
			name: "environment sets fields",
			env:  map[string]string{"MOLOTOV_WORKERS": "5", "MOLOTOV_MAX_RUNS": "9", "MOLOTOV_DURATION": "30"},
			want: func(t *testing.T, r Runner) {
				assert.Equal(t, 5, r.Workers)
				assert.Equal(t, 9, r.MaxRuns)
				assert.Equal(t, 30*time.Second, r.Duration)
			},
		},
		{
			name: "flag beats environment beats field",
			args: []string{"-molotov.workers=3"},
			env:  map[string]string{"MOLOTOV_WORKERS": "5", "MOLOTOV_MAX_RUNS": "9"},
			give: Runner{Workers: 1, MaxRuns: 1, Delay: time.Second},
			want: func(t *testing.T, r Runner) {
				assert.Equal(t, 3, r.Workers)
				assert.Equal(t, 9, r.MaxRuns)
				assert.Equal(t, time.Second, r.Delay)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearMolotovEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			set := RegisterFlags(fs)
			require.NoError(t, fs.Parse(tt.args))
			got, err := set.Apply(tt.give)
			require.NoError(t, err)
			tt.want(t, got)
		})
	}
}

func TestFlagsRejectBadValues(t *testing.T) {
	tests := []struct {
		arg      string
		wantText string
	}{
		{"-molotov.workers=abc", `"abc" is not a whole number`},
		{"-molotov.workers=-2", "negative"},
		{"-molotov.duration=soon", "is not a duration"},
		{"-molotov.quiet=maybe", "not a boolean"},
		{"-molotov.sizing-tolerance=x", "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			RegisterFlags(fs)
			err := fs.Parse([]string{tt.arg})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantText)
			assert.Contains(t, err.Error(), strings.SplitN(strings.TrimPrefix(tt.arg, "-"), "=", 2)[0])
		})
	}
	t.Run("environment", func(t *testing.T) {
		t.Setenv("MOLOTOV_DURATION", "forever")
		_, err := (*FlagSet)(nil).Apply(Runner{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "MOLOTOV_DURATION")
		assert.Contains(t, err.Error(), "is not a duration")
	})
}

func TestRunnerTestPasses(t *testing.T) {
	reg, entered := noHTTPRegistry(nil)
	tb := newFakeTB(t)
	r := Runner{Registry: reg, Workers: 2, MaxRuns: 10, Quiet: true}
	res := r.Test(tb)
	require.NotNil(t, res)
	assert.Empty(t, tb.errs)
	assert.Empty(t, tb.fatals)
	assert.Equal(t, int64(20), entered.Load())
	assert.Equal(t, int64(20), res.OK)
	assert.NotContains(t, strings.Join(tb.logs, "\n"), "SUCCESSES", "Quiet: no summary")

	tb2 := newFakeTB(t)
	(&Runner{Registry: reg, Workers: 2, MaxRuns: 10, Output: io.Discard}).Test(tb2)
	assert.Contains(t, strings.Join(tb2.logs, "\n"), "SUCCESSES: 20")
}

func TestRunnerTestForceShutdownIsNotAFailure(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("long", 1, func(ctx context.Context, s *Session) error {
		select {
		case <-time.After(5 * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	tb := newFakeTB(t)
	start := time.Now()
	res := (&Runner{Registry: reg, Workers: 3, Duration: 100 * time.Millisecond, ForceShutdown: true, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, int64(3), res.Failed)
	assert.Equal(t, int64(3), res.Interrupted)
	assert.Empty(t, tb.errs, "runs cancelled by ForceShutdown are not the target's failures")
}

func TestRunnerTestVerdicts(t *testing.T) {
	tests := []struct {
		name        string
		maxFailures int
		failEvery   int64
		wantErr     string
	}{
		{"any failure fails by default", 0, 5, "scenario runs failed"},
		{"failures under MaxFailures pass", 100, 5, ""},
		{"reaching MaxFailures fails", 3, 2, "reaching MaxFailures (3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := noHTTPRegistry(func(n int64) bool { return n%tt.failEvery == 0 })
			tb := newFakeTB(t)
			r := Runner{Registry: reg, Workers: 1, MaxRuns: 20, Quiet: true, MaxFailures: tt.maxFailures}
			r.Test(tb)
			if tt.wantErr == "" {
				assert.Empty(t, tb.errs)
				return
			}
			require.Len(t, tb.errs, 1)
			assert.Contains(t, tb.errs[0], tt.wantErr)
			assert.Contains(t, tb.errs[0], "boom", "the verdict names the most frequent error")
		})
	}
}

func TestRunnerTestFixtureFailure(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		if worker == 1 {
			return nil, errors.New("no credentials")
		}
		return nil, nil
	})
	tb := newFakeTB(t)
	(&Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true}).Test(tb)
	require.Len(t, tb.errs, 1)
	assert.Contains(t, tb.errs[0], "1 workers failed their Setup")
	assert.Contains(t, tb.errs[0], "Setup failed: no credentials", "the verdict names the error, grouped over the workers")

	reg2, _ := noHTTPRegistry(nil)
	reg2.GlobalSetup(func(ctx context.Context, r *Runner) error { return errors.New("db down") })
	tb2 := newFakeTB(t)
	assert.Nil(t, (&Runner{Registry: reg2, MaxRuns: 1, Quiet: true}).Test(tb2))
	require.Len(t, tb2.errs, 1)
	assert.Contains(t, tb2.errs[0], "GlobalSetup failed: db down")
}

func TestRunnerTestRefusesUnboundedRun(t *testing.T) {
	reg, entered := noHTTPRegistry(nil)
	tb := newFakeTB(t)
	assert.Nil(t, (&Runner{Registry: reg, Quiet: true}).Test(tb))
	require.Len(t, tb.fatals, 1)
	assert.Contains(t, tb.fatals[0], "unbounded run refused")
	assert.Zero(t, entered.Load())
}

func TestRunnerTestSkipsUnderShort(t *testing.T) {
	f := flag.Lookup("test.short")
	require.NotNil(t, f)
	old := f.Value.String()
	require.NoError(t, flag.Set("test.short", "true"))
	defer flag.Set("test.short", old)
	reg, entered := noHTTPRegistry(nil)
	tb := newFakeTB(t)
	assert.Nil(t, (&Runner{Registry: reg, MaxRuns: 1, Quiet: true}).Test(tb))
	assert.True(t, tb.skipped)
	assert.Zero(t, entered.Load())
}

func TestRunnerTestAppliesEnvironment(t *testing.T) {
	clearMolotovEnv(t)
	t.Setenv("MOLOTOV_MAX_RUNS", "4")
	t.Setenv("MOLOTOV_WORKERS", "3")
	reg, entered := noHTTPRegistry(nil)
	tb := &fakeTB{ctx: t.Context()}
	res := (&Runner{Registry: reg, MaxRuns: 100, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Equal(t, int64(12), entered.Load())

	t.Setenv("MOLOTOV_WORKERS", "many")
	tb2 := &fakeTB{ctx: t.Context()}
	assert.Nil(t, (&Runner{Registry: reg, MaxRuns: 1, Quiet: true}).Test(tb2))
	require.Len(t, tb2.fatals, 1)
	assert.Contains(t, tb2.fatals[0], "MOLOTOV_WORKERS")
}

func TestRunnerTestClipsToDeadline(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("slow", 1, func(ctx context.Context, s *Session) error {
		select {
		case <-time.After(20 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	tb := deadlineTB{newFakeTB(t)}
	tb.deadline = time.Now().Add(2 * time.Second)
	start := time.Now()
	res := (&Runner{Registry: reg, Workers: 2, Duration: time.Hour, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Less(t, time.Since(start), 2*time.Second, "the run ends before the test deadline")
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Contains(t, strings.Join(tb.logs, "\n"), "clipped")
	assert.Empty(t, tb.errs)
}

// At the backstop before the test deadline, requests still in flight are
// cancelled and counted as interrupted, not as the target's failures, and
// the scenario's context reports that deadline.
func TestRunnerTestBackstopInterruptsRequests(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	var sawDeadline atomic.Bool
	reg := sbOneScenario("hang", func(ctx context.Context, s *Session) error {
		_, ok := ctx.Deadline()
		sawDeadline.Store(ok)
		return sbGet(ctx, s, "/")
	})
	tb := deadlineTB{newFakeTB(t)}
	tb.deadline = time.Now().Add(3 * time.Second)
	start := time.Now()
	res := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 10 * time.Second, RequestTimeout: 20 * time.Second, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Less(t, time.Since(start), 3*time.Second, "the backstop ends the run before the test deadline")
	assert.EqualValues(t, 2, res.Interrupted, "the two hanging runs were interrupted; errors: %v", res.Errors)
	assert.Equal(t, res.Started, res.OK+res.Failed)
	assert.True(t, sawDeadline.Load(), "the scenario's context has the backstop's deadline")
	assert.Empty(t, tb.errs, "an interrupted run is not the target's failure")
}

func TestRunnerTestStopsOnSIGINT(t *testing.T) {
	var tornDown atomic.Bool
	var sent atomic.Bool
	reg := NewRegistry()
	reg.Scenario("wait", 1, func(ctx context.Context, s *Session) error {
		if sent.CompareAndSwap(false, true) {
			// The run's signal handler is installed before any scenario runs.
			assert.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGINT))
		}
		select {
		case <-time.After(10 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	reg.GlobalTeardown(func(ctx context.Context) { tornDown.Store(ctx.Err() == nil) })
	tb := newFakeTB(t)
	start := time.Now()
	res := (&Runner{Registry: reg, Workers: 2, Duration: 30 * time.Second, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, StopCancelled, res.StopReason)
	assert.Equal(t, res.Started, res.OK+res.Failed)
	assert.True(t, tornDown.Load(), "GlobalTeardown ran with a live context")
	assert.Contains(t, strings.Join(tb.errs, "\n"), "interrupted by a signal")
}

func TestFlagsRegisteredOnlyWhenAsked(t *testing.T) {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-molotov.") || strings.HasPrefix(a, "--molotov.") {
			t.Skip("this test binary was given -molotov.* flags")
		}
	}
	assert.Nil(t, flag.Lookup("molotov.workers"), "no -molotov.* flag on flag.CommandLine unless os.Args has one")
	assert.Nil(t, commandLineFlags())
}

// TestFlagsFromCommandLine runs this test binary again with -molotov.*
// flags, as go test -args would, and checks that Runner.Test applies them.
func TestFlagsFromCommandLine(t *testing.T) {
	if os.Getenv("MOLOTOV_TEST_CHILD") == "1" {
		require.NotNil(t, flag.Lookup("molotov.workers"), "-molotov.* flags are registered when os.Args has one")
		reg, entered := noHTTPRegistry(nil)
		tb := &fakeTB{ctx: t.Context()}
		res := (&Runner{Registry: reg, Workers: 1, MaxRuns: 1, Quiet: true}).Test(tb)
		require.NotNil(t, res)
		fmt.Printf("child entered=%d\n", entered.Load())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFlagsFromCommandLine$", "-test.count=1",
		"-molotov.workers=3", "-molotov.max-runs=4")
	cmd.Env = append(os.Environ(), "MOLOTOV_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "child entered=12", "3 workers × 4 runs from the flags")
}

// -molotov.list (here MOLOTOV_LIST) makes Runner.Test list the scenarios
// and skip, running nothing.
func TestRunnerTestList(t *testing.T) {
	reg, entered := noHTTPRegistry(nil)
	reg.Scenario(`odd "name"`, 0, scenarioNoop)
	tb := newFakeTB(t)
	t.Setenv("MOLOTOV_LIST", "true")
	assert.Nil(t, (&Runner{Registry: reg, MaxRuns: 3}).Test(tb))
	assert.True(t, tb.skipped)
	assert.Zero(t, entered.Load())

	var b bytes.Buffer
	listScenarios(&b, reg)
	assert.Equal(t, "molotov-scenario \"odd \\\"name\\\"\" 0\nmolotov-scenario \"work\" 1\n", b.String())
}

// Stages from a flag or the environment replace a Duration written in the
// code; a Duration given beside them the same way stays.
func TestStagesFromFlagsReplaceTheCodesDuration(t *testing.T) {
	code := Runner{Duration: 5 * time.Second}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
	}{
		{"stages flag", []string{"-molotov.stages=1m:10"}, nil, 0},
		{"stages environment", nil, map[string]string{"MOLOTOV_STAGES": "1m:10"}, 0},
		{"stages and duration flags", []string{"-molotov.stages=1m:10", "-molotov.duration=2m"}, nil, 2 * time.Minute},
		{"no stages", []string{"-molotov.workers=3"}, nil, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			std := flag.NewFlagSet("t", flag.ContinueOnError)
			fs := RegisterFlags(std)
			require.NoError(t, std.Parse(tt.args))
			r, err := fs.Apply(code)
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Duration)
		})
	}
}
