package molotov

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowServer answers 200 after sleeping d.
func slowServer(t *testing.T, d time.Duration) *connServer {
	t.Helper()
	return newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		io.WriteString(w, "ok")
	}))
}

// hangingServer answers only when the client gives up, or after 5s.
func hangingServer(t *testing.T) *connServer {
	t.Helper()
	return newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
}

func TestRunnerMaxRuns(t *testing.T) {
	srv := newOKServer(t)
	reg := NewRegistry()
	var entries entryCounter
	reg.Scenario("get", 1, entries.wrap(scenarioGetOK("/")))
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, MaxRuns: 5, Quiet: true})

	assert.Equal(t, int64(20), entries.get(), "scenario entries")
	assert.Equal(t, int64(20), res.Started)
	assert.Equal(t, int64(20), res.OK)
	assert.Equal(t, int64(0), res.Failed)
	assert.Equal(t, StopMaxRuns, res.StopReason)
	assert.Equal(t, int64(20), scenarioOf(t, res, "get").OK)
	assert.Equal(t, int64(20), requestOf(t, res, "GET /").Count)
	assert.Equal(t, map[int]int64{200: 20}, requestOf(t, res, "GET /").Status)
	assert.True(t, res.MaxWorkers >= 1 && res.MaxWorkers <= 4, "MaxWorkers = %d, want 1..4", res.MaxWorkers)
	assert.Positive(t, res.Elapsed)
	assert.Empty(t, res.Errors)
}

func TestRunnerSingleRun(t *testing.T) {
	reg := NewRegistry()
	var rec callRecorder
	for _, sc := range []struct {
		name   string
		weight int
	}{{"c_zero", 0}, {"a_heavy", 9}, {"b_light", 1}} {
		reg.Scenario(sc.name, sc.weight, func(ctx context.Context, s *Session) error {
			rec.add("w%d %s", s.Worker, sc.name)
			return nil
		})
	}
	const workers = 3
	res := runOrFatal(t, &Runner{Registry: reg, Workers: workers, SingleRun: true, Quiet: true})
	assert.Equal(t, int64(workers*3), res.Started)
	assert.Equal(t, int64(workers*3), res.OK)
	assert.Equal(t, StopSingleRun, res.StopReason)
	byWorker := splitByWorker(rec.list())
	for w := range workers {
		assert.Equal(t, []string{"a_heavy", "b_light", "c_zero"}, byWorker[w], "worker %d runs every scenario once, in name order", w)
	}
}

func TestRunnerDuration(t *testing.T) {
	srv := newOKServer(t)
	reg := NewRegistry()
	var entries entryCounter
	reg.Scenario("get", 1, entries.wrap(scenarioGetOK("/")))
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: time.Second, Quiet: true})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, elapsed, time.Second, "wall time")
	assert.Less(t, elapsed, 2*time.Second, "wall time")
	assert.GreaterOrEqual(t, res.Elapsed, time.Second, "Result.Elapsed")
	assert.Less(t, res.Elapsed, 2*time.Second, "Result.Elapsed")
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Positive(t, res.OK)
	assert.Equal(t, int64(0), res.Failed)
	assert.Equal(t, entries.get(), res.Started)
	assertCountsConsistent(t, res)
}

func TestRunnerExitOnFailure(t *testing.T) {
	srv := slowServer(t, 10*time.Millisecond)
	reg := NewRegistry()
	var entries entryCounter
	const failAt = 10
	reg.Scenario("mostly_ok", 1, entries.wrap(func(ctx context.Context, s *Session) error {
		if s.Iteration() == failAt {
			return errors.New("the one failure")
		}
		return scenarioGetOK("/")(ctx, s)
	}))
	const workers = 4
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{
		Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: 5 * time.Second, ExitOnFailure: true, Quiet: true,
	})
	require.NoError(t, err)
	assert.Equal(t, StopFailure, res.StopReason)
	assert.Less(t, elapsed, 2*time.Second)
	assert.Equal(t, int64(1), res.Failed)
	assertCountsConsistent(t, res)
	assert.Equal(t, entries.get(), res.Started)
	// Runs in flight at the failure finish; no new one starts after it.
	assert.LessOrEqual(t, res.Started, int64(failAt+2*workers), "runs started after the first failure")
	assert.Equal(t, int64(1), resultErrorCount(res, "the one failure"))
}

func TestRunnerMaxFailures(t *testing.T) {
	srv := newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	reg := NewRegistry()
	var entries entryCounter
	reg.Scenario("always_500", 1, entries.wrap(scenarioGetOK("/")))
	const workers, maxFailures = 4, 5
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{
		Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: 5 * time.Second, MaxFailures: maxFailures, Quiet: true,
	})
	require.NoError(t, err, "failures are counted, not returned")
	assert.Equal(t, StopMaxFailures, res.StopReason)
	assert.Less(t, elapsed, 2*time.Second)
	assert.GreaterOrEqual(t, res.Failed, int64(maxFailures))
	assert.Less(t, res.Failed, int64(maxFailures+workers))
	assert.Equal(t, int64(0), res.OK)
	assertCountsConsistent(t, res)
	assert.Equal(t, entries.get(), res.Started)
	assert.Equal(t, res.Failed, resultErrorCount(res, "status 500"), "errors:\n%s", resultErrorsText(res))
}

func TestRunnerCancel(t *testing.T) {
	srv := slowServer(t, 50*time.Millisecond)
	reg := NewRegistry()
	var entries, enteredCancelled entryCounter
	reg.Scenario("get", 1, entries.wrap(func(ctx context.Context, s *Session) error {
		if ctx.Err() != nil {
			enteredCancelled.n.Add(1)
		}
		return scenarioGetOK("/")(ctx, s)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timer := time.AfterFunc(300*time.Millisecond, cancel)
	defer timer.Stop()

	res, elapsed, err := runAndTime(t, ctx, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, Duration: 10 * time.Second, Quiet: true})
	require.NoError(t, err, "a cancel is not an error of Run")
	assert.Less(t, elapsed, 2*time.Second, "Run must return promptly after its ctx is cancelled")
	assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
	assert.Equal(t, StopCancelled, res.StopReason)
	assert.Positive(t, res.OK)
	assertCountsConsistent(t, res)
	assert.Equal(t, entries.get(), res.Started, "every run that started is counted once")
	// Runs started after the cancel are the subject of
	// TestRunnerCancelStartsNoNewRun; here they only show in the log.
	t.Logf("runs started after the cancel: %d of %d", enteredCancelled.get(), res.Started)
}

// After a cancel no new scenario run may start: only the runs in flight
// fail. A worker whose run ends because of the cancel must not start
// another one with the cancelled context.
func TestRunnerCancelStartsNoNewRun(t *testing.T) {
	const workers, rounds = 4, 10
	for round := range rounds {
		reg := NewRegistry()
		var entries, enteredCancelled entryCounter
		var entered sync.WaitGroup
		entered.Add(workers)
		reg.Scenario("blocks", 1, entries.wrap(func(ctx context.Context, s *Session) error {
			if ctx.Err() != nil {
				enteredCancelled.n.Add(1)
				return ctx.Err()
			}
			if s.Step() == 1 {
				entered.Done()
			}
			<-ctx.Done()
			return ctx.Err()
		}))
		ctx, cancel := context.WithCancel(context.Background())
		go func() { entered.Wait(); cancel() }()
		res, err := (&Runner{Registry: reg, Workers: workers, Duration: 10 * time.Second, Quiet: true}).Run(ctx)
		cancel()
		require.NoError(t, err)
		assertCountsConsistent(t, res)
		if !assert.Zero(t, enteredCancelled.get(), "round %d: runs started after the cancel", round) ||
			!assert.Equal(t, int64(workers), res.Started, "round %d: Started, want only the runs in flight", round) {
			t.Logf("round %d: %+v, errors:\n%s", round, res, resultErrorsText(res))
			return
		}
	}
}

func TestRunnerAlreadyCancelledContext(t *testing.T) {
	reg := NewRegistry()
	var runs entryCounter
	reg.Scenario("s", 1, runs.wrap(scenarioNoop))
	var globalTeardown atomic.Int64
	reg.GlobalTeardown(func(context.Context) { globalTeardown.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, elapsed, err := runAndTime(t, ctx, &Runner{Registry: reg, Workers: 3, Duration: 10 * time.Second, Quiet: true})
	require.NoError(t, err)
	assert.Less(t, elapsed, 2*time.Second)
	assert.Equal(t, StopCancelled, res.StopReason)
	assert.Zero(t, runs.get(), "scenario runs started with an already cancelled context")
	assertCountsConsistent(t, res)
	assert.Equal(t, int64(1), globalTeardown.Load(), "GlobalTeardown runs after a cancellation")
}

func TestRunStartSnapshotStopWait(t *testing.T) {
	srv := slowServer(t, 5*time.Millisecond)
	reg := NewRegistry()
	var entries entryCounter
	reg.Scenario("get", 1, entries.wrap(scenarioGetOK("/")))
	run, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 10 * time.Second, Quiet: true}).Start(context.Background())
	require.NoError(t, err)
	require.NotNil(t, run)

	// Snapshot is safe at any time, from any goroutine.
	first := run.Snapshot()
	require.NotNil(t, first)
	quit := make(chan struct{})
	var hammer sync.WaitGroup
	hammer.Add(1)
	go func() {
		defer hammer.Done()
		for {
			select {
			case <-quit:
				return
			default:
				s := run.Snapshot()
				if s.OK+s.Failed > s.Started {
					t.Errorf("Snapshot: OK + Failed = %d > Started = %d", s.OK+s.Failed, s.Started)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
	}()
	defer func() { close(quit); hammer.Wait() }()

	var mid *Result
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if mid = run.Snapshot(); mid.OK >= 5 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.GreaterOrEqual(t, mid.OK, int64(5), "Snapshot shows progress mid-run")
	assert.Empty(t, mid.StopReason, "StopReason while running")
	assert.Positive(t, mid.Elapsed, "Elapsed while running")
	assert.GreaterOrEqual(t, mid.Started, mid.OK+mid.Failed)

	stopped := time.Now()
	run.Stop()
	res, err := run.Wait()
	require.NoError(t, err)
	assert.Less(t, time.Since(stopped), time.Second, "Wait after Stop returns once runs in flight finished")
	assert.Equal(t, StopStopped, res.StopReason)
	assertCountsConsistent(t, res)
	assert.GreaterOrEqual(t, res.OK, mid.OK)
	assert.Equal(t, entries.get(), res.Started)

	again, err := run.Wait()
	require.NoError(t, err)
	assert.Equal(t, res, again, "a second Wait returns the same Result")
	final := run.Snapshot()
	assert.Equal(t, res.Started, final.Started, "Snapshot after the end shows the final figures")
	assert.Equal(t, StopStopped, final.StopReason)
	run.Stop() // harmless after the end
}

func TestRunnerShutdownOfRunsInFlight(t *testing.T) {
	tests := []struct {
		name           string
		forceShutdown  bool
		requestTimeout time.Duration
		minElapsed     time.Duration
		maxElapsed     time.Duration
		wantErr        string
	}{
		{
			name:          "ForceShutdown cancels them at once",
			forceShutdown: true,
			maxElapsed:    2 * time.Second,
			wantErr:       "context canceled",
		},
		{
			name:           "without ForceShutdown they run until RequestTimeout",
			requestTimeout: time.Second,
			minElapsed:     time.Second,
			maxElapsed:     2 * (300*time.Millisecond + time.Second),
			wantErr:        "request timeout",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hangingServer(t)
			reg := NewRegistry()
			var entries entryCounter
			reg.Scenario("hangs", 1, entries.wrap(scenarioGetOK("/")))
			const workers = 3
			res, elapsed, err := runAndTime(t, context.Background(), &Runner{
				Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: 300 * time.Millisecond,
				ForceShutdown: tt.forceShutdown, RequestTimeout: tt.requestTimeout, Quiet: true,
			})
			require.NoError(t, err)
			assert.GreaterOrEqual(t, elapsed, tt.minElapsed)
			assert.Less(t, elapsed, tt.maxElapsed)
			assert.Equal(t, StopDuration, res.StopReason)
			assert.Equal(t, workers, res.MaxWorkers)
			assert.Equal(t, int64(workers), res.Started, "one run in flight per worker")
			assert.Equal(t, int64(workers), res.Failed, "runs in flight at the stop are counted as failed")
			assert.Equal(t, int64(0), res.OK)
			assert.Equal(t, entries.get(), res.Started)
			assert.Equal(t, int64(workers), resultErrorCount(res, tt.wantErr), "errors:\n%s", resultErrorsText(res))
			assert.Zero(t, srv.waitOpenConns(time.Second), "connections left open on the server")
		})
	}
}

func TestRunnerRampUp(t *testing.T) {
	reg := NewRegistry()
	const workers = 4
	const rampUp = time.Second
	var mu sync.Mutex
	firstRun := map[int]time.Duration{}
	var t0 time.Time
	reg.Scenario("mark", 1, func(ctx context.Context, s *Session) error {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := firstRun[s.Worker]; !ok {
			firstRun[s.Worker] = time.Since(t0)
		}
		return nil
	})
	t0 = time.Now()
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{Registry: reg, Workers: workers, MaxRuns: 2, RampUp: rampUp, Quiet: true})
	require.NoError(t, err)
	assert.Equal(t, int64(workers*2), res.OK)
	assert.Less(t, elapsed, 2*rampUp)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, firstRun, workers)
	const slack = 10 * time.Millisecond
	for w := range workers {
		earliest := time.Duration(w) * rampUp / workers
		assert.GreaterOrEqual(t, firstRun[w], earliest-slack, "worker %d started too early", w)
		assert.Less(t, firstRun[w], 2*earliest+200*time.Millisecond, "worker %d started too late", w)
	}
}

func TestRunnerStopDuringRampUpSkipsLateWorkers(t *testing.T) {
	reg := NewRegistry()
	var setups callRecorder
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		setups.add("w%d Setup", worker)
		return nil, nil
	})
	reg.Scenario("sleepy", 1, func(ctx context.Context, s *Session) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{Registry: reg, Workers: 4, Duration: 300 * time.Millisecond, RampUp: 2 * time.Second, Quiet: true})
	require.NoError(t, err)
	assert.Less(t, elapsed, time.Second, "workers waiting for their ramp-up slot must not hold the run")
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Equal(t, []string{"w0 Setup"}, setups.list(), "only worker 0 (start 0ms) starts before the 300ms stop; worker 1 starts at 500ms")
	assert.Equal(t, 1, res.MaxWorkers)
}

func TestRunnerDelays(t *testing.T) {
	tests := []struct {
		name        string
		runnerDelay time.Duration
		optDelay    time.Duration
		fail        bool
		minGap      time.Duration // between the starts of consecutive runs of a worker
		maxGap      time.Duration
	}{
		{name: "scenario Delay after each success", optDelay: 200 * time.Millisecond, minGap: 200 * time.Millisecond, maxGap: 500 * time.Millisecond},
		{name: "scenario Delay not after failures", optDelay: 300 * time.Millisecond, fail: true, maxGap: 150 * time.Millisecond},
		{name: "Runner.Delay after failures too", runnerDelay: 100 * time.Millisecond, fail: true, minGap: 100 * time.Millisecond, maxGap: 300 * time.Millisecond},
		{name: "Runner.Delay and scenario Delay add up", runnerDelay: 100 * time.Millisecond, optDelay: 100 * time.Millisecond, minGap: 200 * time.Millisecond, maxGap: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			var mu sync.Mutex
			var starts []time.Time
			reg.Scenario("timed", 1, func(ctx context.Context, s *Session) error {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				if tt.fail {
					return errors.New("fails on purpose")
				}
				return nil
			}, Delay(tt.optDelay))
			res := runOrFatal(t, &Runner{Registry: reg, Workers: 1, MaxRuns: 3, Delay: tt.runnerDelay, Quiet: true})
			assert.Equal(t, int64(3), res.Started)
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, starts, 3)
			for i := 1; i < len(starts); i++ {
				gap := starts[i].Sub(starts[i-1])
				assert.GreaterOrEqual(t, gap, tt.minGap, "gap between runs %d and %d", i, i+1)
				assert.Less(t, gap, tt.maxGap, "gap between runs %d and %d", i, i+1)
			}
			if tt.minGap > 0 {
				assert.GreaterOrEqual(t, res.Elapsed, 2*tt.minGap, "3 runs take at least 2 delays")
			}
		})
	}
}

func TestRunnerDelayIsInterruptedByStop(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("s", 1, scenarioNoop, Delay(10*time.Second))
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{Registry: reg, Workers: 2, Duration: 300 * time.Millisecond, Delay: 10 * time.Second, Quiet: true})
	require.NoError(t, err)
	assert.Less(t, elapsed, 2*time.Second, "a worker sleeping its delay must wake at the stop")
	assert.Equal(t, int64(2), res.OK)
}

func TestRunnerConfigErrors(t *testing.T) {
	withScenarios := func() *Registry {
		reg := NewRegistry()
		reg.Scenario("a", 1, scenarioNoop)
		reg.Scenario("b", 0, scenarioNoop)
		return reg
	}
	allZero := NewRegistry()
	allZero.Scenario("z1", 0, scenarioNoop)
	allZero.Scenario("z2", 0, scenarioNoop)

	tests := []struct {
		name      string
		runner    Runner
		wantField []string // any of
		wantMsg   string
	}{
		{"no scenarios", Runner{Registry: NewRegistry()}, []string{"Registry"}, "no scenario"},
		{"unknown SingleMode", Runner{SingleMode: "nope"}, []string{"SingleMode"}, `"nope"`},
		{"SingleMode with SingleRun", Runner{SingleMode: "a", SingleRun: true}, []string{"SingleMode", "SingleRun"}, "SingleRun"},
		{"negative Workers", Runner{Workers: -1}, []string{"Workers"}, "negative"},
		{"negative Duration", Runner{Duration: -time.Second}, []string{"Duration"}, "negative"},
		{"negative MaxRuns", Runner{MaxRuns: -3}, []string{"MaxRuns"}, "negative"},
		{"negative Delay", Runner{Delay: -time.Millisecond}, []string{"Delay"}, "negative"},
		{"negative RampUp", Runner{RampUp: -time.Second}, []string{"RampUp"}, "negative"},
		{"negative MaxFailures", Runner{MaxFailures: -1}, []string{"MaxFailures"}, "negative"},
		{"negative RequestTimeout", Runner{RequestTimeout: -time.Second}, []string{"RequestTimeout"}, "negative"},
		{"negative SizingTolerance", Runner{SizingTolerance: -1}, []string{"SizingTolerance"}, ""},
		{"BaseURL that does not parse", Runner{BaseURL: "://bad"}, []string{"BaseURL"}, "://bad"},
		{"BaseURL without scheme", Runner{BaseURL: "127.0.0.1:8080"}, []string{"BaseURL"}, "127.0.0.1:8080"},
		{"BaseURL with another scheme", Runner{BaseURL: "ftp://127.0.0.1/"}, []string{"BaseURL"}, "http"},
		{"BaseURL without host", Runner{BaseURL: "http://"}, []string{"BaseURL"}, "host"},
		{"all weights zero", Runner{Registry: allZero}, []string{"Registry"}, "weight 0"},
		{"Quiet with Verbose", Runner{Quiet: true, Verbose: 1}, []string{"Verbose", "Quiet"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.runner
			if r.Registry == nil {
				r.Registry = withScenarios()
			}
			var globalSetups atomic.Int64
			if r.Registry != allZero {
				r.Registry.GlobalSetup(func(context.Context, *Runner) error { globalSetups.Add(1); return nil })
			}
			if r.MaxRuns == 0 {
				r.MaxRuns = 1 // bounded, should the configuration be wrongly accepted
			}
			if !r.Quiet {
				r.Output = io.Discard
			}

			res, err := r.Run(context.Background())
			require.Error(t, err)
			assert.Nil(t, res)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "error %T %v is not a *ConfigError", err, err)
			assert.Contains(t, tt.wantField, ce.Field, "ConfigError.Field")
			assert.Contains(t, err.Error(), ce.Field, "the message names the field")
			if tt.wantMsg != "" {
				assert.Contains(t, err.Error(), tt.wantMsg)
			}
			run, err := r.Start(context.Background())
			assert.Error(t, err)
			assert.Nil(t, run)
			assert.Zero(t, globalSetups.Load(), "GlobalSetup ran despite a bad configuration")
		})
	}
}

func TestRunnerValidConfigsAreAccepted(t *testing.T) {
	// The other side of TestRunnerConfigErrors: what must not be refused.
	zeroOnly := NewRegistry()
	zeroOnly.Scenario("zero", 0, scenarioNoop)
	tests := []struct {
		name   string
		runner Runner
	}{
		{"weight-0 only with SingleMode", Runner{Registry: zeroOnly, SingleMode: "zero", MaxRuns: 1}},
		{"weight-0 only with SingleRun", Runner{Registry: zeroOnly, SingleRun: true}},
		{"weight-0 only with a picker", func() Runner {
			reg := NewRegistry()
			reg.Scenario("zero", 0, scenarioNoop)
			reg.ScenarioPicker(func(int, int) string { return "zero" })
			return Runner{Registry: reg, MaxRuns: 1}
		}()},
		{"BaseURL with a path", Runner{Registry: zeroOnly, SingleRun: true, BaseURL: "http://127.0.0.1:1/api/v1"}},
		{"empty BaseURL", Runner{Registry: zeroOnly, SingleRun: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.runner
			r.Quiet = true
			res := runOrFatal(t, &r)
			assert.Equal(t, int64(1), res.OK)
		})
	}
}

func panickingScenario(context.Context, *Session) error {
	var m map[string]int
	//lint:ignore SA5000 the panic is the point
	m["boom"]++ // assignment to entry in nil map
	return nil
}

func TestRunnerPanickingScenarioIsACountedFailure(t *testing.T) {
	tests := []struct {
		name      string
		verbose   int
		wantStack bool
	}{
		{name: "quiet", verbose: 0},
		{name: "Verbose 1 prints the stack", verbose: 1, wantStack: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			reg.Scenario("panics", 1, panickingScenario)
			var out lockedBuffer
			r := &Runner{Registry: reg, Workers: 2, MaxRuns: 2, Verbose: tt.verbose, Quiet: tt.verbose == 0, Output: &out}
			res := runOrFatal(t, r)
			assert.Equal(t, int64(4), res.Failed)
			assert.Equal(t, int64(4), scenarioOf(t, res, "panics").Failed)
			assert.Equal(t, int64(4), resultErrorCount(res, "panic: assignment to entry in nil map"), "errors:\n%s", resultErrorsText(res))
			for _, e := range res.Errors {
				assert.True(t, strings.HasPrefix(e.Error, "panic: "), "error %q", e.Error)
			}
			got := out.String()
			if tt.wantStack {
				assert.Contains(t, got, "panickingScenario", "the stack names the panicking function")
				assert.Contains(t, got, "goroutine ", "a goroutine stack is printed")
				assert.Contains(t, got, "runner_test.go", "the stack has file positions")
			} else {
				assert.Empty(t, got, "a Quiet run prints nothing")
			}
		})
	}
}

func TestRunnerScenarioErrorIsCounted(t *testing.T) {
	reg := NewRegistry()
	var ok, bad entryCounter
	reg.Scenario("good", 1, ok.wrap(scenarioNoop))
	reg.Scenario("bad", 1, bad.wrap(func(context.Context, *Session) error { return fmt.Errorf("order %d rejected", 7) }))
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 50, Seed: 3, Quiet: true})
	require.Positive(t, bad.get())
	require.Positive(t, ok.get())
	assert.Equal(t, bad.get(), res.Failed)
	assert.Equal(t, ok.get(), res.OK)
	assert.Equal(t, bad.get(), scenarioOf(t, res, "bad").Failed)
	assert.Equal(t, int64(0), scenarioOf(t, res, "bad").OK)
	assert.Equal(t, ok.get(), scenarioOf(t, res, "good").OK)
	assert.Equal(t, []ErrorCount{{Error: "order 7 rejected", Count: bad.get()}}, res.Errors)
	assert.InDelta(t, float64(bad.get())/100, res.FailureRate(), 1e-9)
}

func TestRunnerLeavesNoOpenConnection(t *testing.T) {
	big := strings.Repeat("x", 1<<20) // beyond what is drained to keep a connection
	mid := strings.Repeat("y", 64<<10)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/mid":
			io.WriteString(w, mid)
		default:
			io.WriteString(w, "ok")
		}
	})
	leaveOpen := func(path string, read int64) ScenarioFunc {
		return func(ctx context.Context, s *Session) error {
			resp, err := s.Get(ctx, path)
			if err != nil {
				return err
			}
			if read > 0 {
				io.CopyN(io.Discard, resp.Body, read)
			}
			return ExpectStatus(resp, http.StatusOK) // body left open on purpose
		}
	}
	tests := []struct {
		name       string
		scenario   ScenarioFunc
		wantReused bool
	}{
		{name: "bodies closed", scenario: scenarioGetOK("/"), wantReused: true},
		{name: "bodies left open", scenario: leaveOpen("/", 0), wantReused: true},
		{name: "bodies partly read and left open", scenario: leaveOpen("/mid", 1000), wantReused: true},
		{name: "big bodies left open", scenario: leaveOpen("/big", 0)},
	}
	const workers, maxRuns = 2, 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newConnServer(t, handler)
			reg := NewRegistry()
			reg.Scenario("s", 1, tt.scenario)
			res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: maxRuns, Quiet: true})
			assert.Equal(t, int64(workers*maxRuns), res.OK, "errors:\n%s", resultErrorsText(res))
			assert.Zero(t, srv.waitOpenConns(time.Second), "connections still open on the server after Run returned")
			if tt.wantReused {
				// One connection per worker when every drain ends within
				// drainWait; a starved CI machine (-race, packages tested in
				// parallel) may close a few: 2x slack, still far from one
				// connection per run.
				assert.LessOrEqual(t, srv.seen(http.StateNew), 2*workers, "new connections for %d runs: connections are not reused", workers*maxRuns)
			}
		})
	}
}

func TestRunnerClosesConnectionsOfACustomTransport(t *testing.T) {
	srv := newOKServer(t)
	var mu sync.Mutex
	var transports []*http.Transport
	t.Cleanup(func() {
		// Whatever the run did, do not leak the transports' goroutines.
		mu.Lock()
		defer mu.Unlock()
		for _, tr := range transports {
			tr.CloseIdleConnections()
		}
	})
	reg := NewRegistry()
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		mu.Lock()
		transports = append(transports, tr)
		mu.Unlock()
		return &SessionConfig{Transport: tr}, nil
	})
	reg.Scenario("s", 1, scenarioGetOK("/"))
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 3, Quiet: true})
	assert.Equal(t, int64(6), res.OK)
	assert.Equal(t, int64(6), requestOf(t, res, "GET /").Count, "requests through SessionConfig.Transport are measured")
	assert.Zero(t, srv.waitOpenConns(time.Second),
		"idle connections of a SessionConfig.Transport must be closed when the session ends")
}

func TestRunnerSizing(t *testing.T) {
	var inflight atomic.Int64
	srv := newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		time.Sleep(10 * time.Millisecond)
		if n > 4 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	reg := NewRegistry()
	reg.Scenario("get", 1, scenarioGetOK("/"))
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{
		Registry: reg, BaseURL: srv.URL, Workers: 20, RampUp: 2 * time.Second, Sizing: true, SizingTolerance: 5,
		Duration: 4 * time.Second, Quiet: true,
	})
	require.NoError(t, err)
	t.Logf("sizing: MaxWorkers %d, ratio %.1f%%, OK %d, Failed %d, in %v", res.MaxWorkers, res.SizingRatio, res.OK, res.Failed, elapsed)
	assert.Equal(t, StopSizing, res.StopReason)
	assert.GreaterOrEqual(t, res.MaxWorkers, 5, "failures need more than 4 requests in flight, so more than 4 workers")
	assert.LessOrEqual(t, res.MaxWorkers, 20)
	assert.Greater(t, res.SizingRatio, 5.0)
	assertCountsConsistent(t, res)
	assert.Less(t, elapsed, 3*time.Second)
}

func TestRunnerConsoleOutput(t *testing.T) {
	srv := slowServer(t, 2*time.Millisecond)
	reg := NewRegistry()
	reg.Scenario("get_root", 1, func(ctx context.Context, s *Session) error {
		if s.Step() == 1 {
			s.Printf("hello from %d", s.Worker)
		}
		return scenarioGetOK("/")(ctx, s)
	})
	var out lockedBuffer
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 300 * time.Millisecond, ConsoleUpdate: 10 * time.Millisecond, Output: &out})
	assert.Positive(t, res.OK)
	got := out.String()
	assert.GreaterOrEqual(t, strings.Count(got, "SUCCESSES:"), 4, "live lines every 10ms over 300ms, then the summary; output:\n%s", got)
	assert.Contains(t, got, "[W:0] hello from 0")
	assert.Contains(t, got, "[W:1] hello from 1")
	assert.Contains(t, got, "STOP: duration")
	assert.Contains(t, got, "get_root")
	assert.Contains(t, got, "GET /")
}

func TestRunnerQuietPrintsNothing(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("noisy", 1, func(ctx context.Context, s *Session) error {
		s.Printf("should not appear")
		s.Logger().Warn("should not appear either")
		return errors.New("fails")
	})
	var out lockedBuffer
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 2, Quiet: true, Output: &out})
	assert.Equal(t, int64(4), res.Failed)
	assert.Empty(t, out.String())
}

// Requests are grouped as "METHOD /path", query stripped.
func TestRunnerRequestsByName(t *testing.T) {
	srv := newOKServer(t)
	reg := NewRegistry()
	reg.Scenario("mixed", 1, func(ctx context.Context, s *Session) error {
		for _, p := range []string{"/a?x=1", "/b", "/a?x=2"} {
			if err := scenarioGetOK(p)(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 3, Quiet: true})
	names := make([]string, 0, len(res.Requests))
	for n := range res.Requests {
		names = append(names, n)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"GET /a", "GET /b"}, names, "requests grouped by method and path, query stripped")
	assert.Equal(t, int64(12), requestOf(t, res, "GET /a").Count)
	assert.Equal(t, int64(6), requestOf(t, res, "GET /b").Count)
}
