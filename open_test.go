package molotov

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rate=200/s for 2 s schedules 400 starts; with workers to spare, they
// all start.
func TestOpenModelKeepsTheRate(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Rate: 200, MaxWorkers: 20, Duration: 2 * time.Second, Quiet: true})
	assert.EqualValues(t, 400, res.Scheduled)
	assert.InDelta(t, 400, res.Started, 2)
	assert.Equal(t, res.Scheduled, res.Started+res.Dropped, "nothing silently lost")
	assert.Equal(t, res.Started, res.OK+res.Failed)
	assert.Zero(t, res.Failed, "errors: %v", res.Errors)
	assert.LessOrEqual(t, res.MaxWorkers, 20)
}

// stallOnce answers at once, but the first request to /stall waits
// 500 ms; it records when that stall began and ended.
type stallOnce struct {
	once       sync.Once
	begun, end atomic.Int64 // unix nanoseconds
}

func (h *stallOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/stall" {
		h.once.Do(func() {
			h.begun.Store(time.Now().UnixNano())
			time.Sleep(500 * time.Millisecond)
			h.end.Store(time.Now().UnixNano())
		})
	}
	sbOK(w, r)
}

// With one worker and a 500 ms stall, the starts queued behind it show in
// the corrected latency, not in the service time; with MaxLag=100ms the
// starts that waited longer are dropped, and the count is exact.
func TestOpenModelCorrectsForCoordinatedOmission(t *testing.T) {
	run := func(t *testing.T, maxLag time.Duration) (*Result, *stallOnce, time.Time) {
		h := &stallOnce{}
		srv := serveFunc(t, h.ServeHTTP)
		var stallAfter atomic.Int64
		reg := sbOneScenario("get", func(ctx context.Context, s *Session) error {
			path := "/"
			if stallAfter.Add(1) == 100 { // the 100th run, half a second in
				path = "/stall"
			}
			return sbGet(ctx, s, path)
		})
		r := Runner{Registry: reg, BaseURL: srv.URL, Rate: 200, MaxWorkers: 1, MaxLag: maxLag, Duration: 2 * time.Second, Quiet: true}
		run, err := r.Start(context.Background())
		require.NoError(t, err)
		res, err := run.Wait()
		require.NoError(t, err)
		return res, h, res.Start
	}

	t.Run("MaxLag 1s", func(t *testing.T) {
		res, _, _ := run(t, time.Second)
		sc := res.Scenarios["get"]
		assert.EqualValues(t, 400, res.Scheduled)
		assert.Equal(t, res.Scheduled, res.Started+res.Dropped)
		assert.LessOrEqual(t, res.Dropped, int64(2), "a 500 ms stall fits in MaxLag")
		assert.GreaterOrEqual(t, sc.Latency.P99, 400*time.Millisecond, "corrected p99: the queue behind the stall")
		assert.Less(t, sc.ServiceTime.P99, 50*time.Millisecond, "uncorrected p99: one slow run of 400")
		assert.GreaterOrEqual(t, sc.ServiceTime.Max, 500*time.Millisecond, "the stall itself")
	})

	t.Run("MaxLag 100ms", func(t *testing.T) {
		const maxLag = 100 * time.Millisecond
		res, h, start := run(t, maxLag)
		assert.EqualValues(t, 400, res.Scheduled)
		assert.Equal(t, res.Scheduled, res.Started+res.Dropped, "started + dropped == scheduled, exactly")
		// The starts due while the worker was stalled, more than MaxLag
		// before it came free, could not begin in time.
		begun, end := time.Unix(0, h.begun.Load()), time.Unix(0, h.end.Load())
		var want int64
		for i := 0; i < 400; i++ {
			due := start.Add(time.Duration(i) * 5 * time.Millisecond)
			if due.After(begun) && end.Sub(due) > maxLag {
				want++
			}
		}
		t.Logf("stall %v..%v after the start: %d starts due more than %v before its end; dropped %d",
			begun.Sub(start).Round(time.Millisecond), end.Sub(start).Round(time.Millisecond), want, maxLag, res.Dropped)
		assert.InDelta(t, 80, want, 10, "the schedule: a 500 ms stall at 200/s, less MaxLag")
		// A busy machine (-race, packages in parallel) may take a little
		// longer to work through the backlog after the stall: a few more
		// starts pass MaxLag then, never fewer than the schedule says.
		assert.GreaterOrEqual(t, res.Dropped, want-3)
		assert.LessOrEqual(t, res.Dropped, want+15)
		// The timeline shows them when they were dropped; only the starts
		// still queued at the end (none or few: the worker keeps up after
		// the stall) are missing from it.
		var dropped, started int64
		for _, p := range res.Timeline {
			dropped += p.Dropped
			started += p.Started
		}
		assert.LessOrEqual(t, dropped, res.Dropped)
		assert.GreaterOrEqual(t, dropped, res.Dropped-3, "%+v", res.Timeline)
		assert.Equal(t, res.Started, started)
	})
}

// A pool size given by a flag or the environment replaces a Workers in
// the code in the open model (the scaffold's Workers: 10 with
// -molotov.rate and -molotov.max-workers); the closed model keeps its
// Workers, and equal sizes are accepted.
func TestMaxWorkersFromTheEnvironment(t *testing.T) {
	reg, entered := noHTTPRegistry(nil)
	for _, tt := range []struct {
		name                string
		env                 map[string]string
		r                   Runner
		workers, maxWorkers int // after Apply
	}{
		{"open", map[string]string{"MOLOTOV_RATE": "50", "MOLOTOV_MAX_WORKERS": "20"}, Runner{Workers: 10}, 0, 20},
		{"open, both given", map[string]string{"MOLOTOV_RATE": "50", "MOLOTOV_MAX_WORKERS": "20", "MOLOTOV_WORKERS": "20"}, Runner{Workers: 10}, 20, 20},
		{"closed", map[string]string{"MOLOTOV_MAX_WORKERS": "20"}, Runner{Workers: 10}, 10, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := (*FlagSet)(nil).Apply(tt.r)
			require.NoError(t, err)
			assert.Equal(t, tt.workers, cfg.Workers)
			assert.Equal(t, tt.maxWorkers, cfg.MaxWorkers)
			cfg.Registry, cfg.Quiet, cfg.Duration = reg, true, 100*time.Millisecond
			_, err = cfg.Run(context.Background())
			require.NoError(t, err, "the pool is accepted")
		})
	}
	assert.Positive(t, entered.Load())
}

func TestOpenModelValidation(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	for _, tt := range []struct {
		r     Runner
		field string
	}{
		{Runner{Rate: -1, Duration: time.Second}, "Rate"},
		{Runner{Rate: 1e-12, Duration: time.Second}, "Rate"}, // once in 30,000 years: the schedule would overflow
		{Runner{Rate: 1e-5, Duration: time.Second}, "Rate"},  // less than once a day
		{Runner{Rate: 10, MaxRuns: 5}, "Rate"},
		{Runner{Rate: 10, Duration: time.Second, RampUp: time.Second}, "RampUp"},
		{Runner{Rate: 10, Duration: time.Second, MaxLag: -time.Second}, "MaxLag"},
		{Runner{Rate: 10, Duration: time.Second, MaxWorkers: -1}, "MaxWorkers"},
		{Runner{Rate: 10, Duration: time.Second, Workers: 5, MaxWorkers: 20}, "Workers"}, // two pool sizes
		{Runner{Stages: []Stage{{Duration: time.Second, Rate: 10}}, Workers: 5, MaxWorkers: 20}, "Workers"},
	} {
		tt.r.Registry, tt.r.Quiet = reg, true
		_, err := tt.r.Run(context.Background())
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "%+v", tt.r)
		assert.Equal(t, tt.field, ce.Field, "%v", err)
	}
}

// The summary shows the open model's starts; a "dropped" threshold and
// the go-metrics registry see them too.
func TestOpenModelReported(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Rate: 100, Duration: 500 * time.Millisecond, Output: &out,
		ConsoleUpdate: time.Hour, Thresholds: []string{"dropped == 0", "scheduled == 50"}})
	assert.Contains(t, out.String(), "SCHEDULED: 50 | DROPPED: 0")
	assert.Contains(t, out.String(), "Service time (open model", "the summary shows both latencies")
	for _, tr := range res.Thresholds {
		assert.True(t, tr.Pass, "%s measured %v", tr.Expr, tr.Value)
	}
	assert.Equal(t, 100, res.MaxWorkers, "MaxWorkers defaults to Rate × 1s")
}

// Sizing with Rate ramps the rate from zero and stops where the failures
// pass the tolerance, reporting the rate reached.
func TestOpenModelSizing(t *testing.T) {
	start := time.Now()
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) > time.Second { // the rate passes 200×1/3 ≈ 67/s at 1s
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sbOK(w, r)
	})
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Rate: 200, MaxWorkers: 50, RampUp: 3 * time.Second, Sizing: true, Quiet: true})
	assert.Equal(t, StopSizing, res.StopReason)
	assert.Less(t, res.Elapsed, 3*time.Second, "stopped before the end of the ramp")
	assert.Greater(t, res.SizingRate, 200.0/3, "past the rate at which failures began")
	assert.Less(t, res.SizingRate, 200.0)
	assert.Greater(t, res.SizingRatio, 5.0)
	assert.Equal(t, res.Scheduled, res.Started+res.Dropped)
	t.Logf("sizing stopped at %.0f starts/s after %v, failure ratio %.0f%%", res.SizingRate, res.Elapsed.Round(time.Millisecond), res.SizingRatio)
}

// The open model sets its workers up before its time zero: a slow Setup
// delays the run's clock, not its first starts. With StartAt, the clock
// does not wait: a start due before its worker's session existed is still
// an open-model run, whose latency counts from when it was due, and it has
// a service time.
func TestOpenModelSetsUpBeforeTimeZero(t *testing.T) {
	const setup = 300 * time.Millisecond
	run := func(t *testing.T, startAt time.Time) (*Result, time.Time) {
		reg := NewRegistry()
		reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
			time.Sleep(setup)
			return nil, nil
		})
		reg.Scenario("a", 1, func(ctx context.Context, s *Session) error { return nil })
		r := Runner{Registry: reg, Rate: 20, MaxWorkers: 2, MaxLag: 10 * time.Second, Duration: 600 * time.Millisecond, StartAt: startAt, Quiet: true}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		before := time.Now()
		res, err := r.Run(ctx)
		require.NoError(t, err)
		require.Positive(t, res.Started)
		sc := res.Scenarios["a"]
		assert.Equal(t, sc.hist.Count, sc.serviceHist.Count, "every run has a service time")
		assert.Less(t, sc.ServiceTime.Max, setup/2, "the scenario itself takes no time")
		return res, before
	}
	t.Run("clock starts once set up", func(t *testing.T) {
		res, before := run(t, time.Time{})
		assert.GreaterOrEqual(t, res.Start.Sub(before), setup, "time zero comes after Setup")
		assert.EqualValues(t, 12, res.Scheduled, "Rate × Duration, all after Setup")
		assert.EqualValues(t, 12, res.Started)
		assert.Less(t, res.Scenarios["a"].Latency.Max, setup/2, "no start waited for Setup")
		assert.Less(t, res.StartLag.Max, setup/2)
	})
	t.Run("StartAt does not wait", func(t *testing.T) {
		startAt := time.Now().Add(100 * time.Millisecond)
		res, _ := run(t, startAt)
		assert.True(t, res.Start.Equal(startAt), "time zero is StartAt: %v, want %v", res.Start, startAt)
		assert.GreaterOrEqual(t, res.Scenarios["a"].Latency.Max, setup/2, "the first start waited for Setup: its latency from when it was due shows it")
		assert.GreaterOrEqual(t, res.StartLag.Max, setup/2)
	})
}

// A run stopped while its pool is still setting up schedules nothing: no
// start was due yet.
func TestOpenModelStoppedDuringSetUp(t *testing.T) {
	reg := NewRegistry()
	settingUp := make(chan struct{}, 4)
	release := make(chan struct{})
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		settingUp <- struct{}{}
		<-release
		return nil, nil
	})
	reg.Scenario("a", 1, func(ctx context.Context, s *Session) error { return nil })
	r := Runner{Registry: reg, Rate: 1000, MaxWorkers: 4, Duration: time.Minute, Quiet: true}
	run, err := r.Start(context.Background())
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		<-settingUp
	}
	run.Stop()
	close(release)
	res, err := run.Wait()
	require.NoError(t, err)
	assert.Equal(t, StopStopped, res.StopReason)
	assert.Zero(t, res.Scheduled, "no start was due before the stop")
	assert.Zero(t, res.Started)
	assert.Zero(t, res.Dropped)
}
