package molotov

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runWithin runs r and fails the test when the run does not end within
// d: a Goexit must never hang a run.
func runWithin(t *testing.T, r *Runner, d time.Duration) *Result {
	t.Helper()
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := r.Run(context.Background())
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		require.NoError(t, o.err)
		require.NotNil(t, o.res, "Run returned no Result")
		return o.res
	case <-time.After(d):
		t.Fatalf("the run did not end within %v", d)
		return nil
	}
}

// t.FailNow or require (runtime.Goexit) in a set-up fixture fails that
// worker's set-up, named after the fixture, and the run does not pass.
func TestGoexitInSetupFailsTheWorker(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(reg *Registry)
		fixture string
	}{
		{"Setup", func(reg *Registry) {
			reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
				if worker == 0 {
					runtime.Goexit()
				}
				return nil, nil
			})
		}, "Setup"},
		{"Setup, with both teardowns", func(reg *Registry) {
			reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
				if worker == 0 {
					runtime.Goexit()
				}
				return nil, nil
			})
			reg.Teardown(func(ctx context.Context, worker int) {})
			reg.TeardownSession(func(ctx context.Context, s *Session) error { return nil })
		}, "Setup"},
		{"ConfigureTransport panics", func(reg *Registry) {
			reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
				if worker != 0 {
					return nil, nil
				}
				return &SessionConfig{ConfigureTransport: func(*http.Transport) { panic("bad TLS config") }}, nil
			})
		}, "Setup"},
		{"SetupSession", func(reg *Registry) {
			reg.SetupSession(func(ctx context.Context, s *Session) error {
				if s.Worker == 0 {
					runtime.Goexit()
				}
				return nil
			})
		}, "SetupSession"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := noHTTPRegistry(nil)
			tt.setup(reg)
			res := runWithin(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true}, 10*time.Second)
			assert.Equal(t, 1, res.SetupFailed, "worker 0 counted as failed")
			assert.Equal(t, OutcomeSetupFailed, res.Outcome())
			assert.EqualValues(t, 3, res.OK, "worker 1 runs its 3 runs")
			assertCountsConsistent(t, res)
			all := resultErrorsText(res)
			assert.Contains(t, all, tt.fixture+" failed: ")
			if strings.Contains(tt.name, "panics") {
				assert.Contains(t, all, "bad TLS config")
			} else {
				assert.Contains(t, all, "runtime.Goexit")
				assert.Contains(t, all, "return an error instead")
			}
		})
	}
}

// A Goexit in a teardown fixture is logged as that fixture's failure; it
// is no set-up failure, and the run's figures stand.
func TestGoexitInTeardownIsNotASetupFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(reg *Registry)
	}{
		{"TeardownSession", func(reg *Registry) {
			reg.TeardownSession(func(ctx context.Context, s *Session) error { runtime.Goexit(); return nil })
		}},
		{"TeardownSession, with a Teardown after it", func(reg *Registry) {
			reg.TeardownSession(func(ctx context.Context, s *Session) error { runtime.Goexit(); return nil })
			reg.Teardown(func(ctx context.Context, worker int) {})
		}},
		{"Teardown", func(reg *Registry) {
			reg.Teardown(func(ctx context.Context, worker int) { runtime.Goexit() })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := noHTTPRegistry(nil)
			tt.setup(reg)
			var out lockedBuffer
			res := runWithin(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Output: &out}, 10*time.Second)
			assert.Zero(t, res.SetupFailed)
			assert.EqualValues(t, 6, res.OK)
			assert.Equal(t, OutcomePassed, res.Outcome())
			assert.NotEqual(t, StopSetupFailed, res.StopReason)
			assert.Contains(t, out.String(), "runtime.Goexit", "the teardown's Goexit is logged")
		})
	}
}

// A Goexit in GlobalTeardown is logged; Run still returns the Result, and
// the JSON result is written.
func TestGoexitInGlobalTeardownKeepsTheResult(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	reg.GlobalTeardown(func(ctx context.Context) { runtime.Goexit() })
	file := filepath.Join(t.TempDir(), "result.json")
	var out lockedBuffer
	res := runWithin(t, &Runner{Registry: reg, MaxRuns: 2, Output: &out, ResultFile: file}, 10*time.Second)
	assert.EqualValues(t, 2, res.OK)
	assert.Contains(t, out.String(), "GlobalTeardown failed")
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	back, err := ReadResult(f)
	require.NoError(t, err)
	assert.EqualValues(t, 2, back.OK)
}

// A Goexit in GlobalSetup is GlobalSetup's failure, returned by Run.
func TestGoexitInGlobalSetupIsItsError(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error { runtime.Goexit(); return nil })
	res, err := (&Runner{Registry: reg, MaxRuns: 1, Quiet: true}).Run(context.Background())
	assert.Nil(t, res)
	var fe *FixtureError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "GlobalSetup", fe.Fixture)
	assert.Contains(t, err.Error(), "runtime.Goexit")
}

// t.FailNow or require in a scenario is a counted failure of that run, like
// a panic; the worker goes on with its next run, with the same session,
// and the run lasts its Duration.
func TestGoexitInScenarioIsACountedFailureAndTheWorkerGoesOn(t *testing.T) {
	var sessions sync.Map // worker → the first *Session it ran with
	var other atomic.Int64
	reg := sbOneScenario("exit", func(ctx context.Context, s *Session) error {
		if first, loaded := sessions.LoadOrStore(s.Worker, s); loaded && first != s {
			other.Add(1)
		}
		runtime.Goexit()
		return nil
	})
	var tornDown atomic.Int64
	reg.Teardown(func(context.Context, int) { tornDown.Add(1) })
	const workers, duration = 2, 300 * time.Millisecond
	start := time.Now()
	res := runWithin(t, &Runner{Registry: reg, Workers: workers, Duration: duration, Delay: 10 * time.Millisecond, Quiet: true}, 10*time.Second)
	took := time.Since(start)
	assert.Equal(t, StopDuration, res.StopReason)
	assert.GreaterOrEqual(t, took, duration, "the run lasts its Duration")
	assert.Less(t, took, 2*time.Second)
	assert.Greater(t, res.Failed, int64(2*workers), "each worker went on after its first Goexit")
	assert.Zero(t, res.OK)
	assert.Zero(t, res.SetupFailed, "a scenario's Goexit is a failed run, not a failed worker")
	assert.Zero(t, other.Load(), "a worker keeps its session")
	assert.EqualValues(t, workers, tornDown.Load())
	assertCountsConsistent(t, res)
	require.Len(t, res.Errors, 1, resultErrorsText(res))
	for _, w := range []string{"runtime.Goexit", "t.FailNow", "require", "return an error"} {
		assert.Contains(t, res.Errors[0].Error, w)
	}
	assert.Equal(t, OutcomeFailures, res.Outcome())

	// With MaxRuns, every run is counted, and the stop reason is max-runs.
	res = runWithin(t, &Runner{Registry: reg, Workers: workers, MaxRuns: 3, Quiet: true}, 10*time.Second)
	assert.EqualValues(t, workers*3, res.Failed)
	assert.Equal(t, StopMaxRuns, res.StopReason)
}

// In the open model, too, the worker goes on after a scenario's Goexit.
func TestGoexitInScenarioOpenModel(t *testing.T) {
	reg := sbOneScenario("exit", func(ctx context.Context, s *Session) error { runtime.Goexit(); return nil })
	res := runWithin(t, &Runner{Registry: reg, Rate: 100, MaxWorkers: 2, Duration: 300 * time.Millisecond, Quiet: true}, 10*time.Second)
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Greater(t, res.Failed, int64(10), "starts keep being taken by the two workers")
	assert.Equal(t, res.Scheduled, res.Started+res.Dropped)
	assertCountsConsistent(t, res)
}

// A ScenarioPicker that fails (a panic, an unknown name, a Goexit) fails
// that step, counted under PickerScenario so that the scenarios' figures
// add up to the run's; the worker goes on.
func TestPickerFailuresCountUnderPickerScenario(t *testing.T) {
	tests := []struct {
		name string
		pick func()
		want string
	}{
		{"panic", func() { panic("no idea") }, "ScenarioPicker panicked"},
		{"Goexit", func() { runtime.Goexit() }, "ScenarioPicker ended by runtime.Goexit"},
		{"unknown name", func() {}, "unknown scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := noHTTPRegistry(nil)
			reg.ScenarioPicker(func(worker, step int) string {
				if worker == 0 && step == 2 {
					tt.pick()
					return "nope"
				}
				return "work"
			})
			res := runWithin(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true}, 10*time.Second)
			assert.EqualValues(t, 6, res.Started)
			assert.EqualValues(t, 5, res.OK)
			assert.EqualValues(t, 1, res.Failed)
			assertCountsConsistent(t, res)
			picker := scenarioOf(t, res, PickerScenario)
			assert.EqualValues(t, 1, picker.Failed)
			var sum int64
			for _, sc := range res.Scenarios {
				sum += sc.OK + sc.Failed
			}
			assert.Equal(t, res.OK+res.Failed, sum, "the scenarios' figures add up to the run's")
			assert.Contains(t, resultErrorsText(res), tt.want)
		})
	}
}

// An event handler's Goexit outside a scenario run is logged; the worker
// goes on and its runs stand.
func TestGoexitInEventHandlerAfterARun(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	reg.OnEvent(func(ev Event) {
		if ev.Kind == ScenarioSuccess && ev.Worker == 0 {
			runtime.Goexit()
		}
	})
	reg.TeardownSession(func(ctx context.Context, s *Session) error { return nil })
	reg.Teardown(func(ctx context.Context, worker int) {})
	var out lockedBuffer
	res := runWithin(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Output: &out}, 10*time.Second)
	assert.EqualValues(t, 6, res.OK)
	assert.Zero(t, res.SetupFailed)
	assertCountsConsistent(t, res)
	assert.Contains(t, out.String(), "event handler ended by runtime.Goexit")
}

// Registering a scenario under the picker's reserved name panics.
func TestPickerScenarioNameIsReserved(t *testing.T) {
	assertPanicsNaming(t, func() { NewRegistry().Scenario(PickerScenario, 1, scenarioNoop) }, "reserved")
}
