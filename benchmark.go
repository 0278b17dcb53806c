package molotov

import "testing"

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
// The run is Quiet: benchmark output stays readable by benchstat. Like
// Runner.Test, it fails the benchmark when runs failed (beyond
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
