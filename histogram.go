package molotov

import (
	"time"

	"github.com/molotov-go/molotov/internal/hist"
)

// Histogram is a read-only view of a latency histogram: every value
// recorded, in log-linear buckets at most 0.8% wide (0.4% error on a
// quantile). Exporters use it to build their own histograms (see the prom
// package); the JSON result holds it losslessly. The zero Histogram is
// empty.
type Histogram struct{ s *hist.Snapshot }

// Count returns the number of values recorded.
func (h Histogram) Count() int64 {
	if h.s == nil {
		return 0
	}
	return h.s.Count
}

// Sum returns the total of the values recorded.
func (h Histogram) Sum() time.Duration {
	if h.s == nil {
		return 0
	}
	return time.Duration(h.s.Sum)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the values recorded,
// within 0.4%; 0 when the histogram is empty.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.s == nil {
		return 0
	}
	return h.s.Quantile(q)
}

// CountAtOrBelow returns how many values were at most d. A bucket that d
// falls inside counts when d reaches past its middle, so the figure is
// exact but for the values within 0.4% of d.
func (h Histogram) CountAtOrBelow(d time.Duration) int64 {
	if h.s == nil || h.s.Count == 0 || d < 0 {
		return 0
	}
	if d >= h.s.Max {
		return h.s.Count
	}
	var n int64
	for i, c := range h.s.Counts {
		if c == 0 {
			continue
		}
		lo, hi := hist.BucketRange(i)
		if lo > int64(d) {
			break
		}
		if hi-1 <= int64(d) || lo+(hi-lo)/2 <= int64(d) {
			n += c
		}
	}
	return n
}

// Histogram returns the histogram behind the scenario's Latency.
func (s *ScenarioStats) Histogram() Histogram { return Histogram{s.hist} }

// Histogram returns the histogram behind the request's Latency.
func (r *RequestStats) Histogram() Histogram { return Histogram{r.hist} }
