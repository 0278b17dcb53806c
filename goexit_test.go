package molotov

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t.FailNow or require (runtime.Goexit) in a fixture, an event handler or
// the picker ends the worker's goroutine; the run counts that worker as
// failed, names where it happened, and does not pass.
func TestGoexitOutsideAScenarioFailsTheWorker(t *testing.T) {
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
		{"SetupSession", func(reg *Registry) {
			reg.SetupSession(func(ctx context.Context, s *Session) error {
				if s.Worker == 0 {
					runtime.Goexit()
				}
				return nil
			})
		}, "SetupSession"},
		{"event handler after a run", func(reg *Registry) {
			reg.OnEvent(func(ev Event) {
				if ev.Kind == ScenarioSuccess && ev.Worker == 0 {
					runtime.Goexit()
				}
			})
		}, "OnEvent or ScenarioPicker"},
		{"event handler, with both teardowns", func(reg *Registry) {
			reg.OnEvent(func(ev Event) {
				if ev.Kind == ScenarioSuccess && ev.Worker == 0 {
					runtime.Goexit()
				}
			})
			reg.TeardownSession(func(ctx context.Context, s *Session) error { return nil })
			reg.Teardown(func(ctx context.Context, worker int) {})
		}, "OnEvent or ScenarioPicker"},
		{"picker at the second step, on the loop's goroutine", func(reg *Registry) {
			reg.ScenarioPicker(func(worker, step int) string {
				if worker == 0 && step == 2 {
					runtime.Goexit()
				}
				return "work"
			})
			reg.Teardown(func(ctx context.Context, worker int) {})
		}, "OnEvent or ScenarioPicker"},
		{"TeardownSession", func(reg *Registry) {
			reg.TeardownSession(func(ctx context.Context, s *Session) error {
				if s.Worker == 0 {
					runtime.Goexit()
				}
				return nil
			})
		}, "TeardownSession"},
		{"TeardownSession, with a Teardown after it", func(reg *Registry) {
			reg.TeardownSession(func(ctx context.Context, s *Session) error {
				if s.Worker == 0 {
					runtime.Goexit()
				}
				return nil
			})
			reg.Teardown(func(ctx context.Context, worker int) {})
		}, "TeardownSession"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := noHTTPRegistry(nil)
			tt.setup(reg)
			done := make(chan *Result, 1)
			go func() {
				res, err := (&Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true}).Run(context.Background())
				assert.NoError(t, err)
				done <- res
			}()
			var res *Result
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the run hangs")
			}
			assert.Equal(t, 1, res.SetupFailed, "worker 0 counted as failed")
			assert.Equal(t, OutcomeSetupFailed, res.Outcome())
			assert.Equal(t, res.Started, res.OK+res.Failed)
			var msgs []string
			for _, e := range res.Errors {
				msgs = append(msgs, e.Error)
			}
			all := strings.Join(msgs, "\n")
			assert.Contains(t, all, tt.fixture+" failed on worker 0")
			assert.Contains(t, all, "runtime.Goexit")
			assert.Contains(t, all, "return an error instead")
		})
	}
}

func TestGoexitInScenarioIsNotAWorkerFailure(t *testing.T) {
	reg := sbOneScenario("exit", func(ctx context.Context, s *Session) error {
		runtime.Goexit()
		return nil
	})
	reg.Teardown(func(ctx context.Context, worker int) {})
	res, err := (&Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, res.SetupFailed, "a scenario's Goexit is a failed run, counted once")
	assert.EqualValues(t, 2, res.Failed, "each worker's first run, then the worker is gone")
	assert.Equal(t, OutcomeFailures, res.Outcome())
}

// With teardowns registered, a Goexit in a setup fixture is still named
// after that fixture.
func TestGoexitInSetupNamedWithTeardowns(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		runtime.Goexit()
		return nil, nil
	})
	reg.Teardown(func(ctx context.Context, worker int) {})
	reg.TeardownSession(func(ctx context.Context, s *Session) error { return nil })
	res, err := (&Runner{Registry: reg, MaxRuns: 1, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, res.Errors)
	assert.Contains(t, res.Errors[0].Error, "Setup failed on worker 0")
}
