package molotov

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sbMetric fetches a registered metric of kind M (metrics.Counter,
// metrics.Gauge, metrics.Histogram), failing the test when it is missing or
// of another kind.
func sbMetric[M any](t *testing.T, reg metrics.Registry, name string) M {
	t.Helper()
	m := reg.Get(name)
	require.NotNil(t, m, "metric %q not registered", name)
	v, ok := m.(M)
	require.True(t, ok, "metric %q is a %T, want a %T", name, m, *new(M))
	return v
}

func sbCounter(t *testing.T, reg metrics.Registry, name string) metrics.Counter {
	t.Helper()
	return sbMetric[metrics.Counter](t, reg, name)
}

func sbGauge(t *testing.T, reg metrics.Registry, name string) metrics.Gauge {
	t.Helper()
	return sbMetric[metrics.Gauge](t, reg, name)
}

func sbHistogram(t *testing.T, reg metrics.Registry, name string) metrics.Histogram {
	t.Helper()
	return sbMetric[metrics.Histogram](t, reg, name)
}

func TestMetricsLiveDuringAndAfterRun(t *testing.T) {
	const workers = 3
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	arrived := make(chan struct{}, 100)
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select { // the first requests hold their workers until released
		case <-release:
		case <-r.Context().Done():
			return
		}
		time.Sleep(2 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	reg := sbOneScenario("live", func(ctx context.Context, s *Session) error {
		if err := sbGet(ctx, s, "/x"); err != nil {
			return err
		}
		if s.Iteration()%5 == 0 {
			return errors.New("every fifth")
		}
		return nil
	})
	mreg := metrics.NewRegistry()
	run, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: 5 * time.Second, Metrics: mreg, Quiet: true}).Start(context.Background())
	require.NoError(t, err)
	defer run.Stop()

	// Every worker is held inside a request: the gauge must say so live.
	for i := 0; i < workers; i++ {
		select {
		case <-arrived:
		case <-time.After(2 * time.Second):
			unblock()
			t.Fatalf("only %d of %d workers reached the server", i, workers)
		}
	}
	assert.EqualValues(t, workers, sbGauge(t, mreg, "molotov.workers").Value(), "gauge molotov.workers during the run")
	okC := sbCounter(t, mreg, "molotov.scenario.live.ok")
	assert.Zero(t, okC.Count())
	unblock()

	// The counter moves while the run goes on.
	var values []int64
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && len(values) < 3 {
		v := okC.Count()
		if len(values) == 0 || v > values[len(values)-1] {
			values = append(values, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
	assert.GreaterOrEqual(t, len(values), 3, "molotov.scenario.live.ok did not update live: %v", values)
	assert.Empty(t, run.Snapshot().StopReason, "the run should still be going while polled")
	assert.Positive(t, sbCounter(t, mreg, "molotov.requests").Count(), "molotov.requests during the run")

	run.Stop()
	res, err := run.Wait()
	require.NoError(t, err)
	require.Positive(t, res.Failed, "want some failures")

	sc := res.Scenarios["live"]
	assert.Equal(t, sc.OK, sbCounter(t, mreg, "molotov.scenario.live.ok").Count())
	assert.Equal(t, sc.Failed, sbCounter(t, mreg, "molotov.scenario.live.failed").Count())
	assert.Equal(t, res.OK, sbCounter(t, mreg, "molotov.runs.ok").Count())
	assert.Equal(t, res.Failed, sbCounter(t, mreg, "molotov.runs.failed").Count())
	assert.Zero(t, sbGauge(t, mreg, "molotov.workers").Value(), "no worker active after the run")

	dur := sbHistogram(t, mreg, "molotov.scenario.live.duration")
	assert.Equal(t, sc.OK+sc.Failed, dur.Count(), "duration histogram Count != runs")
	p50 := time.Duration(dur.Percentile(0.5))
	assert.GreaterOrEqual(t, p50, 2*time.Millisecond, "p50 in nanoseconds, plausible")
	assert.Less(t, p50, 500*time.Millisecond)
	assert.InDelta(t, float64(sc.Latency.P50), dur.Percentile(0.5), float64(sc.Latency.P50)/50)
	snap := dur.Snapshot()
	assert.Equal(t, dur.Count(), snap.Count())
	assert.Equal(t, dur.Percentile(0.99), snap.Percentile(0.99))

	rs := res.Requests["GET /x"]
	require.NotNil(t, rs)
	assert.Equal(t, rs.Count, sbCounter(t, mreg, "molotov.requests").Count())
	rh := sbHistogram(t, mreg, "molotov.request.GET /x.duration")
	assert.Equal(t, rs.Count, rh.Count())
	assert.Zero(t, sbCounter(t, mreg, "molotov.request.GET /x.errors").Count())
}

func TestMetricsRegistryReused(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("again", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/x") })
	mreg := metrics.NewRegistry()
	for _, runs := range []int{5, 2} {
		res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: runs, Metrics: mreg, Quiet: true})
		require.EqualValues(t, runs, res.OK)
		assert.EqualValues(t, runs, sbCounter(t, mreg, "molotov.scenario.again.ok").Count(), "run of %d", runs)
		assert.EqualValues(t, runs, sbHistogram(t, mreg, "molotov.scenario.again.duration").Count(), "run of %d", runs)
		assert.EqualValues(t, runs, sbCounter(t, mreg, "molotov.requests").Count(), "run of %d", runs)
		assert.EqualValues(t, runs, sbHistogram(t, mreg, "molotov.request.GET /x.duration").Count(), "run of %d", runs)
	}
}

func TestMetricsSessionRegistry(t *testing.T) {
	mreg := metrics.NewRegistry()
	var mu sync.Mutex
	seen := map[metrics.Registry]bool{}
	reg := sbOneScenario("custom", func(ctx context.Context, s *Session) error {
		mu.Lock()
		seen[s.Metrics()] = true
		mu.Unlock()
		metrics.GetOrRegisterCounter("custom.calls", s.Metrics()).Inc(1)
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, Workers: 2, MaxRuns: 3, Metrics: mreg, Quiet: true})
	require.EqualValues(t, 6, res.OK)
	assert.Equal(t, map[metrics.Registry]bool{mreg: true}, seen, "Session.Metrics must be Runner.Metrics")
	assert.EqualValues(t, 6, sbCounter(t, mreg, "custom.calls").Count())

	// Without Runner.Metrics each run gets a fresh registry.
	seen = map[metrics.Registry]bool{}
	sbRun(t, Runner{Registry: reg, MaxRuns: 1, Quiet: true})
	sbRun(t, Runner{Registry: reg, MaxRuns: 1, Quiet: true})
	assert.Len(t, seen, 2)
	for r := range seen {
		require.NotNil(t, r)
		assert.NotSame(t, mreg, r)
		assert.EqualValues(t, 1, sbCounter(t, r, "custom.calls").Count())
		assert.EqualValues(t, 1, sbCounter(t, r, "molotov.scenario.custom.ok").Count())
	}
}
