package molotov

import (
	"context"
	"flag"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

// Benchmark runs the load inside a Go benchmark, for before/after
// comparisons that benchstat can judge:
//
//	func BenchmarkLoad(b *testing.B) {
//		molotov.Benchmark(b, &molotov.Runner{BaseURL: srv.URL, Workers: 10})
//	}
//
//	go test -run XXX -bench Load -count 6 ./loadtest > new.txt
//	benchstat old.txt new.txt
//
// b.N is the number of scenario runs (rounded up to a multiple of the
// workers), spread over the workers (Duration
// and MaxRuns are ignored; the -molotov.* flags and MOLOTOV_* variables
// apply as under Runner.Test), so ns/op is the wall time per scenario run.
// Benchmark reports beside it, with b.ReportMetric:
//
//	req/s        requests per second, all requests
//	runs/s       scenario runs per second
//	p50-ns       median scenario run latency, in nanoseconds
//	p99-ns       99th percentile scenario run latency
//	failures/op  failed scenario runs per run
//
// The run is Quiet: benchmark output stays readable by benchstat. The
// run's Logger, unless Runner.Logger is set, writes with b.Log, which
// testing prints apart from the benchmark's result lines: the fixtures
// log there (Runner.Logger in GlobalSetup and Setup, Session.Logger),
// never on the benchmark's standard output.
//
// testing calls a benchmark function several times with a growing b.N
// (1, 100, 10,000...), and Benchmark makes a run of each call; the global
// fixtures are the benchmark's, not the run's: GlobalSetup runs in the
// first call only, and its context lasts until GlobalTeardown, which
// runs after the last (that testing makes for this b: a -count or -cpu
// repetition is another benchmark, with fixtures of its own). This holds
// for a registry made once, such as DefaultRegistry: one that the
// benchmark function makes anew in each call has fixtures of its own,
// which run with each call.
//
// Like Runner.Test, it fails the benchmark when runs failed (beyond
// MaxFailures), a fixture failed or a threshold broke. It returns the
// Result, or nil when the run could not start.
func Benchmark(b *testing.B, r *Runner) *Result {
	b.Helper()
	cfg, err := commandLineFlags().Apply(*r)
	if err != nil {
		b.Fatalf("%v", err)
		return nil
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	cfg.Workers = min(cfg.Workers, b.N) // every worker does at least one run
	cfg.MaxRuns = (b.N + cfg.Workers - 1) / cfg.Workers
	cfg.Duration, cfg.SingleRun = 0, false
	cfg.Quiet, cfg.summaryOff = true, true
	if cfg.Logger == nil {
		level := zapcore.InfoLevel
		if cfg.Verbose >= 1 {
			level = zapcore.DebugLevel
		}
		cfg.Logger = zaptest.NewLogger(b, zaptest.Level(level))
	}
	cfg.globals = benchGlobals(b, cfg.Registry)
	b.Cleanup(func() {
		if lastRound(b) {
			endBenchGlobals(b, cfg.Registry)
		}
	})
	b.ResetTimer()
	res, err := cfg.Run(b.Context())
	b.StopTimer()
	if err != nil {
		b.Errorf("%v", err)
		if res == nil {
			return nil
		}
	}
	runs := res.OK + res.Failed
	secs := res.Elapsed.Seconds()
	if secs > 0 {
		b.ReportMetric(float64(res.requestCount())/secs, "req/s")
		b.ReportMetric(float64(runs)/secs, "runs/s")
	}
	b.ReportMetric(float64(res.latency.P50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(res.latency.P99.Nanoseconds()), "p99-ns")
	if runs > 0 {
		b.ReportMetric(float64(res.Failed)/float64(runs), "failures/op")
	}
	if msg := verdict(res, false); msg != "" {
		b.Errorf("%s", msg)
	}
	return res
}

// globalFixtures are the global fixtures of several runs, the rounds of
// one benchmark: the first run's GlobalSetup serves them all, with a
// context of its own, and the owner calls end after the last run.
type globalFixtures struct {
	ctx      context.Context // GlobalSetup's, until end
	cancel   context.CancelFunc
	set      bool                  // GlobalSetup succeeded, or there is none
	teardown func(context.Context) // the registry's GlobalTeardown, when set
	parent   context.Context       // the first run's, for GlobalTeardown's values
	timeout  time.Duration         // bounds GlobalTeardown
	logger   *zap.Logger
}

// isReady reports whether the global fixtures are set up already; false
// for a nil g, a run of its own.
func (g *globalFixtures) isReady() bool { return g != nil && g.set }

// context returns GlobalSetup's context: ctx's values, cancelled by end
// rather than by the end of the run, since the fixtures outlive it.
func (g *globalFixtures) context(ctx context.Context) context.Context {
	if g.ctx == nil {
		g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	return g.ctx
}

// ready records that the fixtures are set up, by the run rs, whose
// GlobalTeardown end runs. It does nothing for a nil g.
func (g *globalFixtures) ready(rs *runState) {
	if g == nil || g.set {
		return
	}
	g.set = true
	g.teardown, g.parent = rs.snap.fixtures.globalTeardown, rs.parent
	g.timeout, g.logger = rs.cfg.RequestTimeout, rs.logger
}

// end runs GlobalTeardown when the fixtures were set up, and cancels
// GlobalSetup's context.
func (g *globalFixtures) end() {
	if g.set && g.teardown != nil {
		callGlobalTeardown(g.teardown, g.parent, g.timeout, g.logger)
	}
	if g.cancel != nil {
		g.cancel()
	}
}

// benchKey names the global fixtures of one benchmark over one registry.
type benchKey struct {
	b   *testing.B
	reg *Registry
}

// benchFixtures holds the global fixtures of the benchmarks in progress.
var benchFixtures sync.Map // benchKey → *globalFixtures

// benchGlobals returns the global fixtures of b's runs over reg (nil:
// DefaultRegistry), made on its first round.
func benchGlobals(b *testing.B, reg *Registry) *globalFixtures {
	g, _ := benchFixtures.LoadOrStore(benchKey{b, reg}, &globalFixtures{})
	return g.(*globalFixtures)
}

// endBenchGlobals ends the global fixtures of b's runs over reg: a later
// round, if testing made one after all, would set them up again.
func endBenchGlobals(b *testing.B, reg *Registry) {
	if g, ok := benchFixtures.LoadAndDelete(benchKey{b, reg}); ok {
		g.(*globalFixtures).end()
	}
}

// lastRound reports, as the round of b that just ended is cleaned up,
// whether testing will call the benchmark function for b no more. It
// replays the rule of testing's loop: a round of b.N=1, then rounds of
// growing b.N until one took -test.benchtime (or b.N reached 1e9), or a
// single round of n for -test.benchtime=Nx; none after a failure or a
// skip. When in doubt it says yes: the fixtures of a round that then came
// would only be set up again.
func lastRound(b *testing.B) bool {
	if b.Failed() || b.Skipped() {
		return true
	}
	d, n := time.Second, 0 // testing's default
	if f := flag.Lookup("test.benchtime"); f != nil {
		v := f.Value.String()
		if c, ok := strings.CutSuffix(v, "x"); ok {
			if k, err := strconv.Atoi(c); err == nil {
				d, n = 0, k
			}
		} else if dd, err := time.ParseDuration(v); err == nil {
			d = dd
		}
	}
	if n > 0 {
		return b.N != 1 || n <= 1
	}
	return b.Elapsed() >= d || b.N >= 1e9
}
