package molotov

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/threshold"
)

// fakeShare is what one share of a run recorded. Its Result is built the
// way a run builds its own: the runs go through runStats, and the end of
// the run adds times, options, timeline and thresholds.
type fakeShare struct {
	segment string
	start   time.Time     // zero: fakeStart
	elapsed time.Duration // zero: 10s
	workers int           // active in every second; zero: 2
	busy    int           // the open model's workers busy at once in every second
	opts    *runOptions   // nil: fakeOptions()
	dropped int64         // the open model's starts that never began
	runs    []fakeRun
}

// fakeRun is one scenario run, with at most one request.
type fakeRun struct {
	scenario string        // one of fakeScenarios
	request  string        // "": no request
	lat      time.Duration // of the run and of its request
	at       time.Duration // when it ended, from the share's start
	status   int           // of the request; 0: it failed without a response
	err      string        // why the run failed; "": it succeeded
}

var (
	fakeScenarios = []string{"browse", "buy"}
	fakeStart     = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// fakeOptions are the options of a closed-model run with the thresholds
// given.
func fakeOptions(thresholds ...string) *runOptions {
	return &runOptions{Workers: 4, Duration: 10 * time.Second, RequestTimeout: 30 * time.Second,
		MaxResponseBytes: 1 << 20, Seed: 7, BaseURL: "http://127.0.0.1:8080", Thresholds: thresholds}
}

func (f fakeShare) result(t testing.TB) *Result {
	t.Helper()
	if f.start.IsZero() {
		f.start = fakeStart
	}
	if f.elapsed == 0 {
		f.elapsed = 10 * time.Second
	}
	if f.workers == 0 {
		f.workers = 2
	}
	if f.opts == nil {
		f.opts = fakeOptions()
	}
	scs := make([]*scenario, len(fakeScenarios))
	for i, name := range fakeScenarios {
		scs[i] = &scenario{name: name, index: i}
	}
	st := newRunStats(scs, nil)
	st.open = f.opts.Rate > 0
	seconds := int(math.Ceil(f.elapsed.Seconds()))
	perSecond := make([]*hist.Histogram, seconds)
	points := make([]TimelinePoint, seconds)
	for k := range points {
		perSecond[k] = &hist.Histogram{}
		points[k] = TimelinePoint{Second: k + 1, Workers: f.workers}
		if st.open {
			points[k].Busy = f.busy
		}
	}
	for _, r := range f.runs {
		i := slices.Index(fakeScenarios, r.scenario)
		require.GreaterOrEqual(t, i, 0, "scenario %q", r.scenario)
		sc := st.scenarios[i]
		sc.lat.Record(r.lat)
		if st.open {
			sc.service.Record(r.lat / 2)
		}
		st.started.Add(1)
		k := int(r.at / time.Second)
		require.Less(t, k, seconds, "a run ends after its share")
		perSecond[k].Record(r.lat)
		if r.err != "" {
			st.failed.Add(1)
			sc.failed.Add(1)
			st.errs.add(errors.New(r.err))
			points[k].Failed++
		} else {
			st.ok.Add(1)
			sc.ok.Add(1)
			points[k].OK++
		}
		if r.request != "" {
			st.request(r.request).record(r.lat, r.status, r.status == 0)
		}
	}
	for k, h := range perSecond {
		s := h.Snapshot()
		points[k].P50, points[k].P99 = s.Quantile(0.5), s.Quantile(0.99)
	}
	if st.open {
		st.dropped.Store(f.dropped)
		st.scheduled.Store(st.started.Load() + f.dropped)
	}
	st.active.peak.Store(int64(f.workers))
	if st.open {
		st.busy.peak.Store(int64(f.busy))
	}
	res := st.resultWith(nil)
	res.Start, res.Elapsed, res.End = f.start, f.elapsed, f.start.Add(f.elapsed)
	res.StopReason, res.Segment, res.Timeline = StopDuration, f.segment, points
	res.opts, res.maxFailures = f.opts, f.opts.MaxFailures
	var ts []*threshold.Threshold
	for _, e := range f.opts.Thresholds {
		th, err := parseThreshold(e)
		require.NoError(t, err)
		ts = append(ts, th)
	}
	res.Thresholds = checkThresholds(ts, res)
	return res
}

// realisticLatency draws a latency from a mix that spans microseconds to
// seconds: cache hits, the common case, slow queries and a tail of
// timeouts and retries.
func realisticLatency(rng *rand.Rand) time.Duration {
	lognormal := func(median time.Duration, sigma float64) time.Duration {
		return time.Duration(float64(median) * math.Exp(sigma*rng.NormFloat64()))
	}
	switch p := rng.Float64(); {
	case p < 0.2:
		return lognormal(300*time.Microsecond, 0.4)
	case p < 0.9:
		return lognormal(4*time.Millisecond, 0.5)
	case p < 0.99:
		return lognormal(60*time.Millisecond, 0.6)
	default:
		return 500*time.Millisecond + time.Duration(rng.Int64N(int64(4500*time.Millisecond)))
	}
}

// realisticRuns draws n runs over 10 seconds: two scenarios, five request
// names, 2% failures in two kinds, some without a response.
func realisticRuns(rng *rand.Rand, n int) []fakeRun {
	requests := []string{"GET /", "GET /items", "GET /items/{id}", "POST /cart", "POST /checkout"}
	runs := make([]fakeRun, n)
	for i := range runs {
		r := fakeRun{scenario: fakeScenarios[rng.IntN(2)], request: requests[rng.IntN(len(requests))],
			lat: realisticLatency(rng), at: time.Duration(rng.Int64N(int64(10 * time.Second))), status: 200}
		switch p := rng.Float64(); {
		case p < 0.01:
			r.err, r.status = "GET /items: 503 Service Unavailable", 503
		case p < 0.02:
			r.err, r.status = "dial tcp 127.0.0.1:8080: connect: connection refused", 0
		}
		runs[i] = r
	}
	return runs
}
