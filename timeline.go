package molotov

import (
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/threshold"
)

// timeline records Result.Timeline: once a second, on the run's clock, it
// reads the run's counters and scenario histograms and keeps what changed
// since the previous second. Recording costs nothing per scenario run; a
// point merges the scenario histograms (a few thousand additions per
// scenario).
type timeline struct {
	rs   *runState
	next time.Duration // the run's elapsed time at which the next point is due

	mu         sync.Mutex
	prev       *hist.Snapshot // every scenario's histogram merged, at the previous point
	prevOK     int64
	prevFailed int64
	prevStarts int64
	prevDrops  int64
	prevConns  int64
	points     []TimelinePoint
}

func newTimeline(rs *runState) *timeline {
	return &timeline{rs: rs, prev: &hist.Snapshot{}, next: time.Second}
}

// tick takes the points due by elapsed, the run's time so far, and checks
// the thresholds live after each. It runs on the run's clock only.
func (tl *timeline) tick(elapsed time.Duration) (untilNext time.Duration) {
	for elapsed >= tl.next {
		tl.next += time.Second
		tl.point()
		tl.rs.checkLive()
	}
	return tl.next - elapsed
}

// finish records the last, partial second and returns the points. The
// clock must have stopped.
func (tl *timeline) finish() []TimelinePoint {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.pending() || len(tl.points) == 0 {
		tl.pointLocked()
	}
	return tl.points
}

// pending reports what changed since the last point: runs that started
// or ended, starts dropped, connections opened.
func (tl *timeline) pending() bool {
	st := tl.rs.stats
	return st.ok.Load() != tl.prevOK || st.failed.Load() != tl.prevFailed || st.started.Load() != tl.prevStarts ||
		st.dropped.Load() != tl.prevDrops || st.conns.Load() != tl.prevConns
}

func (tl *timeline) point() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.pointLocked()
}

func (tl *timeline) pointLocked() {
	st := tl.rs.stats
	// Counters before histograms: a run counted here is in the histograms
	// too (it is recorded there first), so a point's latency never misses
	// one of its runs; a run recorded but not yet counted shows next second.
	ok, failed := st.ok.Load(), st.failed.Load()
	started, dropped, conns := st.started.Load(), st.dropped.Load(), st.conns.Load()
	cur := &hist.Snapshot{}
	for _, s := range st.scenarios {
		cur.Merge(s.lat.Snapshot())
	}
	p := TimelinePoint{Second: len(tl.points) + 1, OK: ok - tl.prevOK, Failed: failed - tl.prevFailed, Workers: int(st.active.load()),
		Started: started - tl.prevStarts, Dropped: dropped - tl.prevDrops, Connections: conns - tl.prevConns}
	if st.open {
		p.Busy = int(st.busy.nextSecond())
	}
	if d := diffSnapshot(cur, tl.prev); d.Count > 0 {
		p.P50, p.P90, p.P99 = d.Quantile(0.5), d.Quantile(0.9), d.Quantile(0.99)
	}
	tl.points = append(tl.points, p)
	tl.prev, tl.prevOK, tl.prevFailed, tl.prevStarts, tl.prevDrops, tl.prevConns = cur, ok, failed, started, dropped, conns
}

// liveMinRuns is how many scenario runs must have ended before
// ThresholdAbort judges a threshold: fewer say little about a percentile.
const liveMinRuns = 100

// checkLive stops the run at the first threshold broken so far, under
// Runner.ThresholdAbort. It runs on the timeline's tick.
func (rs *runState) checkLive() {
	if !rs.cfg.ThresholdAbort || len(rs.thresholds) == 0 || rs.stopping() {
		return
	}
	// Only the requests that a threshold names need their latencies.
	named := map[string]bool{}
	for _, t := range rs.thresholds {
		if t.Scope == threshold.Request {
			named[t.Name] = true
		}
	}
	res := rs.resultWith(func(name string) bool { return named[name] })
	if res.OK+res.Failed < liveMinRuns {
		return
	}
	for _, t := range rs.thresholds {
		if !t.CheckableLive() {
			continue
		}
		if v := t.Measure(figures{res}); !math.IsNaN(v) && !t.Holds(v) {
			rs.logger.Warn("threshold broken: stopping the run (Runner.ThresholdAbort)",
				zap.String("threshold", t.Expr), zap.String("measured", t.Format(v)), zap.Duration("after", res.Elapsed.Round(time.Millisecond)))
			rs.stop(StopThreshold)
			return
		}
	}
}

// diffSnapshot returns the values in cur that are not in prev, a snapshot
// taken earlier of the same histograms. Its Min and Max are the bounds of
// its lowest and highest non-empty buckets.
func diffSnapshot(cur, prev *hist.Snapshot) *hist.Snapshot {
	d := &hist.Snapshot{Counts: make([]int64, hist.NumBuckets)}
	first, last := -1, -1
	for i := range cur.Counts {
		c := cur.Counts[i]
		if i < len(prev.Counts) {
			c -= prev.Counts[i]
		}
		if c <= 0 {
			continue
		}
		d.Counts[i] = c
		d.Count += c
		if first < 0 {
			first = i
		}
		last = i
	}
	if first >= 0 {
		lo, _ := hist.BucketRange(first)
		_, hi := hist.BucketRange(last)
		d.Min, d.Max = time.Duration(lo), time.Duration(hi-1)
		d.Sum = cur.Sum - prev.Sum
	}
	return d
}
