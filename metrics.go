package molotov

import (
	metrics "github.com/rcrowley/go-metrics"

	"github.com/molotov-go/molotov/internal/hist"
)

// The go-metrics bridge. The registry is an output, never the engine: the
// metrics registered here read the run's own atomics and histograms when
// an exporter asks, so recording costs nothing extra and no go-metrics
// goroutine is started (no Meter or Timer). Names:
//
//	molotov.scenario.<name>.ok        Counter  successful runs of the scenario
//	molotov.scenario.<name>.failed    Counter  failed runs of the scenario
//	molotov.scenario.<name>.duration  Histogram  run latency in nanoseconds
//	molotov.request.<name>.duration   Histogram  request latency in nanoseconds ("GET /items")
//	molotov.request.<name>.errors     Counter  requests without a complete response
//	molotov.runs.ok, molotov.runs.failed  Counter  all scenario runs
//	molotov.requests                  Counter  all requests
//	molotov.workers                   Gauge    active workers
//	molotov.workers.busy              Gauge    the open model's workers running a start
//	molotov.scheduled, molotov.dropped  Counter  the open model's starts (Runner.Rate)
func (rs *runState) registerMetrics() {
	st := rs.stats
	reg := func(name string, m any) {
		rs.metrics.Unregister(name) // a registry reused across runs shows the latest run
		rs.metrics.Register(name, m)
	}
	for i, sc := range st.scenarios {
		name := "molotov.scenario." + st.names[i]
		reg(name+".ok", liveCounter{&sc.ok})
		reg(name+".failed", liveCounter{&sc.failed})
		reg(name+".duration", liveHistogram{&sc.lat})
	}
	reg("molotov.runs.ok", liveCounter{&st.ok})
	reg("molotov.runs.failed", liveCounter{&st.failed})
	reg("molotov.requests", liveCounter{loaderFunc(st.requestTotal)})
	reg("molotov.workers", liveGauge{&st.active.n})
	reg("molotov.workers.busy", liveGauge{&st.busy.n})
	reg("molotov.scheduled", liveCounter{&st.scheduled})
	reg("molotov.dropped", liveCounter{&st.dropped})
	st.onNewRequest = func(name string, r *requestStats) {
		reg("molotov.request."+name+".duration", liveHistogram{&r.lat})
		reg("molotov.request."+name+".errors", liveCounter{&r.errors})
	}
}

type int64Loader interface{ Load() int64 }

// loaderFunc is a figure computed when read.
type loaderFunc func() int64

func (f loaderFunc) Load() int64 { return f() }

// liveCounter is a read-only go-metrics Counter over one of the run's
// atomics; Inc, Dec and Clear do nothing (the run owns the figure).
type liveCounter struct{ v int64Loader }

func (c liveCounter) Clear()                    {}
func (c liveCounter) Count() int64              { return c.v.Load() }
func (c liveCounter) Dec(int64)                 {}
func (c liveCounter) Inc(int64)                 {}
func (c liveCounter) Snapshot() metrics.Counter { return metrics.CounterSnapshot(c.v.Load()) }

// liveGauge is a read-only go-metrics Gauge over one of the run's atomics.
type liveGauge struct{ v int64Loader }

func (g liveGauge) Snapshot() metrics.Gauge { return metrics.GaugeSnapshot(g.v.Load()) }
func (g liveGauge) Update(int64)            {}
func (g liveGauge) Value() int64            { return g.v.Load() }

// liveHistogram is a go-metrics Histogram over one of the run's
// histograms, in nanoseconds. Its percentiles come from the log-bucketed
// histogram (within 0.4%), not from a sample. Update and Clear do nothing.
// Each statistic reads a fresh copy; exporters that read several should
// take a Snapshot first, as go-metrics' own exporters do.
type liveHistogram struct{ h *hist.Histogram }

func (h liveHistogram) frozen() frozenHistogram { return frozenHistogram{h.h.Snapshot()} }

func (h liveHistogram) Clear()                             {}
func (h liveHistogram) Update(int64)                       {}
func (h liveHistogram) Count() int64                       { return h.h.Count() }
func (h liveHistogram) Max() int64                         { return h.frozen().Max() }
func (h liveHistogram) Min() int64                         { return h.frozen().Min() }
func (h liveHistogram) Mean() float64                      { return h.frozen().Mean() }
func (h liveHistogram) Sum() int64                         { return h.frozen().Sum() }
func (h liveHistogram) StdDev() float64                    { return h.frozen().StdDev() }
func (h liveHistogram) Variance() float64                  { return h.frozen().Variance() }
func (h liveHistogram) Percentile(p float64) float64       { return h.frozen().Percentile(p) }
func (h liveHistogram) Percentiles(ps []float64) []float64 { return h.frozen().Percentiles(ps) }
func (h liveHistogram) Sample() metrics.Sample             { return h.frozen().Sample() }
func (h liveHistogram) Snapshot() metrics.Histogram        { return h.frozen() }

// frozenHistogram is a histogram's Snapshot: it answers from one copy of
// the counts.
type frozenHistogram struct{ s *hist.Snapshot }

func (f frozenHistogram) Clear()                       {}
func (f frozenHistogram) Update(int64)                 {}
func (f frozenHistogram) Count() int64                 { return f.s.Count }
func (f frozenHistogram) Max() int64                   { return int64(f.s.Max) }
func (f frozenHistogram) Min() int64                   { return int64(f.s.Min) }
func (f frozenHistogram) Mean() float64                { return float64(f.s.Mean()) }
func (f frozenHistogram) Sum() int64                   { return f.s.Sum }
func (f frozenHistogram) StdDev() float64              { return float64(f.s.StdDev()) }
func (f frozenHistogram) Variance() float64            { d := f.StdDev(); return d * d }
func (f frozenHistogram) Percentile(p float64) float64 { return float64(f.s.Quantile(p)) }
func (f frozenHistogram) Snapshot() metrics.Histogram  { return f }

// Sample returns an empty sample of the right count: the values live in
// the histogram's buckets, not in a reservoir.
func (f frozenHistogram) Sample() metrics.Sample { return metrics.NewSampleSnapshot(f.s.Count, nil) }

// Percentiles takes go-metrics' fractions (0.99 for p99).
func (f frozenHistogram) Percentiles(ps []float64) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = float64(f.s.Quantile(p))
	}
	return out
}
