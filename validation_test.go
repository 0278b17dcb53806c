package molotov

import (
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validationRegistry has scenarios "a" (weight 1) and "b" (weight 0, with
// a one-hour Delay) that count their entries, and a GlobalSetup that
// counts its calls: a refused configuration must run none of them.
func validationRegistry() (*Registry, *atomic.Int64) {
	var entered atomic.Int64
	reg := NewRegistry()
	count := func(context.Context, *Session) error { entered.Add(1); return nil }
	reg.Scenario("a", 1, count)
	reg.Scenario("b", 0, count, Delay(time.Hour))
	reg.GlobalSetup(func(context.Context, *Runner) error { entered.Add(1000); return nil })
	return reg, &entered
}

// Every Runner field with a value that cannot work is refused before
// anything runs, with a *ConfigError that names the field and says what it
// accepts.
func TestValidationRefusesEveryBadField(t *testing.T) {
	tests := []struct {
		name   string
		runner Runner
		field  string
		want   []string // substrings of the message, besides the field
	}{
		{"Workers negative", Runner{Workers: -1}, "Workers", []string{"negative (-1)", "1 to 1000000", "zero means 1"}},
		{"Workers too many", Runner{Workers: maxWorkers + 1}, "Workers", []string{"1000001", "above 1000000"}},
		{"Duration negative", Runner{Duration: -time.Second}, "Duration", []string{"negative (-1s)", ">= 0", "no time limit"}},
		{"MaxRuns negative", Runner{MaxRuns: -3}, "MaxRuns", []string{"negative (-3)", ">= 0"}},
		{"RampUp negative", Runner{RampUp: -time.Second}, "RampUp", []string{"negative (-1s)", "may be longer than Duration"}},
		{"RampUp too long for the workers", Runner{Workers: 1001, RampUp: maxDuration / 100}, "RampUp", []string{"1001 workers", "at most " + time.Duration(math.MaxInt64/1000).String()}},
		{"Delay negative", Runner{Delay: -time.Millisecond}, "Delay", []string{"negative (-1ms)", ">= 0"}},
		{"Delay with a scenario's Delay overflows", Runner{Delay: maxDuration - time.Minute}, "Delay", []string{`"b"`, "Delay(1h0m0s)", "shorter"}},
		{"MaxFailures negative", Runner{MaxFailures: -1}, "MaxFailures", []string{"negative (-1)", "never stop for failures"}},
		{"SingleMode unknown", Runner{SingleMode: "nope"}, "SingleMode", []string{`"nope"`, "registered scenarios: a, b"}},
		{"SingleMode with SingleRun", Runner{SingleMode: "a", SingleRun: true}, "SingleMode", []string{"SingleRun"}},
		{"SizingTolerance negative", Runner{SizingTolerance: -1}, "SizingTolerance", []string{"is -1", "at most 100", "zero means 5"}},
		{"SizingTolerance above 100", Runner{SizingTolerance: 100.5}, "SizingTolerance", []string{"is 100.5", "at most 100"}},
		{"SizingTolerance NaN", Runner{SizingTolerance: math.NaN()}, "SizingTolerance", []string{"NaN", "at most 100"}},
		{"SizingTolerance infinite", Runner{Sizing: true, SizingTolerance: math.Inf(1)}, "SizingTolerance", []string{"+Inf", "at most 100"}},
		{"RequestTimeout negative", Runner{RequestTimeout: -time.Second}, "RequestTimeout", []string{"negative (-1s)", "zero means 30s"}},
		{"MaxResponseBytes negative", Runner{MaxResponseBytes: -1}, "MaxResponseBytes", []string{"negative (-1)", "64 MiB"}},
		{"ConsoleUpdate negative", Runner{ConsoleUpdate: -time.Millisecond}, "ConsoleUpdate", []string{"negative (-1ms)", "at least 1ms"}},
		{"ConsoleUpdate too fast", Runner{ConsoleUpdate: time.Microsecond}, "ConsoleUpdate", []string{"1µs", "at least 1ms"}},
		{"Verbose negative", Runner{Verbose: -1}, "Verbose", []string{"is -1", "0 (no detail), 1", "or 2"}},
		{"Verbose above 2", Runner{Verbose: 3}, "Verbose", []string{"is 3", "or 2"}},
		{"Verbose with Quiet", Runner{Verbose: 1, Quiet: true}, "Verbose", []string{"Quiet"}},
		{"BaseURL does not parse", Runner{BaseURL: "http://[::1"}, "BaseURL", []string{`"http://[::1"`, "does not parse"}},
		{"BaseURL without scheme", Runner{BaseURL: "127.0.0.1:8080"}, "BaseURL", []string{"127.0.0.1:8080"}},
		{"BaseURL with another scheme", Runner{BaseURL: "ws://127.0.0.1/"}, "BaseURL", []string{"http:// or https://"}},
		{"BaseURL without host", Runner{BaseURL: "https:///items"}, "BaseURL", []string{"no host"}},
		{"BaseURL with a query", Runner{BaseURL: "http://127.0.0.1/api?key=1"}, "BaseURL", []string{"?key=1", "query", "each request's URL"}},
		{"BaseURL with a fragment", Runner{BaseURL: "http://127.0.0.1/api#top"}, "BaseURL", []string{"#top", "fragment"}},
		{"ResultFile is a directory", Runner{ResultFile: "."}, "ResultFile", []string{`"."`, "is a directory", "result.json"}},
		{"ResultFile ends with a separator", Runner{ResultFile: "results/"}, "ResultFile", []string{`"results/"`, "results/result.json"}},
		{"ResultFile with a NUL byte", Runner{ResultFile: "out\x00.json"}, "ResultFile", []string{"NUL"}},
		{"Registry empty", Runner{Registry: NewRegistry()}, "Registry", []string{"no scenario registered"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, entered := validationRegistry()
			r := tt.runner
			if r.Registry == nil {
				r.Registry = reg
			}
			if r.MaxRuns == 0 {
				r.MaxRuns = 1 // bounded, should the configuration be wrongly accepted
			}
			r.Output = io.Discard

			res, err := r.Run(context.Background())
			assert.Nil(t, res)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "error %T %v is not a *ConfigError", err, err)
			assert.Equal(t, tt.field, ce.Field)
			msg := err.Error()
			assert.Contains(t, msg, "bad configuration: "+tt.field+": ", "the message names the field")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}

			run, err := r.Start(context.Background())
			assert.Nil(t, run)
			assert.True(t, errors.As(err, &ce), "Start: %v", err)
			assert.Zero(t, entered.Load(), "neither GlobalSetup nor a scenario may run")
		})
	}
}

// The boundaries of each range are accepted.
func TestValidationAcceptsBoundaryValues(t *testing.T) {
	reg, _ := validationRegistry()
	snap := reg.snapshot()
	tests := []struct {
		name   string
		runner Runner
	}{
		{"zero value", Runner{}},
		{"Workers at the maximum", Runner{Workers: maxWorkers}},
		{"Sizing defaults", Runner{Sizing: true}},
		{"longest durations", Runner{Duration: maxDuration, RequestTimeout: maxDuration, ConsoleUpdate: maxDuration}},
		{"longest RampUp for the workers", Runner{Workers: 1001, RampUp: time.Duration(math.MaxInt64 / 1000)}},
		{"longest RampUp for one worker", Runner{RampUp: maxDuration}},
		{"Delay and scenario Delay up to the maximum", Runner{Delay: maxDuration - time.Hour}},
		{"largest counts", Runner{MaxRuns: math.MaxInt, MaxFailures: math.MaxInt, MaxResponseBytes: math.MaxInt64, Seed: math.MinInt64}},
		{"ConsoleUpdate at its minimum", Runner{ConsoleUpdate: minConsoleUpdate}},
		{"SizingTolerance at 100", Runner{Sizing: true, SizingTolerance: 100}},
		{"SizingTolerance tiny", Runner{SizingTolerance: 1e-9}},
		{"Verbose 2", Runner{Verbose: 2}},
		{"Quiet without Verbose", Runner{Quiet: true}},
		{"BaseURL with a path and a slash", Runner{BaseURL: "https://example.com:8443/api/v1/"}},
		{"BaseURL IPv6 with user info", Runner{BaseURL: "http://user:pw@[::1]:8080"}},
		{"ResultFile in a directory that does not exist yet", Runner{ResultFile: filepath.Join(t.TempDir(), "later", "out.json")}},
		{"SingleMode of a weight-0 scenario", Runner{SingleMode: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.runner
			r.Registry = reg
			cfg := r.withDefaults()
			assert.NoError(t, cfg.validate(&snap))
		})
	}
}

// RampUp longer than Duration is allowed (it is Molotov's behaviour and
// the package documents it): the workers due after Duration never start,
// and the run still ends at Duration.
func TestValidationRampUpLongerThanDurationRuns(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("a", 1, func(ctx context.Context, s *Session) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	res, elapsed, err := runAndTime(t, context.Background(), &Runner{Registry: reg, Workers: 4, RampUp: time.Hour, Duration: 200 * time.Millisecond, Quiet: true})
	require.NoError(t, err)
	assert.Less(t, elapsed, 5*time.Second)
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Equal(t, 1, res.MaxWorkers, "only worker 0 is due within Duration")
	assert.Positive(t, res.OK)
}

// Registration mistakes that registry_test.go does not cover: each panics
// with a message naming the scenario.
func TestRegistryScenarioRangeMistakesPanic(t *testing.T) {
	tests := []struct {
		name     string
		register func(r *Registry)
		want     []string
	}{
		{
			name:     "weight above the maximum",
			register: func(r *Registry) { r.Scenario("huge", maxWeight+1, scenarioNoop) },
			want:     []string{`"huge"`, "1073741825", "above 1073741824", "smaller numbers"},
		},
		{
			name: "weights summing past the maximum",
			register: func(r *Registry) {
				r.Scenario("first", maxWeight, scenarioNoop)
				r.Scenario("second", maxWeight, scenarioNoop)
			},
			want: []string{`"second"`, "2147483648", "above 2147483647", "smaller numbers"},
		},
		{
			name:     "name of spaces only",
			register: func(r *Registry) { r.Scenario("   ", 1, scenarioNoop) },
			want:     []string{"empty name", `"   "`},
		},
		{
			name:     "name with a trailing space",
			register: func(r *Registry) { r.Scenario("checkout ", 1, scenarioNoop) },
			want:     []string{`"checkout "`, "leading or trailing spaces"},
		},
		{
			name:     "name with a newline",
			register: func(r *Registry) { r.Scenario("check\nout", 1, scenarioNoop) },
			want:     []string{`"check\nout"`, "control character"},
		},
		{
			name:     "package-level twin",
			register: func(*Registry) { Scenario("twin_huge", maxWeight+1, scenarioNoop) },
			want:     []string{`"twin_huge"`, "above"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useFreshDefaultRegistry(t)
			assertPanicsNaming(t, func() { tt.register(NewRegistry()) }, tt.want...)
		})
	}

	t.Run("accepted", func(t *testing.T) {
		reg := NewRegistry()
		_, panicked := recoverPanic(func() {
			reg.Scenario("max", maxWeight, scenarioNoop)
			reg.Scenario("rest", maxTotalWeight-maxWeight, scenarioNoop)
			reg.Scenario("list items", 0, scenarioNoop) // inner spaces are fine
			reg.Scenario("créer_élément", 0, scenarioNoop)
		})
		assert.False(t, panicked)
		snap := reg.snapshot()
		assert.Equal(t, maxTotalWeight, snap.totalWeight)
	})
}

// Under Runner.Test, a scenario that calls t.FailNow, t.Fatal or
// testify's require fails the test with an error that says what happened
// and what to do instead.
func TestScenarioCallingFailNowFailsTheTestClearly(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("fails_now", 1, func(ctx context.Context, s *Session) error {
		runtime.Goexit() // what t.FailNow and require.* do; a real t here would also mark the test failed
		return nil
	})
	tb := newFakeTB(t)
	res := (&Runner{Registry: reg, Workers: 2, MaxRuns: 5, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	require.Len(t, tb.errs, 1)
	assert.Contains(t, tb.errs[0], "10 of 10 scenario runs failed")
	assert.Contains(t, tb.errs[0], "t.FailNow")
}

// The same in an event handler that runs inside the scenario run (here at
// ScenarioStart): the run it belongs to is the counted failure, and the
// worker goes on.
func TestEventHandlerCallingFailNowIsACountedFailure(t *testing.T) {
	reg := NewRegistry()
	reg.Scenario("s", 1, scenarioNoop)
	reg.OnEvent(func(ev Event) {
		if ev.Kind == ScenarioStart && ev.Worker == 0 {
			runtime.Goexit()
		}
	})
	res := runWithin(t, &Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true}, 10*time.Second)
	assert.Equal(t, int64(6), res.Started)
	assert.Equal(t, int64(3), res.OK, "worker 1's runs")
	assert.Equal(t, int64(3), res.Failed, "worker 0's runs, each ended at ScenarioStart")
	assertCountsConsistent(t, res)
	assert.Equal(t, int64(3), resultErrorCount(res, "return an error"), "errors:\n%s", resultErrorsText(res))
	assert.True(t, strings.Contains(resultErrorsText(res), "event handler"))
}
