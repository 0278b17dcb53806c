package molotov

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// registerRecordingFixtures registers every fixture kind on reg, each recording
// its call in rec ("GlobalSetup", "w1 Setup", ...).
func registerRecordingFixtures(reg *Registry, rec *callRecorder) {
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error { rec.add("GlobalSetup"); return nil })
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		rec.add("w%d Setup", worker)
		return nil, nil
	})
	reg.SetupSession(func(ctx context.Context, s *Session) error { rec.add("w%d SetupSession", s.Worker); return nil })
	reg.TeardownSession(func(ctx context.Context, s *Session) error { rec.add("w%d TeardownSession", s.Worker); return nil })
	reg.Teardown(func(ctx context.Context, worker int) { rec.add("w%d Teardown", worker) })
	reg.GlobalTeardown(func(ctx context.Context) { rec.add("GlobalTeardown") })
}

// splitByWorker splits "wN ..." records by worker, dropping the prefix.
func splitByWorker(items []string) map[int][]string {
	out := map[int][]string{}
	for _, it := range items {
		var w int
		if _, err := fmt.Sscanf(it, "w%d ", &w); err != nil {
			continue
		}
		out[w] = append(out[w], strings.SplitN(it, " ", 2)[1])
	}
	return out
}

func TestFixtureOrder(t *testing.T) {
	reg := NewRegistry()
	var rec callRecorder
	registerRecordingFixtures(reg, &rec)
	reg.Scenario("run", 1, func(ctx context.Context, s *Session) error {
		rec.add("w%d run%d", s.Worker, s.Step())
		return nil
	})
	const workers = 3
	res := runOrFatal(t, &Runner{Registry: reg, Workers: workers, MaxRuns: 2, Quiet: true})
	assert.Equal(t, int64(workers*2), res.OK)

	got := rec.list()
	require.NotEmpty(t, got)
	assert.Equal(t, "GlobalSetup", got[0], "first fixture")
	assert.Equal(t, "GlobalTeardown", got[len(got)-1], "last fixture")
	assert.Len(t, got, 2+workers*6, "calls: %q", got)

	byWorker := splitByWorker(got)
	require.Len(t, byWorker, workers)
	for w := range workers {
		assert.Equal(t, []string{"Setup", "SetupSession", "run1", "run2", "TeardownSession", "Teardown"}, byWorker[w], "worker %d", w)
	}
}

func TestFixturesReceiveTheRunsOptions(t *testing.T) {
	srv := newOKServer(t)
	reg := NewRegistry()
	var runs entryCounter
	reg.Scenario("s", 1, runs.wrap(scenarioGetOK("/")))

	type seen struct {
		registry *Registry
		baseURL  string
		workers  int
		maxRuns  int
		seed     int64
		delay    time.Duration
		quiet    bool
	}
	var mu sync.Mutex
	var fromGlobal seen
	fromSetup := map[int]seen{}
	snapshot := func(r *Runner) seen {
		return seen{r.Registry, r.BaseURL, r.Workers, r.MaxRuns, r.Seed, r.Delay, r.Quiet}
	}
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error {
		fromGlobal = snapshot(r)
		// Changing the copy must have no effect on the run.
		r.MaxRuns, r.Workers, r.Delay = 1000, 10, time.Hour
		return nil
	})
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		mu.Lock()
		fromSetup[worker] = snapshot(r)
		mu.Unlock()
		r.MaxRuns = 1000
		return nil, nil
	})
	runner := &Runner{Registry: reg, BaseURL: srv.URL, Workers: 3, MaxRuns: 2, Seed: 99, Delay: time.Millisecond, Quiet: true}
	res := runOrFatal(t, runner)

	want := seen{reg, srv.URL, 3, 2, 99, time.Millisecond, true}
	assert.Equal(t, want, fromGlobal, "the Runner handed to GlobalSetup")
	require.Len(t, fromSetup, 3)
	for w, got := range fromSetup {
		assert.Equal(t, want, got, "the Runner handed to Setup on worker %d", w)
	}
	assert.Equal(t, int64(6), runs.get(), "changes made by fixtures to their Runner copy must not affect the run")
	assert.Equal(t, int64(6), res.Started)
	assert.Equal(t, 2, runner.MaxRuns, "the caller's Runner is not changed")
	assert.Equal(t, 3, runner.Workers, "the caller's Runner is not changed")
}

func TestSetupSessionConfigShapesTheSession(t *testing.T) {
	var bad, fromA, fromB atomic.Int64
	checkHeaders := func(counted *atomic.Int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			counted.Add(1)
			wk := r.URL.Query().Get("worker")
			if r.Header.Get("X-Worker") != wk || r.Header.Get("Authorization") != "Bearer token-"+wk {
				bad.Add(1)
			}
			if r.Header.Get("X-Own") != "" && r.Header.Get("X-Own") != "request" {
				bad.Add(1) // a header the request sets itself wins over the session's
			}
		})
	}
	srvA := newConnServer(t, checkHeaders(&fromA))
	srvB := newConnServer(t, checkHeaders(&fromB))

	reg := NewRegistry()
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		sc := &SessionConfig{Header: http.Header{
			"X-Worker":      {strconv.Itoa(worker)},
			"Authorization": {"Bearer token-" + strconv.Itoa(worker)},
			"X-Own":         {"session"},
		}}
		if worker == 1 {
			sc.BaseURL = srvB.URL // overrides Runner.BaseURL for this worker
		}
		return sc, nil
	})
	reg.Scenario("h", 1, func(ctx context.Context, s *Session) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/h?worker="+strconv.Itoa(s.Worker)), nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Own", "request")
		resp, err := s.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return ExpectStatus(resp, http.StatusOK)
	})
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srvA.URL, Workers: 3, MaxRuns: 4, Quiet: true})
	assert.Equal(t, int64(12), res.OK, "errors:\n%s", resultErrorsText(res))
	assert.Zero(t, bad.Load(), "requests without the session's headers")
	assert.Equal(t, int64(8), fromA.Load(), "requests of workers 0 and 2 to Runner.BaseURL")
	assert.Equal(t, int64(4), fromB.Load(), "requests of worker 1 to its SessionConfig.BaseURL")
}

func TestGlobalTeardownRunsAfterScenarioFailures(t *testing.T) {
	reg := NewRegistry()
	var rec callRecorder
	registerRecordingFixtures(reg, &rec)
	reg.Scenario("fails", 1, func(context.Context, *Session) error { return errors.New("scenario broke") })
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true})
	assert.Equal(t, int64(6), res.Failed)
	got := rec.list()
	require.NotEmpty(t, got)
	assert.Equal(t, "GlobalTeardown", got[len(got)-1])
	byWorker := splitByWorker(got)
	for w := range 2 {
		assert.Equal(t, []string{"Setup", "SetupSession", "TeardownSession", "Teardown"}, byWorker[w], "worker %d", w)
	}
}

func TestTeardownsAfterCancellation(t *testing.T) {
	srv := newOKServer(t)
	reg := NewRegistry()
	var rec callRecorder
	checkCtx := func(where string, ctx context.Context) {
		_, hasDeadline := ctx.Deadline()
		rec.add("%s err=%v deadline=%v", where, ctx.Err(), hasDeadline)
	}
	reg.TeardownSession(func(ctx context.Context, s *Session) error {
		checkCtx(fmt.Sprintf("w%d TeardownSession", s.Worker), ctx)
		// A cleanup call still works after the interrupt.
		resp, err := s.Get(ctx, "/cleanup")
		if err != nil {
			rec.add("w%d cleanup failed: %v", s.Worker, err)
			return err
		}
		resp.Body.Close()
		rec.add("w%d cleanup status %d", s.Worker, resp.StatusCode)
		return nil
	})
	reg.Teardown(func(ctx context.Context, worker int) { checkCtx(fmt.Sprintf("w%d Teardown", worker), ctx) })
	reg.GlobalTeardown(func(ctx context.Context) { checkCtx("GlobalTeardown", ctx) })

	const workers = 2
	var entered sync.WaitGroup
	entered.Add(workers)
	reg.Scenario("blocks", 1, func(ctx context.Context, s *Session) error {
		if s.Step() == 1 {
			entered.Done()
		}
		<-ctx.Done()
		return ctx.Err()
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { entered.Wait(); cancel() }()
	res, elapsed, err := runAndTime(t, ctx, &Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: 10 * time.Second, Quiet: true})
	require.NoError(t, err)
	assert.Less(t, elapsed, 2*time.Second)
	assert.Equal(t, StopCancelled, res.StopReason)
	assertCountsConsistent(t, res)
	assert.Equal(t, int64(0), res.OK)

	got := rec.list()
	byWorker := splitByWorker(got)
	for w := range workers {
		assert.Equal(t, []string{
			"TeardownSession err=<nil> deadline=true",
			"cleanup status 200",
			"Teardown err=<nil> deadline=true",
		}, byWorker[w], "worker %d: teardown contexts must not be cancelled by the run's cancel, and be bounded", w)
	}
	require.NotEmpty(t, got)
	assert.Equal(t, "GlobalTeardown err=<nil> deadline=true", got[len(got)-1])
}

func TestGlobalSetupFailureAbortsTheRun(t *testing.T) {
	errBoom := errors.New("no database")
	tests := []struct {
		name    string
		setup   func(ctx context.Context, r *Runner) error
		wantIs  error
		wantMsg string
	}{
		{"error", func(context.Context, *Runner) error { return errBoom }, errBoom, "no database"},
		{"panic", func(context.Context, *Runner) error { panic("global kaboom") }, nil, "panic: global kaboom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := newConnServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
			reg := NewRegistry()
			var rec callRecorder
			reg.GlobalSetup(tt.setup)
			reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
				rec.add("Setup")
				return nil, nil
			})
			reg.Teardown(func(context.Context, int) { rec.add("Teardown") })
			reg.GlobalTeardown(func(context.Context) { rec.add("GlobalTeardown") })
			reg.OnEvent(func(ev Event) { rec.add("event %v", ev.Kind) })
			reg.Scenario("s", 1, func(ctx context.Context, s *Session) error {
				rec.add("scenario")
				return scenarioGetOK("/")(ctx, s)
			})
			r := &Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 2, Quiet: true}

			res, err := r.Run(context.Background())
			require.Error(t, err)
			assert.Nil(t, res)
			var fe *FixtureError
			require.True(t, errors.As(err, &fe), "error %T %v is not a *FixtureError", err, err)
			assert.Equal(t, "GlobalSetup", fe.Fixture)
			assert.Equal(t, -1, fe.Worker)
			assert.Contains(t, err.Error(), tt.wantMsg)
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}

			run, err := r.Start(context.Background())
			assert.Error(t, err, "Start returns the same error")
			assert.Nil(t, run)

			assert.Empty(t, rec.list(), "nothing may run after a failed GlobalSetup (GlobalTeardown included)")
			assert.Zero(t, requests.Load(), "requests sent after a failed GlobalSetup")
		})
	}
}

func TestSetupFailureStopsOnlyThatWorker(t *testing.T) {
	srv := newOKServer(t)
	reg := NewRegistry()
	var rec callRecorder
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		rec.add("w%d Setup", worker)
		if worker == 1 {
			return nil, errors.New("login refused")
		}
		return nil, nil
	})
	reg.SetupSession(func(ctx context.Context, s *Session) error { rec.add("w%d SetupSession", s.Worker); return nil })
	reg.TeardownSession(func(ctx context.Context, s *Session) error { rec.add("w%d TeardownSession", s.Worker); return nil })
	reg.Teardown(func(ctx context.Context, worker int) { rec.add("w%d Teardown", worker) })
	reg.Scenario("s", 1, func(ctx context.Context, s *Session) error {
		rec.add("w%d run", s.Worker)
		return scenarioGetOK("/")(ctx, s)
	})
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 3, MaxRuns: 2, Quiet: true})

	assert.Equal(t, 1, res.SetupFailed)
	assert.Equal(t, int64(4), res.OK, "workers 0 and 2 run their MaxRuns")
	assert.Equal(t, int64(0), res.Failed, "a failed Setup is not a failed scenario run")
	byWorker := splitByWorker(rec.list())
	assert.Equal(t, []string{"Setup", "Teardown"}, byWorker[1], "worker 1: Teardown still runs after its Setup failed")
	for _, w := range []int{0, 2} {
		assert.Equal(t, []string{"Setup", "SetupSession", "run", "run", "TeardownSession", "Teardown"}, byWorker[w], "worker %d", w)
	}
	assert.Equal(t, []ErrorCount{{Error: "molotov: Setup failed: login refused", Count: 1}}, res.Errors,
		"Result.Errors must name Setup and the cause (the log names the worker)")
}

// A setup error that fails many workers is one line of Result.Errors,
// counted once per worker, without the workers' numbers: the log names
// them, the first worker at the error level, the others under Verbose 1.
func TestSetupErrorsGroupedAcrossWorkers(t *testing.T) {
	const workers = 20
	reg := NewRegistry()
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return nil, errors.New("login refused")
	})
	reg.Scenario("s", 1, scenarioNoop)
	core, logs := observer.New(zapcore.DebugLevel)
	res := runOrFatal(t, &Runner{Registry: reg, Workers: workers, MaxRuns: 1, Logger: zap.New(core)})
	assert.Equal(t, workers, res.SetupFailed)
	assert.Equal(t, []ErrorCount{{Error: "molotov: Setup failed: login refused", Count: workers}}, res.Errors)

	levels := map[zapcore.Level]int{}
	named := map[string]bool{}
	for _, e := range logs.FilterMessage("fixture failed").All() {
		levels[e.Level]++
		msg := fmt.Sprint(e.ContextMap()["error"])
		named[msg] = true
		assert.Contains(t, msg, "login refused")
	}
	assert.Equal(t, map[zapcore.Level]int{zapcore.ErrorLevel: 1, zapcore.DebugLevel: workers - 1}, levels)
	for w := range workers {
		assert.True(t, named[fmt.Sprintf("molotov: Setup failed on worker %d: login refused", w)], "worker %d is not named in the log", w)
	}

	var out lockedBuffer
	runOrFatal(t, &Runner{Registry: reg, Workers: workers, MaxRuns: 1, ConsoleUpdate: time.Hour, Output: &out})
	assert.Regexp(t, `(?m)^Top errors\n\s+20\s+molotov: Setup failed: login refused$`, out.String())
	assert.Equal(t, 1, strings.Count(out.String(), "Setup failed on worker"), "without Verbose, the log names the first worker only")
}

func TestSetupPanicsAndSessionFailuresCountAsSetupFailed(t *testing.T) {
	tests := []struct {
		name     string
		register func(reg *Registry)
		want     []string // in the recorded error
	}{
		{
			name: "Setup panics",
			register: func(reg *Registry) {
				reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
					if worker == 0 {
						panic("setup kaboom")
					}
					return nil, nil
				})
			},
			want: []string{"Setup failed: panic: setup kaboom"},
		},
		{
			name: "SetupSession fails",
			register: func(reg *Registry) {
				reg.SetupSession(func(ctx context.Context, s *Session) error {
					if s.Worker == 0 {
						return errors.New("session refused")
					}
					return nil
				})
			},
			want: []string{"SetupSession failed: session refused"},
		},
		{
			name: "SetupSession panics",
			register: func(reg *Registry) {
				reg.SetupSession(func(ctx context.Context, s *Session) error {
					if s.Worker == 0 {
						panic("session kaboom")
					}
					return nil
				})
			},
			want: []string{"SetupSession failed: panic: session kaboom"},
		},
		{
			name: "Setup returns a bad SessionConfig.BaseURL",
			register: func(reg *Registry) {
				reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
					if worker == 0 {
						return &SessionConfig{BaseURL: "no-scheme.example:80"}, nil
					}
					return nil, nil
				})
			},
			want: []string{"Setup failed: ", "BaseURL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			tt.register(reg)
			var teardowns atomic.Int64
			reg.Teardown(func(context.Context, int) { teardowns.Add(1) })
			var runs entryCounter
			reg.Scenario("s", 1, runs.wrap(scenarioNoop))
			res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 2, Quiet: true})
			assert.Equal(t, 1, res.SetupFailed)
			assert.Equal(t, int64(2), runs.get(), "worker 1 still runs")
			assert.Equal(t, int64(2), res.OK)
			assert.Equal(t, int64(2), teardowns.Load(), "Teardown runs on both workers")
			require.NotEmpty(t, res.Errors)
			found := false
			for _, e := range res.Errors {
				ok := true
				for _, w := range tt.want {
					ok = ok && strings.Contains(e.Error, w)
				}
				found = found || ok
			}
			assert.True(t, found, "want an error containing %q; got:\n%s", tt.want, resultErrorsText(res))
		})
	}
}

func TestAllSetupsFailing(t *testing.T) {
	reg := NewRegistry()
	reg.Setup(func(context.Context, int, *Runner) (*SessionConfig, error) { return nil, errors.New("nope") })
	var runs entryCounter
	reg.Scenario("s", 1, runs.wrap(scenarioNoop))
	var globalTeardown atomic.Int64
	reg.GlobalTeardown(func(context.Context) { globalTeardown.Add(1) })
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{Registry: reg, Workers: 3, Duration: 5 * time.Second, Quiet: true})
	require.NoError(t, err)
	assert.Less(t, elapsed, 2*time.Second, "a run whose every worker failed its Setup ends at once")
	assert.Equal(t, 3, res.SetupFailed)
	assert.Zero(t, runs.get())
	assert.NotEmpty(t, res.StopReason)
	assert.Equal(t, int64(1), globalTeardown.Load())
}

func TestTeardownPanicsAreLoggedNotFatal(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		register func(reg *Registry, rec *callRecorder)
	}{
		{
			name:    "GlobalTeardown panics",
			fixture: "GlobalTeardown",
			register: func(reg *Registry, rec *callRecorder) {
				reg.TeardownSession(func(ctx context.Context, s *Session) error { rec.add("TeardownSession"); return nil })
				reg.Teardown(func(context.Context, int) { rec.add("Teardown") })
				reg.GlobalTeardown(func(context.Context) { rec.add("GlobalTeardown"); panic("gt kaboom") })
			},
		},
		{
			name:    "Teardown panics",
			fixture: "Teardown",
			register: func(reg *Registry, rec *callRecorder) {
				reg.TeardownSession(func(ctx context.Context, s *Session) error { rec.add("TeardownSession"); return nil })
				reg.Teardown(func(context.Context, int) { rec.add("Teardown"); panic("td kaboom") })
				reg.GlobalTeardown(func(context.Context) { rec.add("GlobalTeardown") })
			},
		},
		{
			name:    "TeardownSession panics",
			fixture: "TeardownSession",
			register: func(reg *Registry, rec *callRecorder) {
				reg.TeardownSession(func(ctx context.Context, s *Session) error { rec.add("TeardownSession"); panic("ts kaboom") })
				reg.Teardown(func(context.Context, int) { rec.add("Teardown") })
				reg.GlobalTeardown(func(context.Context) { rec.add("GlobalTeardown") })
			},
		},
		{
			name:    "TeardownSession fails",
			fixture: "TeardownSession",
			register: func(reg *Registry, rec *callRecorder) {
				reg.TeardownSession(func(ctx context.Context, s *Session) error {
					rec.add("TeardownSession")
					return errors.New("logout refused")
				})
				reg.Teardown(func(context.Context, int) { rec.add("Teardown") })
				reg.GlobalTeardown(func(context.Context) { rec.add("GlobalTeardown") })
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			var rec callRecorder
			tt.register(reg, &rec)
			reg.Scenario("s", 1, scenarioNoop)
			core, logs := observer.New(zapcore.DebugLevel)
			res, err := (&Runner{Registry: reg, Workers: 2, MaxRuns: 2, Quiet: true, Logger: zap.New(core)}).Run(context.Background())
			require.NoError(t, err, "a failing teardown is not fatal")
			require.NotNil(t, res)
			assert.Equal(t, int64(4), res.OK)
			assert.Equal(t, 0, res.SetupFailed)

			calls := map[string]int{}
			for _, c := range rec.list() {
				calls[c]++
			}
			assert.Equal(t, map[string]int{"TeardownSession": 2, "Teardown": 2, "GlobalTeardown": 1}, calls,
				"every teardown still runs")

			var logged []string
			for _, e := range logs.All() {
				logged = append(logged, fmt.Sprintf("%s %v", e.Message, e.ContextMap()))
			}
			found := false
			for _, l := range logged {
				if strings.Contains(l, tt.fixture) {
					found = true
				}
			}
			assert.True(t, found, "the %s failure must be logged; logs: %q", tt.fixture, logged)
		})
	}
}

func TestEventsReachEveryHandler(t *testing.T) {
	srv := newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	reg := NewRegistry()
	reg.Scenario("bad", 1, func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/bad")
		if err != nil {
			return err
		}
		return ExpectStatus(resp, http.StatusOK) // body left open on purpose
	})
	reg.Scenario("ok", 1, scenarioGetOK("/ok"))

	type handlerLog struct {
		mu     sync.Mutex
		events []Event
	}
	logs := []*handlerLog{{}, {}}
	for _, l := range logs {
		reg.OnEvent(func(ev Event) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.events = append(l.events, ev)
		})
	}
	const workers = 2
	res := runOrFatal(t, &Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, SingleRun: true, Quiet: true})
	assert.Equal(t, int64(2), res.OK)
	assert.Equal(t, int64(2), res.Failed)

	want := []string{
		"ScenarioStart bad", "SendingRequest bad", "ResponseReceived bad", "ScenarioFailure bad",
		"ScenarioStart ok", "SendingRequest ok", "ResponseReceived ok", "ScenarioSuccess ok",
	}
	for i, l := range logs {
		l.mu.Lock()
		events := append([]Event(nil), l.events...)
		l.mu.Unlock()
		byWorker := map[int][]string{}
		for _, ev := range events {
			if ev.Kind == CurrentWorkers {
				continue
			}
			assert.False(t, ev.Time.IsZero(), "%v without a Time", ev.Kind)
			if !assert.True(t, ev.Worker >= 0 && ev.Worker < workers, "%v with Worker %d", ev.Kind, ev.Worker) {
				continue
			}
			byWorker[ev.Worker] = append(byWorker[ev.Worker], ev.Kind.String()+" "+ev.Scenario)
			switch ev.Kind {
			case SendingRequest:
				assert.NotNil(t, ev.Request, "SendingRequest without a Request")
			case ResponseReceived:
				if assert.NotNil(t, ev.Response, "ResponseReceived without a Response") {
					wantStatus := http.StatusOK
					if ev.Scenario == "bad" {
						wantStatus = http.StatusInternalServerError
					}
					assert.Equal(t, wantStatus, ev.Response.StatusCode)
				}
				assert.NotNil(t, ev.Request, "ResponseReceived without a Request")
			case ScenarioFailure:
				var se *StatusError
				assert.ErrorAs(t, ev.Err, &se, "ScenarioFailure carries the scenario's error")
			case ScenarioStart, ScenarioSuccess:
				assert.NoError(t, ev.Err)
			}
		}
		for w := range workers {
			assert.Equal(t, want, byWorker[w], "handler %d, worker %d", i, w)
		}
	}
}

func TestPanickingEventHandlerIsNotFatal(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("s", 1, scenarioNoop)
	var calls atomic.Int64
	reg.OnEvent(func(Event) { panic("handler kaboom") })
	reg.OnEvent(func(Event) { calls.Add(1) })
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true})
	assert.Equal(t, int64(6), res.OK, "a panicking handler must not fail scenario runs")
	assert.Equal(t, int64(0), res.Failed)
	assert.GreaterOrEqual(t, calls.Load(), int64(12), "the next handler still receives every event")
}

func TestFixtureRegistrationMistakesPanic(t *testing.T) {
	noop := func(context.Context) {}
	tests := []struct {
		kind     string
		register func(r *Registry, nilFunc bool)
	}{
		{"GlobalSetup", func(r *Registry, n bool) {
			fn := func(context.Context, *Runner) error { return nil }
			if n {
				fn = nil
			}
			r.GlobalSetup(fn)
		}},
		{"Setup", func(r *Registry, n bool) {
			fn := func(context.Context, int, *Runner) (*SessionConfig, error) { return nil, nil }
			if n {
				fn = nil
			}
			r.Setup(fn)
		}},
		{"SetupSession", func(r *Registry, n bool) {
			fn := func(context.Context, *Session) error { return nil }
			if n {
				fn = nil
			}
			r.SetupSession(fn)
		}},
		{"TeardownSession", func(r *Registry, n bool) {
			fn := func(context.Context, *Session) error { return nil }
			if n {
				fn = nil
			}
			r.TeardownSession(fn)
		}},
		{"Teardown", func(r *Registry, n bool) {
			fn := func(context.Context, int) {}
			if n {
				fn = nil
			}
			r.Teardown(fn)
		}},
		{"GlobalTeardown", func(r *Registry, n bool) {
			fn := noop
			if n {
				fn = nil
			}
			r.GlobalTeardown(fn)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			assertPanicsNaming(t, func() { tt.register(NewRegistry(), true) }, tt.kind, "nil func")
			r := NewRegistry()
			tt.register(r, false)
			assertPanicsNaming(t, func() { tt.register(r, false) }, tt.kind, "registered twice")
		})
	}
}

// A run cancelled as GlobalSetup ends starts no worker: no Setup is called
// with a context that is already cancelled, GlobalTeardown runs, and Run
// says why.
func TestCancelledDuringGlobalSetupStartsNoWorker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, entered := noHTTPRegistry(nil)
	var setups, teardowns atomic.Int64
	reg.GlobalSetup(func(context.Context, *Runner) error { cancel(); return nil })
	reg.Setup(func(context.Context, int, *Runner) (*SessionConfig, error) { setups.Add(1); return nil, nil })
	reg.GlobalTeardown(func(context.Context) { teardowns.Add(1) })
	res, err := (&Runner{Registry: reg, Workers: 3, MaxRuns: 1, Quiet: true}).Run(ctx)
	assert.Nil(t, res)
	require.ErrorIs(t, err, ErrSetupInterrupted)
	assert.Zero(t, setups.Load())
	assert.Zero(t, entered.Load())
	assert.EqualValues(t, 1, teardowns.Load())
}
