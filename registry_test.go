package molotov

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryScenarioMistakesPanicNamingTheScenario(t *testing.T) {
	tests := []struct {
		name     string
		register func(r *Registry)
		want     []string // substrings of the panic message
	}{
		{
			name:     "empty name",
			register: func(r *Registry) { r.Scenario("", 1, scenarioNoop) },
			want:     []string{"empty name"},
		},
		{
			name:     "negative weight",
			register: func(r *Registry) { r.Scenario("heavy_one", -1, scenarioNoop) },
			want:     []string{`"heavy_one"`, "negative weight", "-1"},
		},
		{
			name:     "nil func",
			register: func(r *Registry) { r.Scenario("no_func", 1, nil) },
			want:     []string{`"no_func"`, "nil func"},
		},
		{
			name: "duplicate name",
			register: func(r *Registry) {
				r.Scenario("twice", 1, scenarioNoop)
				r.Scenario("twice", 2, scenarioNoop)
			},
			want: []string{`"twice"`, "registered twice"},
		},
		{
			name:     "negative Delay",
			register: func(r *Registry) { r.Scenario("slowpoke", 1, scenarioNoop, Delay(-time.Second)) },
			want:     []string{`"slowpoke"`, "negative Delay"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			assertPanicsNaming(t, func() { tt.register(reg) }, tt.want...)
		})
	}
}

func TestRegistryDuplicateDoesNotReplaceTheFirst(t *testing.T) {
	reg := NewRegistry()
	var first, second entryCounter
	reg.Scenario("dup", 1, first.wrap(scenarioNoop))
	_, panicked := recoverPanic(func() { reg.Scenario("dup", 1, second.wrap(scenarioNoop)) })
	require.True(t, panicked, "second registration of the same name must panic")

	res := runOrFatal(t, &Runner{Registry: reg, MaxRuns: 3, Quiet: true})
	assert.Equal(t, int64(3), first.get(), "runs of the first registration")
	assert.Equal(t, int64(0), second.get(), "runs of the rejected registration")
	assert.Equal(t, int64(3), res.OK)
}

func TestRegistrySecondPickerPanics(t *testing.T) {
	reg := NewRegistry()
	reg.ScenarioPicker(func(int, int) string { return "a" })
	assertPanicsNaming(t, func() { reg.ScenarioPicker(func(int, int) string { return "b" }) }, "ScenarioPicker", "twice")
	assertPanicsNaming(t, func() { NewRegistry().ScenarioPicker(nil) }, "ScenarioPicker", "nil")
}

func TestRegistrySecondFixtureOfAKindPanics(t *testing.T) {
	kinds := []struct {
		kind     string
		register func(r *Registry)
		nilFunc  func(r *Registry)
	}{
		{
			kind:     "GlobalSetup",
			register: func(r *Registry) { r.GlobalSetup(func(context.Context, *Runner) error { return nil }) },
			nilFunc:  func(r *Registry) { r.GlobalSetup(nil) },
		},
		{
			kind: "Setup",
			register: func(r *Registry) {
				r.Setup(func(context.Context, int, *Runner) (*SessionConfig, error) { return nil, nil })
			},
			nilFunc: func(r *Registry) { r.Setup(nil) },
		},
		{
			kind:     "SetupSession",
			register: func(r *Registry) { r.SetupSession(func(context.Context, *Session) error { return nil }) },
			nilFunc:  func(r *Registry) { r.SetupSession(nil) },
		},
		{
			kind:     "TeardownSession",
			register: func(r *Registry) { r.TeardownSession(func(context.Context, *Session) error { return nil }) },
			nilFunc:  func(r *Registry) { r.TeardownSession(nil) },
		},
		{
			kind:     "Teardown",
			register: func(r *Registry) { r.Teardown(func(context.Context, int) {}) },
			nilFunc:  func(r *Registry) { r.Teardown(nil) },
		},
		{
			kind:     "GlobalTeardown",
			register: func(r *Registry) { r.GlobalTeardown(func(context.Context) {}) },
			nilFunc:  func(r *Registry) { r.GlobalTeardown(nil) },
		},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			reg := NewRegistry()
			_, panicked := recoverPanic(func() { k.register(reg) })
			require.False(t, panicked, "first registration must not panic")
			assertPanicsNaming(t, func() { k.register(reg) }, k.kind, "twice")
			assertPanicsNaming(t, func() { k.nilFunc(NewRegistry()) }, k.kind, "nil")
		})
	}

	t.Run("OnEvent allows several handlers", func(t *testing.T) {
		reg := NewRegistry()
		_, panicked := recoverPanic(func() {
			reg.OnEvent(func(Event) {})
			reg.OnEvent(func(Event) {})
		})
		assert.False(t, panicked)
		assertPanicsNaming(t, func() { reg.OnEvent(nil) }, "OnEvent", "nil")
	})
}

func TestRegistryVarsConcurrent(t *testing.T) {
	reg := NewRegistry()
	const goroutines, writes = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("own-%d", g)
			for i := range writes {
				reg.SetVar(own, i)
				reg.SetVar("shared", g)
				if v, ok := reg.Var("shared"); ok {
					_ = v.(int)
				}
				if v, ok := reg.Var(own); !ok || v.(int) != i {
					t.Errorf("Var(%q) = %v, %v right after SetVar(%d)", own, v, ok, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	for g := range goroutines {
		got, ok := reg.Var(fmt.Sprintf("own-%d", g))
		assert.True(t, ok)
		assert.Equal(t, writes-1, got)
	}
	got, ok := reg.Var("shared")
	assert.True(t, ok)
	assert.GreaterOrEqual(t, got.(int), 0)
	assert.Less(t, got.(int), goroutines)

	_, ok = reg.Var("never-set")
	assert.False(t, ok, "Var of a key never set")
}

func TestRegistryVarsSharedByWorkersAndKeptAfterRun(t *testing.T) {
	reg := NewRegistry()
	reg.SetVar("token", "abc")
	var seen callRecorder
	reg.Scenario("use_vars", 1, func(ctx context.Context, s *Session) error {
		v, ok := reg.Var("token")
		seen.add("%v/%v", v, ok)
		reg.SetVar(fmt.Sprintf("worker-%d", s.Worker), s.Step())
		return nil
	})
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 3, MaxRuns: 2, Quiet: true})
	assert.Equal(t, int64(6), res.OK)
	for _, got := range seen.list() {
		assert.Equal(t, "abc/true", got, "value of a var set before the run, read by a worker")
	}
	for w := range 3 {
		got, ok := reg.Var(fmt.Sprintf("worker-%d", w))
		assert.True(t, ok, "var set by worker %d during the run must survive it", w)
		assert.Equal(t, 2, got)
	}
	got, _ := reg.Var("token")
	assert.Equal(t, "abc", got, "a run must not reset vars")
}

// useFreshDefaultRegistry swaps DefaultRegistry for an empty one for the
// duration of the test, so registering through the package-level twins
// leaves nothing behind for other tests.
func useFreshDefaultRegistry(t *testing.T) *Registry {
	t.Helper()
	old := DefaultRegistry
	fresh := NewRegistry()
	DefaultRegistry = fresh
	t.Cleanup(func() { DefaultRegistry = old })
	return fresh
}

func TestPackageLevelTwinsActOnDefaultRegistry(t *testing.T) {
	reg := useFreshDefaultRegistry(t)
	var calls callRecorder

	Scenario("twin_scenario", 1, func(ctx context.Context, s *Session) error {
		calls.add("scenario")
		return nil
	}, Delay(0))
	ScenarioPicker(func(worker, step int) string { calls.add("picker"); return "twin_scenario" })
	GlobalSetup(func(context.Context, *Runner) error { calls.add("GlobalSetup"); return nil })
	Setup(func(context.Context, int, *Runner) (*SessionConfig, error) { calls.add("Setup"); return nil, nil })
	SetupSession(func(context.Context, *Session) error { calls.add("SetupSession"); return nil })
	TeardownSession(func(context.Context, *Session) error { calls.add("TeardownSession"); return nil })
	Teardown(func(context.Context, int) { calls.add("Teardown") })
	GlobalTeardown(func(context.Context) { calls.add("GlobalTeardown") })
	OnEvent(func(ev Event) {
		if ev.Kind == ScenarioStart {
			calls.add("event")
		}
	})
	SetVar("twin_var", 42)

	// The registrations landed on DefaultRegistry itself.
	reg.mu.Lock()
	_, hasScenario := reg.scenarios["twin_scenario"]
	hasPicker := reg.picker != nil
	fx := reg.fixtures
	handlers := len(reg.handlers)
	reg.mu.Unlock()
	assert.True(t, hasScenario, "Scenario twin registers on DefaultRegistry")
	assert.True(t, hasPicker, "ScenarioPicker twin registers on DefaultRegistry")
	assert.NotNil(t, fx.globalSetup, "GlobalSetup twin")
	assert.NotNil(t, fx.setup, "Setup twin")
	assert.NotNil(t, fx.setupSession, "SetupSession twin")
	assert.NotNil(t, fx.teardownSession, "TeardownSession twin")
	assert.NotNil(t, fx.teardown, "Teardown twin")
	assert.NotNil(t, fx.globalTeardown, "GlobalTeardown twin")
	assert.Equal(t, 1, handlers, "OnEvent twin")

	v, ok := reg.Var("twin_var")
	assert.True(t, ok, "SetVar twin stores in DefaultRegistry")
	assert.Equal(t, 42, v)
	v, ok = Var("twin_var")
	assert.True(t, ok, "Var twin reads DefaultRegistry")
	assert.Equal(t, 42, v)
	reg.SetVar("other_var", "x")
	v, _ = Var("other_var")
	assert.Equal(t, "x", v)

	// Twins panic like the methods.
	assertPanicsNaming(t, func() { Scenario("twin_scenario", 1, scenarioNoop) }, `"twin_scenario"`)
	assertPanicsNaming(t, func() { Teardown(func(context.Context, int) {}) }, "Teardown", "twice")

	// A Runner without a Registry runs DefaultRegistry.
	res := runOrFatal(t, &Runner{MaxRuns: 2, Quiet: true})
	assert.Equal(t, int64(2), res.OK)
	assert.Equal(t, []string{
		"GlobalSetup", "Setup", "SetupSession",
		"picker", "event", "scenario",
		"picker", "event", "scenario",
		"TeardownSession", "Teardown", "GlobalTeardown",
	}, calls.list())
}

// pearsonChiSquare returns Pearson's statistic of observed counts against
// expected ones.
func pearsonChiSquare(observed, expected []float64) float64 {
	var x2 float64
	for i := range observed {
		d := observed[i] - expected[i]
		x2 += d * d / expected[i]
	}
	return x2
}

func TestWeightedPickFollowsWeights(t *testing.T) {
	// Weights 1, 3, 6 and two weight-0 scenarios placed before, among and
	// after the others in name order.
	weights := []struct {
		name   string
		weight int
	}{
		{"a_zero", 0}, {"b_w1", 1}, {"c_zero", 0}, {"d_w3", 3}, {"e_w6", 6}, {"f_zero", 0},
	}
	const workers, maxRuns = 2, 50_000
	const total = workers * maxRuns

	reg := NewRegistry()
	counts := make(map[string]*entryCounter, len(weights))
	for _, w := range weights {
		c := &entryCounter{}
		counts[w.name] = c
		reg.Scenario(w.name, w.weight, c.wrap(scenarioNoop))
	}
	res := runOrFatal(t, &Runner{Registry: reg, Workers: workers, MaxRuns: maxRuns, Seed: 20240601, Quiet: true})
	require.Equal(t, int64(total), res.Started)

	sumWeights := 0
	for _, w := range weights {
		sumWeights += w.weight
	}
	var observed, expected []float64
	for _, w := range weights {
		got := counts[w.name].get()
		assert.Equal(t, got, scenarioOf(t, res, w.name).OK, "Result.Scenarios[%q].OK vs entries", w.name)
		if w.weight == 0 {
			assert.Zero(t, got, "weight-0 scenario %q picked", w.name)
			continue
		}
		observed = append(observed, float64(got))
		expected = append(expected, float64(total)*float64(w.weight)/float64(sumWeights))
	}
	// 3 categories with a positive weight: 2 degrees of freedom; the
	// critical value of chi-square(2) at p = 0.001 is 13.816.
	const critical = 13.816
	x2 := pearsonChiSquare(observed, expected)
	t.Logf("observed %v, expected %v, chi-square %.3f (critical %.3f)", observed, expected, x2, critical)
	assert.Less(t, x2, critical, "chi-square goodness of fit rejects the weights 1:3:6")
	assert.False(t, math.IsNaN(x2))
}

func TestSingleModeRunsAWeightZeroScenario(t *testing.T) {
	reg := NewRegistry()
	var zero, other entryCounter
	reg.Scenario("zero", 0, zero.wrap(scenarioNoop))
	reg.Scenario("other", 1, other.wrap(scenarioNoop))
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, SingleMode: "zero", Quiet: true})
	assert.Equal(t, int64(6), zero.get(), "runs of the SingleMode scenario")
	assert.Equal(t, int64(0), other.get(), "runs of the other scenario")
	assert.Equal(t, int64(6), scenarioOf(t, res, "zero").OK)
	assert.Equal(t, int64(0), scenarioOf(t, res, "other").OK, "a scenario that never ran is still in the Result")
	assert.Equal(t, StopMaxRuns, res.StopReason)
}

func TestScenarioPickerOverridesWeights(t *testing.T) {
	names := []string{"alpha", "beta", "gamma"}
	reg := NewRegistry()
	var runs callRecorder
	for i, name := range names {
		weight := []int{100, 0, 1}[i] // the picker ignores weights, weight 0 included
		reg.Scenario(name, weight, func(ctx context.Context, s *Session) error {
			runs.add("w%d step%d %s", s.Worker, s.Step(), name)
			return nil
		})
	}
	var mu sync.Mutex
	calls := map[int][]int{} // worker → steps, in call order
	reg.ScenarioPicker(func(worker, step int) string {
		mu.Lock()
		calls[worker] = append(calls[worker], step)
		mu.Unlock()
		return names[(worker+step)%len(names)]
	})
	const workers, maxRuns = 2, 6
	res := runOrFatal(t, &Runner{Registry: reg, Workers: workers, MaxRuns: maxRuns, Seed: 1, Quiet: true})
	assert.Equal(t, int64(workers*maxRuns), res.OK)

	splitByWorker := map[int][]string{}
	for _, r := range runs.list() {
		var w int
		fmt.Sscanf(r, "w%d", &w)
		splitByWorker[w] = append(splitByWorker[w], r)
	}
	for w := range workers {
		var wantSteps []int
		var wantRuns []string
		for step := 1; step <= maxRuns; step++ {
			wantSteps = append(wantSteps, step)
			wantRuns = append(wantRuns, fmt.Sprintf("w%d step%d %s", w, step, names[(w+step)%len(names)]))
		}
		mu.Lock()
		assert.Equal(t, wantSteps, calls[w], "picker calls of worker %d (steps from 1)", w)
		mu.Unlock()
		assert.Equal(t, wantRuns, splitByWorker[w], "scenarios run by worker %d", w)
	}
	assert.Positive(t, scenarioOf(t, res, "beta").OK, "a weight-0 scenario chosen by the picker runs")
}

func TestScenarioPickerUnknownNameIsACountedFailure(t *testing.T) {
	reg := NewRegistry()
	var realRuns entryCounter
	reg.Scenario("real", 1, realRuns.wrap(scenarioNoop))
	reg.ScenarioPicker(func(worker, step int) string {
		if step%2 == 0 {
			return "ghost_scenario"
		}
		return "real"
	})
	const workers, maxRuns = 2, 4
	res := runOrFatal(t, &Runner{Registry: reg, Workers: workers, MaxRuns: maxRuns, Quiet: true})
	assert.Equal(t, int64(workers*maxRuns), res.Started)
	assert.Equal(t, int64(4), res.OK)
	assert.Equal(t, int64(4), res.Failed, "steps where the picker returned an unknown name")
	assert.Equal(t, int64(4), realRuns.get())
	assertCountsConsistent(t, res)
	assert.Equal(t, int64(4), resultErrorCount(res, `"ghost_scenario"`),
		"Result.Errors must name the bad name for every failed step; got:\n%s", resultErrorsText(res))
}

func TestScenarioPickerPanicIsACountedFailure(t *testing.T) {
	reg := NewRegistry()
	var runs entryCounter
	reg.Scenario("s", 1, runs.wrap(scenarioNoop))
	reg.ScenarioPicker(func(worker, step int) string {
		if step == 2 {
			panic("picker kaboom")
		}
		return "s"
	})
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true})
	assert.Equal(t, int64(6), res.Started)
	assert.Equal(t, int64(4), res.OK)
	assert.Equal(t, int64(2), res.Failed)
	assert.Equal(t, int64(4), runs.get())
	assert.Equal(t, int64(2), resultErrorCount(res, "picker kaboom"), "errors:\n%s", resultErrorsText(res))
}

func TestRegistryChangesDuringARunDoNotAffectIt(t *testing.T) {
	reg := NewRegistry()
	var late entryCounter
	reg.Scenario("registers", 1, func(ctx context.Context, s *Session) error {
		// Registering while a run reads the registry is safe, and the
		// running run keeps what it started with.
		reg.Scenario(fmt.Sprintf("late_w%d_s%d", s.Worker, s.Step()), 1000, late.wrap(scenarioNoop))
		reg.OnEvent(func(Event) {})
		return nil
	})
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 5, Quiet: true})
	assert.Equal(t, int64(10), res.OK)
	assert.Zero(t, late.get(), "scenarios registered during the run must not run in it")
	assert.Len(t, res.Scenarios, 1, "the Result lists the scenarios the run started with")

	res = runOrFatal(t, &Runner{Registry: reg, SingleMode: "late_w0_s1", MaxRuns: 1, Quiet: true})
	assert.Equal(t, int64(1), late.get(), "the next run sees them")
	assert.Len(t, res.Scenarios, 11)
}

func TestSameSeedSamePicks(t *testing.T) {
	record := func(seed int64) map[int][]string {
		t.Helper()
		reg := NewRegistry()
		var mu sync.Mutex
		seq := map[int][]string{}
		for i, name := range []string{"a", "b", "c"} {
			reg.Scenario(name, i+1, func(ctx context.Context, s *Session) error {
				mu.Lock()
				seq[s.Worker] = append(seq[s.Worker], name)
				mu.Unlock()
				return nil
			})
		}
		runOrFatal(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 300, Seed: seed, Quiet: true})
		return seq
	}
	first, second, other := record(7), record(7), record(8)
	require.Len(t, first[0], 300)
	require.Len(t, first[1], 300)
	assert.Equal(t, first, second, "two runs with the same Seed pick the same per-worker sequences")
	assert.NotEqual(t, first, other, "runs with different seeds should pick differently")
	assert.NotEqual(t, first[0], first[1], "workers should not all pick the same sequence")
}
