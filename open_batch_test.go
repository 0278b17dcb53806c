package molotov

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noHTTP is a scenario that does nothing, for tests of the schedule alone.
func noHTTP(context.Context, *Session) error { return nil }

// At a rate high enough to batch, no start is released before its intended
// time, every start of the schedule is counted, and each began within a
// bound of its time (StartLag).
func TestOpenModelBatchesStartsNeverEarly(t *testing.T) {
	const rate, d = 20000, 300 * time.Millisecond
	var early atomic.Int64
	var mu sync.Mutex
	var worst time.Duration
	r := Runner{Registry: sbOneScenario("noop", noHTTP), Rate: rate, MaxWorkers: 20, Duration: d, Quiet: true, Output: &bytes.Buffer{}}
	r.onSchedule = func(intended time.Time) {
		if now := time.Now(); now.Before(intended) {
			early.Add(1)
			mu.Lock()
			worst = max(worst, intended.Sub(now))
			mu.Unlock()
		}
	}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, early.Load(), "starts released before their intended time (by up to %v)", worst)
	assert.EqualValues(t, rate*d/time.Second, res.Scheduled, "every start of the schedule, k/Rate < Duration")
	assert.Equal(t, res.Scheduled, res.Started+res.Dropped, "nothing silently lost")
	assert.Equal(t, res.Started, res.OK+res.Failed)
	require.Positive(t, res.Started)
	assert.Positive(t, res.StartLag.Max, "start lag measured")
	// A batch waits at most maxBatchWindow; 100 ms leaves room for a loaded
	// machine, and is still far below what a lost start would show.
	assert.Less(t, res.StartLag.P50, 100*time.Millisecond)
}

// A run that ends at its Duration begins every start due before it, even
// at a rate where the last starts are released together at the end: none
// is dropped by the stop, and the run still ends on time.
func TestOpenModelEndsAfterItsLastBatch(t *testing.T) {
	const rate, d = 20000, 100 * time.Millisecond
	for i := range 5 {
		r := Runner{Registry: sbOneScenario("noop", noHTTP), Rate: rate, MaxWorkers: 50, Duration: d, Quiet: true, Output: &bytes.Buffer{}}
		res, err := r.Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, StopDuration, res.StopReason)
		assert.EqualValues(t, rate*d/time.Second, res.Scheduled, "run %d", i)
		assert.Zero(t, res.Dropped, "run %d: starts due before Duration dropped at the stop", i)
		assert.Equal(t, res.Scheduled, res.Started, "run %d", i)
		assert.GreaterOrEqual(t, res.Elapsed, d, "run %d", i)
		assert.Less(t, res.Elapsed, 2*d, "run %d: the end waits for the last batch, not longer", i)
	}
}

// PeakBusy is the most workers running a start at once: four starts held
// until all four are in make a peak of at least four, of a pool of ten
// that the other, instant runs leave mostly idle. The timeline's second
// has it, the JSON result keeps it, and the closed model has none.
func TestOpenModelPeakBusy(t *testing.T) {
	const held = 4
	var in atomic.Int32
	all := make(chan struct{})
	reg := sbOneScenario("hold", func(ctx context.Context, _ *Session) error {
		switch n := in.Add(1); {
		case n < held:
			select {
			case <-all:
			case <-ctx.Done():
			}
		case n == held:
			close(all)
		}
		return nil
	})
	r := Runner{Registry: reg, Rate: 200, MaxWorkers: 10, Duration: 300 * time.Millisecond, Quiet: true, Output: &bytes.Buffer{}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	require.Greater(t, res.Started, int64(held))
	assert.GreaterOrEqual(t, res.PeakBusy, held)
	assert.LessOrEqual(t, res.PeakBusy, res.MaxWorkers)
	assert.Equal(t, 10, res.MaxWorkers, "the pool, set up before time zero")
	require.NotEmpty(t, res.Timeline)
	assert.GreaterOrEqual(t, res.Timeline[0].Busy, held, "the second of the peak")
	for _, p := range res.Timeline {
		assert.LessOrEqual(t, p.Busy, res.PeakBusy, "second %d", p.Second)
	}

	var buf bytes.Buffer
	require.NoError(t, res.WriteJSON(&buf))
	assert.Contains(t, buf.String(), `"peak_busy": `)
	back, err := ReadResult(&buf)
	require.NoError(t, err)
	assert.Equal(t, res.PeakBusy, back.PeakBusy)
	assert.Equal(t, res.Timeline, back.Timeline)

	var out bytes.Buffer
	console.WriteSummary(&out, summaryOf(res))
	assert.Contains(t, out.String(), fmt.Sprintf("Workers busy at once: at most %d of 10", res.PeakBusy))

	closed := Runner{Registry: reg, Workers: 2, MaxRuns: 3, Quiet: true, Output: &bytes.Buffer{}}
	cres, err := closed.Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, cres.PeakBusy, "the closed model has no pool")
	buf.Reset()
	require.NoError(t, cres.WriteJSON(&buf))
	assert.NotContains(t, buf.String(), `"peak_busy"`)
	assert.NotContains(t, buf.String(), `"busy"`)
}

// A start that finds no free worker within MaxLag is dropped and counted,
// in batches as one at a time.
func TestOpenModelBatchedDropsCounted(t *testing.T) {
	block := make(chan struct{})
	reg := sbOneScenario("slow", func(ctx context.Context, _ *Session) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	})
	time.AfterFunc(200*time.Millisecond, func() { close(block) })
	r := Runner{Registry: reg, Rate: 10000, MaxWorkers: 2, MaxLag: 20 * time.Millisecond, Duration: 300 * time.Millisecond, Quiet: true, Output: &bytes.Buffer{}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 3000, res.Scheduled)
	assert.Positive(t, res.Dropped, "two workers blocked for 200 ms cannot take 10,000 starts a second")
	assert.Equal(t, res.Scheduled, res.Started+res.Dropped, "nothing silently lost")
	assert.Equal(t, res.Started, res.OK+res.Failed)
}

// The free worker that came free last takes the next start: a rate that
// needs one worker at a time keeps a few workers busy, not the whole pool.
func TestOpenModelReusesTheLastFreeWorker(t *testing.T) {
	var mu sync.Mutex
	used := map[int]bool{}
	reg := sbOneScenario("noop", func(_ context.Context, s *Session) error {
		mu.Lock()
		used[s.Worker] = true
		mu.Unlock()
		return nil
	})
	r := Runner{Registry: reg, Rate: 500, MaxWorkers: 50, Duration: 400 * time.Millisecond, Quiet: true, Output: &bytes.Buffer{}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 200, res.Scheduled)
	require.Equal(t, res.Scheduled, res.Started+res.Dropped)
	require.Equal(t, res.Started, res.OK)
	// The last starts may be dropped when the stop at Duration overtakes
	// them on a loaded machine; enough must run to reach the whole pool.
	require.GreaterOrEqual(t, res.OK, int64(150))
	// Handed round the pool, 200 starts would reach all 50 workers.
	assert.LessOrEqual(t, len(used), 10, "workers used: %d of 50", len(used))
}

// StartLag is the open model's; the closed model leaves it zero, and the
// JSON result keeps it, histogram and all, through a merge.
func TestStartLagReportedAndMerged(t *testing.T) {
	closed, err := (&Runner{Registry: sbOneScenario("noop", noHTTP), MaxRuns: 10, Quiet: true, Output: &bytes.Buffer{}}).Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, closed.StartLag)
	var js bytes.Buffer
	require.NoError(t, closed.WriteJSON(&js))
	assert.NotContains(t, js.String(), "start_lag")

	var shares []*Result
	for _, seg := range []string{"0/2", "1/2"} {
		r := Runner{Registry: sbOneScenario("noop", noHTTP), Rate: 400, MaxWorkers: 4, Duration: 200 * time.Millisecond, Segment: seg, Quiet: true, Output: &bytes.Buffer{}}
		res, err := r.Run(context.Background())
		require.NoError(t, err)
		require.Positive(t, res.StartLag.Max)
		var b bytes.Buffer
		require.NoError(t, res.WriteJSON(&b))
		assert.Contains(t, b.String(), `"start_lag"`)
		back, err := ReadResult(&b)
		require.NoError(t, err)
		assert.Equal(t, res.StartLag, back.StartLag, "the JSON result keeps the start lag")
		shares = append(shares, back)
	}
	merged, err := Merge(shares...)
	require.NoError(t, err)
	assert.Equal(t, max(shares[0].StartLag.Max, shares[1].StartLag.Max), merged.StartLag.Max)
	assert.EqualValues(t, merged.Started, merged.startLag.Count, "one start lag per start")
}

func TestBatchWindow(t *testing.T) {
	for _, tt := range []struct {
		interval, want time.Duration
	}{
		{time.Millisecond, 0},                           // 1,000/s: a wake per start
		{batchBelow, 0},                                 // 4,000/s
		{200 * time.Microsecond, maxBatchWindow},        // 5,000/s: 12 intervals, capped
		{50 * time.Microsecond, 600 * time.Microsecond}, // 20,000/s
		{time.Microsecond, 12 * time.Microsecond},
		{0, 0},
	} {
		got := batchWindow(tt.interval)
		assert.Equal(t, tt.want, got, "interval %v", tt.interval)
		assert.LessOrEqual(t, got, time.Millisecond, "never more than 1 ms")
	}
}

// BenchmarkOpenDispatch hands starts from the scheduler's side to a worker
// waiting on the other, as a run does, without HTTP: the allocations per
// start must be zero.
func BenchmarkOpenDispatch(b *testing.B) {
	rs := &runState{stopCh: make(chan struct{})}
	o := &openSchedule{pending: startQueue{limit: b.N + 1}, done: make(chan struct{})} // room for every start: none dropped
	w := &openWaiter{start: make(chan time.Duration, 1)}
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			if _, ok := o.take(rs, ctx, w); !ok {
				return
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o.release(time.Duration(i))
	}
	<-done
}

func TestOpenDispatchAllocatesNothing(t *testing.T) {
	if res := testing.Benchmark(BenchmarkOpenDispatch); res.AllocsPerOp() != 0 {
		t.Errorf("the open model's hand-off allocates %d times per start, want 0", res.AllocsPerOp())
	}
}
