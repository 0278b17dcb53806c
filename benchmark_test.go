package molotov

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Benchmark reports the figures benchstat compares, in the Go benchmark
// format (value and unit pairs, units without spaces).
func TestBenchmarkReportsMetrics(t *testing.T) {
	clearMolotovEnv(t)
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		sbOK(w, r)
	})
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error {
		if err := sbGet(ctx, s, "/a"); err != nil {
			return err
		}
		return sbGet(ctx, s, "/b") // two requests per run
	})
	var last *Result
	br := testing.Benchmark(func(b *testing.B) {
		last = Benchmark(b, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, Duration: time.Hour})
	})
	require.Positive(t, br.N, "the benchmark failed")
	require.NotNil(t, last)
	assert.GreaterOrEqual(t, last.Started, int64(br.N), "b.N scenario runs, whatever Duration says")
	assert.Less(t, last.Started, int64(br.N+4), "b.N rounded up to a multiple of the workers")
	for _, unit := range []string{"req/s", "runs/s", "p50-ns", "p99-ns", "failures/op"} {
		assert.Contains(t, br.Extra, unit)
	}
	assert.InDelta(t, 2*br.Extra["runs/s"], br.Extra["req/s"], br.Extra["req/s"]*0.01, "two requests per run")
	assert.GreaterOrEqual(t, br.Extra["p50-ns"], float64(4*time.Millisecond), "two requests of 2ms each")
	assert.GreaterOrEqual(t, br.Extra["p99-ns"], br.Extra["p50-ns"])
	assert.Zero(t, br.Extra["failures/op"])

	line := "BenchmarkLoad " + br.String()
	assert.Regexp(t, regexp.MustCompile(`^BenchmarkLoad\s+\d+\s+\d+(\.\d+)? ns/op(\s+\S+ \S+)+$`), strings.TrimSpace(line))
	for _, f := range strings.Fields(line)[2:] {
		assert.NotContains(t, f, "\t")
	}
}

// A failing run fails the benchmark, as it fails a test.
func TestBenchmarkFailsOnFailures(t *testing.T) {
	clearMolotovEnv(t)
	reg, _ := noHTTPRegistry(func(n int64) bool { return n == 1 })
	br := testing.Benchmark(func(b *testing.B) {
		Benchmark(b, &Runner{Registry: reg, Workers: 2})
	})
	assert.Zero(t, br.N, "testing.Benchmark returns a zero result for a failed benchmark")
}

// testing calls a benchmark function several times with a growing b.N;
// the global fixtures are the benchmark's: GlobalSetup runs before the
// first round only, GlobalTeardown after the last only, and GlobalSetup's
// context lasts until then.
func TestBenchmarkGlobalFixturesOncePerBenchmark(t *testing.T) {
	clearMolotovEnv(t)
	reg, _ := noHTTPRegistry(nil)
	var rec callRecorder
	var setupCtx context.Context
	ctxAlive := true
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error {
		rec.add("GlobalSetup")
		setupCtx = ctx
		return nil
	})
	reg.GlobalTeardown(func(context.Context) {
		ctxAlive = ctxAlive && setupCtx.Err() == nil
		rec.add("GlobalTeardown")
	})
	rounds := 0
	br := testing.Benchmark(func(b *testing.B) {
		rounds++
		rec.add("round")
		Benchmark(b, &Runner{Registry: reg, Workers: 2})
		ctxAlive = ctxAlive && setupCtx.Err() == nil
	})
	require.Positive(t, br.N, "the benchmark failed")
	require.GreaterOrEqual(t, rounds, 2, "testing made one round only: nothing to check")
	calls := rec.list()
	assert.Equal(t, []string{"round", "GlobalSetup", "round"}, calls[:3], "GlobalSetup in the first round")
	assert.Equal(t, "GlobalTeardown", calls[len(calls)-1], "GlobalTeardown after the last round")
	count := map[string]int{}
	for _, c := range calls {
		count[c]++
	}
	assert.Equal(t, map[string]int{"GlobalSetup": 1, "round": rounds, "GlobalTeardown": 1}, count, "calls: %v", calls)
	assert.True(t, ctxAlive, "GlobalSetup's context ended before GlobalTeardown")
	assert.Error(t, setupCtx.Err(), "GlobalSetup's context outlives the benchmark")
}

// TestBenchmarkOutputParses runs BenchmarkFixturesLogChild in a child
// process, as go test -bench does, and checks that its output is what
// benchstat reads: fixtures that log do so apart from the result lines,
// once per benchmark (here two, for -count 2).
func TestBenchmarkOutputParses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkFixturesLogChild$", "-test.benchtime=100ms", "-test.count=2")
	cmd.Env = append(os.Environ(), "MOLOTOV_BENCH_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	text := string(out)
	t.Logf("child output:\n%s", text)
	result := regexp.MustCompile(`^BenchmarkFixturesLogChild(-\d+)?\s+\d+\s+[\d.]+ ns/op(\s+[\d.e+-]+ \S+)+$`)
	results := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "BenchmarkFixturesLogChild") {
			assert.Regexp(t, result, line, "a benchmark line benchstat cannot read")
			results++
		}
	}
	assert.Equal(t, 2, results)
	assert.Equal(t, 2, strings.Count(text, "global setup"), "once per benchmark")
	assert.Equal(t, 2, strings.Count(text, "global teardown"), "once per benchmark")
	assert.Positive(t, strings.Count(text, "session setup"))
}

// childRegistry is BenchmarkFixturesLogChild's registry, made once, as a
// package's registrations are: its fixtures log with the loggers they
// are given.
var childRegistry = sync.OnceValue(func() *Registry {
	reg, _ := noHTTPRegistry(nil)
	var logger *zap.Logger
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error {
		logger = r.Logger
		if logger == nil {
			fmt.Println("no logger: global setup")
			return nil
		}
		logger.Info("global setup")
		return nil
	})
	var once sync.Once // testing shows 10 lines of a benchmark's log: one of the sessions' is enough
	reg.SetupSession(func(ctx context.Context, s *Session) error {
		once.Do(func() { s.Logger().Info("session setup") })
		return nil
	})
	reg.GlobalTeardown(func(context.Context) {
		if logger == nil {
			fmt.Println("no logger: global teardown")
			return
		}
		logger.Info("global teardown")
	})
	return reg
})

// BenchmarkFixturesLogChild is TestBenchmarkOutputParses's child.
func BenchmarkFixturesLogChild(b *testing.B) {
	if os.Getenv("MOLOTOV_BENCH_CHILD") == "" {
		b.Skip("the child of TestBenchmarkOutputParses")
	}
	Benchmark(b, &Runner{Registry: childRegistry(), Workers: 2})
}
