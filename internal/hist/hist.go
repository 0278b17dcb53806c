// Package hist implements a concurrent-safe, lock-free, log-linear latency
// histogram.
//
// The bucket layout resembles an HdrHistogram with two significant decimal
// digits. Values from 0 to 255 ns each have an exact bucket of their own.
// Above that, every power-of-two range [2^k, 2^(k+1)) for k = 8..42 is split
// into 128 equal sub-buckets, so each bucket is at most 1/128 (≈0.78%) of
// its lower bound wide. Quantiles read from a Snapshot therefore have a
// relative error of at most 1/256 (≈0.39%). Values of 2^43 ns (≈2.44h) or
// more are counted in the top bucket.
//
// A Histogram keeps its atomic counters in chunks of 128 buckets, one per
// power of two (two for the exact buckets), each allocated the first time a
// value falls into it. A run keeps several histograms alive for its whole
// length, and real latencies span only a few powers of two, so allocating
// all 4736 counters up front would mostly hold zeros and shrink the garbage
// collector's runway. Its memory therefore depends on which ranges of values
// were recorded, but not on how many values or on how many goroutines record
// them: at most about 38 KiB.
package hist

import (
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	// subBits is log2 of the number of sub-buckets per power of two.
	subBits = 7
	// subCount is the number of sub-buckets per power of two.
	subCount = 1 << subBits // 128
	// linearMax is the first value that is not recorded in an exact
	// one-nanosecond bucket.
	linearMax = 2 * subCount // 256
	// maxExp is the exponent of the first value that no longer fits in
	// the bucket layout; larger values are clamped to the top bucket.
	maxExp = 43
	// maxTrackable is the smallest value counted in the top bucket
	// without fitting into its range.
	maxTrackable = int64(1) << maxExp
)

// NumBuckets is the number of buckets of a Histogram and the length of
// Snapshot.Counts: 256 exact buckets for 0..255 ns followed by 128
// sub-buckets for each of the 35 powers of two from 2^8 to 2^42.
const NumBuckets = linearMax + (maxExp-8)*subCount // 4736

// numChunks is the number of chunks that a Histogram's buckets are split
// into: bucket i is counter i%subCount of chunk i/subCount. Splitting the
// exact buckets into two chunks as well keeps every chunk the same size and
// the lookup a shift and a mask.
const numChunks = NumBuckets / subCount // 37

// chunk holds the counters of subCount consecutive buckets.
type chunk [subCount]atomic.Int64

// cacheLinePad keeps groups of hot fields on separate cache lines.
type cacheLinePad [64]byte

// Histogram records durations (nanoseconds) into log-linear buckets. The zero
// value is ready to use.
//
// Histogram is safe for concurrent use: Record is lock-free; it only
// performs atomic operations, no mutex is taken. Record allocates only the
// first time a value falls into a chunk of buckets that nothing has used yet
// (at most once per power of two in a Histogram's life).
// A Histogram must not be copied after first use.
type Histogram struct {
	// notMin holds math.MaxInt64 - min, so that the zero value stands for
	// "no minimum yet" and the minimum can be tracked with a max-update.
	notMin atomic.Int64
	max    atomic.Int64
	_      cacheLinePad

	// count and sum are written by every Record, so they have a cache
	// line of their own, away from the fields that Record mostly reads.
	count atomic.Int64
	sum   atomic.Int64
	_     cacheLinePad

	// chunks holds the bucket counters, nil until first used. A pointer is
	// set once, by compare-and-swap, and never changes afterwards.
	chunks [numChunks]atomic.Pointer[chunk]
}

// Record adds d to the histogram. Negative durations are recorded as 0.
// Durations of 2^43 ns (≈2.44h) or more are counted in the top bucket, but
// the exact value is still reflected in the maximum and the sum.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	// Update min and max before the bucket so that any value visible in a
	// Snapshot's counts is also reflected in its Min and Max.
	if nm := math.MaxInt64 - v; nm > h.notMin.Load() {
		for {
			old := h.notMin.Load()
			if nm <= old || h.notMin.CompareAndSwap(old, nm) {
				break
			}
		}
	}
	if v > h.max.Load() {
		for {
			old := h.max.Load()
			if v <= old || h.max.CompareAndSwap(old, v) {
				break
			}
		}
	}
	h.sum.Add(v)
	// Unsigned, so that the division and the remainder are a shift and a
	// mask, and the remainder needs no bounds check.
	i := uint(BucketIndex(v))
	c := h.chunks[i/subCount].Load()
	if c == nil {
		c = h.newChunk(i / subCount)
	}
	c[i%subCount].Add(1)
	h.count.Add(1)
}

// newChunk returns chunk k, allocating it if no other goroutine has yet.
// Racing goroutines each allocate one, but only the first compare-and-swap
// publishes its chunk; the others drop theirs and count into the winner's,
// so no count is lost. It is kept out of Record so that Record's common path
// stays short.
func (h *Histogram) newChunk(k uint) *chunk {
	c := new(chunk)
	if h.chunks[k].CompareAndSwap(nil, c) {
		return c
	}
	return h.chunks[k].Load()
}

// Count returns the number of values recorded so far.
func (h *Histogram) Count() int64 {
	return h.count.Load()
}

// Snapshot returns a copy of the histogram's current state. It is safe to
// call while other goroutines Record. Concurrent recordings may or may not be
// included; the returned Count always equals the sum of its Counts, and its
// Min and Max cover every value included in Counts.
func (h *Histogram) Snapshot() *Snapshot {
	// Counts reaches as far as the highest chunk in use: a histogram of
	// short latencies (most of a registry of thousands of scenarios) has a
	// small snapshot.
	hi := -1
	for k := range h.chunks {
		if h.chunks[k].Load() != nil {
			hi = k
		}
	}
	s := &Snapshot{}
	if hi < 0 {
		return s
	}
	s.Counts = make([]int64, (hi+1)*subCount)
	var n int64
	for k := 0; k <= hi; k++ {
		// A chunk not allocated yet has counted nothing: a Record loads
		// or publishes the chunk before it counts into it.
		c := h.chunks[k].Load()
		if c == nil {
			continue
		}
		counts := s.Counts[k*subCount : (k+1)*subCount]
		for j := range c {
			counts[j] = c[j].Load()
			n += counts[j]
		}
	}
	s.Count = n
	if n == 0 {
		return &Snapshot{} // reset, or chunks made by records still under way
	}
	s.trim()
	s.Sum = h.sum.Load()
	s.Min = time.Duration(math.MaxInt64 - h.notMin.Load())
	s.Max = time.Duration(h.max.Load())
	return s
}

// Reset clears the histogram. Reset is not atomic: values recorded
// concurrently with Reset may be partially lost, so callers must not Record
// while Reset runs if they need exact results. The chunks already allocated
// are zeroed and kept, since a histogram that is reset usually goes on to
// record values in the same ranges.
func (h *Histogram) Reset() {
	h.count.Store(0)
	h.sum.Store(0)
	h.notMin.Store(0)
	h.max.Store(0)
	for k := range h.chunks {
		if c := h.chunks[k].Load(); c != nil {
			for j := range c {
				c[j].Store(0)
			}
		}
	}
}

// Snapshot is an immutable-by-convention copy of a Histogram's state, cheap
// to query. The zero value is an empty snapshot.
type Snapshot struct {
	// Count is the number of recorded values and Sum their total in
	// nanoseconds (negative values counted as 0).
	Count, Sum int64
	// Min and Max are the exact smallest and largest recorded values;
	// both are 0 for an empty snapshot.
	Min, Max time.Duration
	// Counts holds the number of values per bucket; see BucketIndex and
	// BucketRange. It ends at its last non-empty bucket (it is empty for an
	// empty Snapshot), so a histogram of short latencies has a short
	// snapshot: buckets past its end count nothing.
	Counts []int64
}

// Quantile returns an estimate of the q-quantile of the recorded values,
// using the nearest-rank definition: the value at rank ceil(q*Count) in
// sorted order. q is clamped to [0, 1]; 0 returns Min and 1 returns Max, as
// do ranks that select the smallest or largest value. Otherwise the midpoint
// of the bucket holding that rank is returned, clamped to [Min, Max]; its
// relative error is at most 1/256. Quantile returns 0 for an empty snapshot.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.Count <= 0 {
		return 0
	}
	if !(q > 0) { // also catches NaN
		return s.Min
	}
	if q >= 1 {
		return s.Max
	}
	rank := int64(math.Ceil(q * float64(s.Count)))
	if rank <= 1 {
		return s.Min
	}
	if rank >= s.Count {
		return s.Max
	}
	var cum int64
	for i, c := range s.Counts {
		cum += c
		if cum >= rank {
			lo, hi := BucketRange(i)
			return s.clamp(time.Duration(lo + (hi-1-lo)/2))
		}
	}
	return s.Max
}

// clamp limits d to [s.Min, s.Max].
func (s *Snapshot) clamp(d time.Duration) time.Duration {
	return min(max(d, s.Min), s.Max)
}

// Mean returns the exact arithmetic mean of the recorded values, or 0 for an
// empty snapshot.
func (s *Snapshot) Mean() time.Duration {
	if s.Count <= 0 {
		return 0
	}
	return time.Duration(s.Sum / s.Count)
}

// StdDev returns the population standard deviation of the recorded values,
// or 0 for an empty snapshot. It is computed from the bucket midpoints
// (clamped to [Min, Max]) around the exact mean, so each value contributes
// with a relative error of at most 1/256.
func (s *Snapshot) StdDev() time.Duration {
	if s.Count <= 0 {
		return 0
	}
	mean := float64(s.Sum) / float64(s.Count)
	var acc float64
	for i, c := range s.Counts {
		if c == 0 {
			continue
		}
		lo, hi := BucketRange(i)
		d := float64(s.clamp(time.Duration(lo+(hi-1-lo)/2))) - mean
		acc += float64(c) * d * d
	}
	return time.Duration(math.Sqrt(acc / float64(s.Count)))
}

// Merge adds the values of o into s: counts, sum, minimum and maximum.
// Merging a nil or empty snapshot is a no-op.
func (s *Snapshot) Merge(o *Snapshot) {
	if o == nil || o.Count == 0 {
		return
	}
	if len(s.Counts) < len(o.Counts) {
		c := make([]int64, len(o.Counts))
		copy(c, s.Counts)
		s.Counts = c
	}
	for i, c := range o.Counts {
		s.Counts[i] += c
	}
	if s.Count == 0 {
		s.Min, s.Max = o.Min, o.Max
	} else {
		s.Min = min(s.Min, o.Min)
		s.Max = max(s.Max, o.Max)
	}
	s.Count += o.Count
	s.Sum += o.Sum
}

// trim cuts Counts after its last non-empty bucket.
func (s *Snapshot) trim() {
	n := len(s.Counts)
	for n > 0 && s.Counts[n-1] == 0 {
		n--
	}
	s.Counts = s.Counts[:n]
}

// BucketIndex returns the index of the bucket that counts a value of ns
// nanoseconds. Negative values map to bucket 0 and values of 2^43 or more to
// the top bucket, NumBuckets-1.
func BucketIndex(ns int64) int {
	if ns < linearMax {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	if ns >= maxTrackable {
		return NumBuckets - 1
	}
	// ns is in [2^k, 2^(k+1)) with 8 <= k <= 42. Its top subBits+1 bits,
	// ns>>(k-subBits), lie in [128, 256); the first such block starts
	// right after the 256 exact buckets.
	k := bits.Len64(uint64(ns)) - 1
	return (k-subBits)*subCount + int(ns>>(k-subBits))
}

// BucketRange returns the inclusive lower bound lo and the exclusive upper
// bound hi, in nanoseconds, of the values counted in bucket i. The top bucket
// additionally counts all values of hi or more. BucketRange panics if i is
// not in [0, NumBuckets).
func BucketRange(i int) (lo, hi int64) {
	if i < 0 || i >= NumBuckets {
		panic("hist: bucket index out of range")
	}
	if i < linearMax {
		return int64(i), int64(i) + 1
	}
	shift := i/subCount - 1             // k - subBits, from 1 to 35
	sub := int64(i%subCount + subCount) // top bits, from 128 to 255
	return sub << shift, (sub + 1) << shift
}

// FromBuckets rebuilds a snapshot from its non-empty buckets, given as
// [index, count] pairs (the JSON result's form), and its count, sum,
// minimum and maximum. It refuses a bucket out of range and a count that
// is not the sum of the buckets'.
func FromBuckets(count, sum int64, lo, hi time.Duration, buckets [][2]int64) (*Snapshot, error) {
	top := -1 // the highest bucket: Counts need reach no further
	for _, b := range buckets {
		if b[0] < 0 || b[0] >= NumBuckets || b[1] < 0 {
			return nil, fmt.Errorf("histogram bucket [%d, %d] is out of range (index 0..%d, count >= 0)", b[0], b[1], NumBuckets-1)
		}
		top = max(top, int(b[0]))
	}
	s := &Snapshot{Count: count, Sum: sum, Min: lo, Max: hi, Counts: make([]int64, top+1)}
	var n int64
	for _, b := range buckets {
		s.Counts[b[0]] += b[1]
		n += b[1]
	}
	if n != count {
		return nil, fmt.Errorf("histogram count %d is not the sum of its buckets, %d", count, n)
	}
	s.trim()
	return s, nil
}
