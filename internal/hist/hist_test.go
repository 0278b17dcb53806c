package hist

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// maxRelErr is the relative error the histogram promises for quantiles.
const maxRelErr = 0.01

func relErr(got, want time.Duration) float64 {
	if want == 0 {
		if got == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(got-want)) / math.Abs(float64(want))
}

// logUniform returns n durations spread log-uniformly over [lo, hi).
func logUniform(r *rand.Rand, n int, lo, hi time.Duration) []time.Duration {
	a, b := math.Log(float64(lo)), math.Log(float64(hi))
	vs := make([]time.Duration, n)
	for i := range vs {
		vs[i] = time.Duration(math.Exp(a + r.Float64()*(b-a)))
	}
	return vs
}

// nearestRank returns the q-quantile of sorted using the nearest-rank method.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func record(vs []time.Duration) *Histogram {
	h := new(Histogram)
	for _, v := range vs {
		h.Record(v)
	}
	return h
}

func TestQuantileAccuracy(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		lo, hi time.Duration
	}{
		{"1us-10min", 200_000, time.Microsecond, 10 * time.Minute},
		{"100ns-1ms", 50_000, 100 * time.Nanosecond, time.Millisecond},
		{"narrow-1ms", 10_000, time.Millisecond, 1100 * time.Microsecond},
		{"few-values", 7, time.Microsecond, time.Second},
	}
	quantiles := []float64{0.5, 0.9, 0.95, 0.99, 0.999}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tt.n)))
			vs := logUniform(r, tt.n, tt.lo, tt.hi)
			s := record(vs).Snapshot()
			slices.Sort(vs)

			if s.Count != int64(tt.n) {
				t.Fatalf("Count = %d, want %d", s.Count, tt.n)
			}
			if got := s.Quantile(0); got != vs[0] {
				t.Errorf("Quantile(0) = %v, want Min %v", got, vs[0])
			}
			if got := s.Quantile(1); got != vs[len(vs)-1] {
				t.Errorf("Quantile(1) = %v, want Max %v", got, vs[len(vs)-1])
			}
			for _, q := range quantiles {
				want := nearestRank(vs, q)
				got := s.Quantile(q)
				if e := relErr(got, want); e > maxRelErr {
					t.Errorf("Quantile(%v) = %v, want %v (relative error %.4f > %v)", q, got, want, e, maxRelErr)
				}
			}
		})
	}
}

func TestQuantileSingleValue(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	values := []time.Duration{
		0, 1, 2, 127, 128, 255, 256, 257, 300, 511, 512, 1000,
		time.Microsecond, 1234567, time.Millisecond, time.Second,
		time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour,
	}
	values = append(values, logUniform(r, 2000, 1, time.Duration(maxTrackable))...)
	for _, v := range values {
		// v alone: Quantile(0.5) selects Min, which is exact.
		var h Histogram
		h.Record(v)
		if got := h.Snapshot().Quantile(0.5); relErr(got, v) > maxRelErr {
			t.Errorf("single %v: Quantile(0.5) = %v", v, got)
		}

		// v as the median between far-away extremes, so the bucket's
		// representative value is returned without clamping.
		h.Reset()
		h.Record(0)
		h.Record(v)
		h.Record(v)
		h.Record(v)
		h.Record(time.Duration(maxTrackable - 1))
		if got := h.Snapshot().Quantile(0.5); relErr(got, v) > maxRelErr {
			t.Errorf("median %v: Quantile(0.5) = %v (relative error %.4f)", v, got, relErr(got, v))
		}
	}
}

func TestQuantileEdges(t *testing.T) {
	s := record([]time.Duration{10, 20, 30, 40, 50}).Snapshot()
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{-1, 10},
		{math.NaN(), 10},
		{0, 10},
		{0.2, 10}, // rank 1
		{0.21, 20},
		{0.5, 30},
		{0.8, 40},
		{0.81, 50}, // rank 5
		{1, 50},
		{2, 50},
	}
	for _, tt := range tests {
		if got := s.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestBucketLayout(t *testing.T) {
	if NumBuckets != 256+35*128 {
		t.Fatalf("NumBuckets = %d, want %d", NumBuckets, 256+35*128)
	}
	var prevHi int64
	for i := range NumBuckets {
		lo, hi := BucketRange(i)
		if lo != prevHi {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
		if hi <= lo {
			t.Fatalf("bucket %d: empty range [%d, %d)", i, lo, hi)
		}
		if lo < 256 && hi-lo != 1 {
			t.Fatalf("bucket %d: [%d, %d) not exact below 256", i, lo, hi)
		}
		if lo >= 256 && float64(hi-lo)/float64(lo) > 1.0/128 {
			t.Fatalf("bucket %d: [%d, %d) relative width %v > 1/128", i, lo, hi, float64(hi-lo)/float64(lo))
		}
		if got := BucketIndex(lo); got != i {
			t.Fatalf("BucketIndex(%d) = %d, want %d", lo, got, i)
		}
		if got := BucketIndex(hi - 1); got != i {
			t.Fatalf("BucketIndex(%d) = %d, want %d", hi-1, got, i)
		}
		prevHi = hi
	}
	if prevHi != maxTrackable {
		t.Fatalf("top bucket ends at %d, want 2^43", prevHi)
	}
}

func TestBucketIndex(t *testing.T) {
	tests := []struct {
		ns   int64
		want int
	}{
		{math.MinInt64, 0},
		{-1, 0},
		{0, 0},
		{1, 1},
		{255, 255},
		{256, 256},
		{257, 256},
		{258, 257},
		{511, 383},
		{512, 384},
		{maxTrackable - 1, NumBuckets - 1},
		{maxTrackable, NumBuckets - 1},
		{math.MaxInt64, NumBuckets - 1},
	}
	for _, tt := range tests {
		if got := BucketIndex(tt.ns); got != tt.want {
			t.Errorf("BucketIndex(%d) = %d, want %d", tt.ns, got, tt.want)
		}
	}

	// Random values: the bucket contains them and indexes are monotonic.
	r := rand.New(rand.NewPCG(3, 3))
	vs := make([]int64, 100_000)
	for i := range vs {
		// Uniform bit length, then uniform below it, to cover all scales.
		vs[i] = r.Int64N(int64(1) << r.IntN(44))
	}
	slices.Sort(vs)
	prev := 0
	for _, v := range vs {
		i := BucketIndex(v)
		if lo, hi := BucketRange(i); v < lo || v >= hi {
			t.Fatalf("BucketRange(BucketIndex(%d)) = [%d, %d)", v, lo, hi)
		}
		if i < prev {
			t.Fatalf("BucketIndex(%d) = %d < %d for a smaller value", v, i, prev)
		}
		prev = i
	}
}

func TestBucketRangePanics(t *testing.T) {
	for _, i := range []int{-1, NumBuckets} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("BucketRange(%d) did not panic", i)
				}
			}()
			BucketRange(i)
		}()
	}
}

func TestConcurrentRecord(t *testing.T) {
	const (
		goroutines = 8
		perG       = 100_000
	)
	value := func(g, i int) time.Duration {
		// Distinct per goroutine, spanning ns to ~hours.
		return time.Duration((int64(i)*int64(g+1))<<(i%30) + int64(g))
	}

	var (
		h       Histogram
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		snapsWG sync.WaitGroup
	)
	// Take snapshots while recording, checking their internal consistency.
	snapsWG.Add(1)
	go func() {
		defer snapsWG.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := h.Snapshot()
			var n int64
			for _, c := range s.Counts {
				n += c
			}
			if n != s.Count {
				t.Errorf("snapshot Count %d != sum of Counts %d", s.Count, n)
				return
			}
			if s.Count > 0 && (s.Quantile(0.5) < s.Min || s.Quantile(0.5) > s.Max) {
				t.Errorf("snapshot median outside [Min, Max]")
				return
			}
		}
	}()

	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				h.Record(value(g, i))
			}
		}()
	}
	wg.Wait()
	close(stop)
	snapsWG.Wait()

	var seq Histogram
	for g := range goroutines {
		for i := range perG {
			seq.Record(value(g, i))
		}
	}
	want := seq.Snapshot()
	if got := h.Count(); got != goroutines*perG {
		t.Errorf("Count() = %d, want %d", got, goroutines*perG)
	}
	got := h.Snapshot()
	if got.Count != want.Count || got.Sum != want.Sum || got.Min != want.Min || got.Max != want.Max {
		t.Errorf("got Count=%d Sum=%d Min=%v Max=%v, want Count=%d Sum=%d Min=%v Max=%v",
			got.Count, got.Sum, got.Min, got.Max, want.Count, want.Sum, want.Min, want.Max)
	}
	if !slices.Equal(got.Counts, want.Counts) {
		t.Errorf("bucket counts differ from sequential recording")
	}
}

func TestMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	a := logUniform(r, 5000, time.Microsecond, time.Second)
	b := logUniform(r, 3000, 10*time.Millisecond, time.Minute)
	b = append(b, -time.Second, 5*time.Hour)

	want := record(append(slices.Clone(a), b...)).Snapshot()

	tests := []struct {
		name string
		dst  *Snapshot
		src  *Snapshot
	}{
		{"a+b", record(a).Snapshot(), record(b).Snapshot()},
		{"b+a", record(b).Snapshot(), record(a).Snapshot()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.dst.Merge(tt.src)
			if !reflect.DeepEqual(tt.dst, want) {
				t.Errorf("merged = {Count:%d Sum:%d Min:%v Max:%v}, want {Count:%d Sum:%d Min:%v Max:%v} (counts equal: %v)",
					tt.dst.Count, tt.dst.Sum, tt.dst.Min, tt.dst.Max,
					want.Count, want.Sum, want.Min, want.Max, slices.Equal(tt.dst.Counts, want.Counts))
			}
		})
	}

	t.Run("into-zero", func(t *testing.T) {
		var s Snapshot
		s.Merge(record(a).Snapshot())
		s.Merge(record(b).Snapshot())
		if !reflect.DeepEqual(&s, want) {
			t.Errorf("merge into zero Snapshot differs")
		}
	})
	t.Run("empty-and-nil", func(t *testing.T) {
		s := record(a).Snapshot()
		orig := record(a).Snapshot()
		s.Merge(nil)
		s.Merge(&Snapshot{})
		s.Merge(new(Histogram).Snapshot())
		if !reflect.DeepEqual(s, orig) {
			t.Errorf("merging empty snapshots changed the result")
		}
	})
	t.Run("does-not-alias", func(t *testing.T) {
		var s Snapshot
		src := record(a).Snapshot()
		s.Merge(src)
		s.Merge(src)
		if src.Count != int64(len(a)) || s.Count != 2*int64(len(a)) {
			t.Errorf("src.Count = %d, s.Count = %d", src.Count, s.Count)
		}
		if s.Counts[BucketIndex(int64(a[0]))] != 2*src.Counts[BucketIndex(int64(a[0]))] {
			t.Errorf("merge did not double the counts")
		}
	})
}

func TestMeanStdDev(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	uniform := make([]time.Duration, 10_000)
	for i := range uniform {
		uniform[i] = time.Millisecond + time.Duration(r.Int64N(int64(time.Millisecond)))
	}
	tests := []struct {
		name string
		vs   []time.Duration
	}{
		{"small-ints", []time.Duration{2, 4, 4, 4, 5, 5, 7, 9}}, // mean 5, stddev 2
		{"micros", []time.Duration{100 * time.Microsecond, 200 * time.Microsecond, 300 * time.Microsecond, 400 * time.Microsecond}},
		{"uniform-1-2ms", uniform},
		{"log-uniform", logUniform(r, 10_000, time.Microsecond, 10*time.Second)},
		{"constant", []time.Duration{time.Second, time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sum float64
			for _, v := range tt.vs {
				sum += float64(v)
			}
			mean := sum / float64(len(tt.vs))
			var sq float64
			for _, v := range tt.vs {
				d := float64(v) - mean
				sq += d * d
			}
			std := time.Duration(math.Sqrt(sq / float64(len(tt.vs))))

			s := record(tt.vs).Snapshot()
			if got := s.Mean(); relErr(got, time.Duration(mean)) > maxRelErr {
				t.Errorf("Mean() = %v, want %v", got, time.Duration(mean))
			}
			if got := s.StdDev(); relErr(got, std) > maxRelErr {
				t.Errorf("StdDev() = %v, want %v", got, std)
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	var h Histogram
	snaps := map[string]*Snapshot{
		"zero-histogram": h.Snapshot(),
		"zero-snapshot":  {},
	}
	for name, s := range snaps {
		t.Run(name, func(t *testing.T) {
			if s.Count != 0 || s.Sum != 0 || s.Min != 0 || s.Max != 0 {
				t.Errorf("snapshot = %+v, want zeros", *s)
			}
			for _, q := range []float64{0, 0.5, 1} {
				if got := s.Quantile(q); got != 0 {
					t.Errorf("Quantile(%v) = %v, want 0", q, got)
				}
			}
			if s.Mean() != 0 || s.StdDev() != 0 {
				t.Errorf("Mean() = %v, StdDev() = %v, want 0", s.Mean(), s.StdDev())
			}
		})
	}
	if got := len(h.Snapshot().Counts); got > NumBuckets {
		t.Errorf("len(Counts) = %d, above %d", got, NumBuckets)
	}
	if h.Count() != 0 {
		t.Errorf("Count() = %d, want 0", h.Count())
	}
}

func TestClamping(t *testing.T) {
	huge := 100 * time.Hour
	tests := []struct {
		name    string
		v       time.Duration
		bucket  int
		wantMin time.Duration
		wantMax time.Duration
		wantSum int64
	}{
		{"negative", -5 * time.Second, 0, 0, 0, 0},
		{"min-int", math.MinInt64, 0, 0, 0, 0},
		{"huge", huge, NumBuckets - 1, huge, huge, int64(huge)},
		{"max-int", math.MaxInt64, NumBuckets - 1, math.MaxInt64, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			h.Record(tt.v)
			s := h.Snapshot()
			if s.Counts[tt.bucket] != 1 || s.Count != 1 {
				t.Errorf("Counts[%d] = %d, Count = %d, want 1, 1", tt.bucket, s.Counts[tt.bucket], s.Count)
			}
			if s.Min != tt.wantMin || s.Max != tt.wantMax || s.Sum != tt.wantSum {
				t.Errorf("Min=%v Max=%v Sum=%d, want Min=%v Max=%v Sum=%d", s.Min, s.Max, s.Sum, tt.wantMin, tt.wantMax, tt.wantSum)
			}
			if got := s.Quantile(0.5); got != tt.wantMax {
				t.Errorf("Quantile(0.5) = %v, want %v", got, tt.wantMax)
			}
		})
	}

	// A huge value among others: Max stays exact, high quantiles are clamped
	// to [Min, Max].
	var h Histogram
	for range 98 {
		h.Record(time.Millisecond)
	}
	h.Record(huge)
	h.Record(huge + time.Hour)
	s := h.Snapshot()
	if s.Max != huge+time.Hour {
		t.Errorf("Max = %v, want %v", s.Max, huge+time.Hour)
	}
	if got := s.Quantile(0.99); got < s.Min || got > s.Max || got < time.Duration(maxTrackable)/2 {
		t.Errorf("Quantile(0.99) = %v, want in top bucket and within [Min, Max]", got)
	}
}

func TestReset(t *testing.T) {
	var h Histogram
	for _, v := range []time.Duration{1, time.Millisecond, time.Hour} {
		h.Record(v)
	}
	h.Reset()
	if !reflect.DeepEqual(h.Snapshot(), new(Histogram).Snapshot()) || h.Count() != 0 {
		t.Fatalf("Reset did not clear the histogram")
	}
	h.Record(time.Second)
	s := h.Snapshot()
	if s.Min != time.Second || s.Max != time.Second || s.Count != 1 {
		t.Errorf("after Reset: Min=%v Max=%v Count=%d", s.Min, s.Max, s.Count)
	}
}

// allocatedChunks returns the number of h's chunks that are allocated.
func allocatedChunks(h *Histogram) int {
	n := 0
	for k := range h.chunks {
		if h.chunks[k].Load() != nil {
			n++
		}
	}
	return n
}

func TestRecordAllocs(t *testing.T) {
	const runs = 20
	tests := []struct {
		name string
		// value returns the value of the i-th call, the warm-up call of
		// AllocsPerRun being call 0.
		value func(i int) time.Duration
		// warm records every value once before measuring, so that all
		// the chunks they need are allocated.
		warm bool
		want float64
	}{
		{"same chunk", func(i int) time.Duration { return time.Duration(1<<20 + i*977) }, false, 0},
		{"chunks allocated", func(i int) time.Duration { return time.Duration(12345) << i }, true, 0},
		{"new chunk each call", func(i int) time.Duration { return time.Duration(12345) << i }, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			if tt.warm {
				for i := range runs + 1 {
					h.Record(tt.value(i))
				}
			}
			i := 0
			n := testing.AllocsPerRun(runs, func() { h.Record(tt.value(i)); i++ })
			if n != tt.want {
				t.Errorf("Record allocates %v times per call, want %v", n, tt.want)
			}
		})
	}
}

func TestChunkAllocation(t *testing.T) {
	tests := []struct {
		name string
		vs   []time.Duration
		want int
	}{
		{"none", nil, 0},
		{"one power of two", []time.Duration{1 << 20, 1<<20 + 1, 1<<20 + 12345, 1<<21 - 1}, 1},
		{"negative as 0", []time.Duration{-time.Second, 0}, 1},
		{"exact buckets", []time.Duration{0, 127, 128, 255}, 2},
		{"clamped to top", []time.Duration{time.Duration(maxTrackable), math.MaxInt64}, 1},
		// 100µs..10ms lies in [2^16, 2^24): eight powers of two.
		{"100us-10ms", append(logUniform(rand.New(rand.NewPCG(8, 8)), 1000, 100*time.Microsecond, 10*time.Millisecond),
			100*time.Microsecond, 10*time.Millisecond), 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := record(tt.vs)
			if got := allocatedChunks(h); got != tt.want {
				t.Errorf("%d chunks allocated, want %d", got, tt.want)
			}
			h.Reset()
			if got := allocatedChunks(h); got != tt.want {
				t.Errorf("%d chunks allocated after Reset, want %d kept", got, tt.want)
			}
		})
	}
}

func TestSize(t *testing.T) {
	var h Histogram
	size := unsafe.Sizeof(h)
	t.Logf("unsafe.Sizeof(Histogram{}) = %d bytes, NumBuckets = %d", size, NumBuckets)
	if size >= 1024 {
		t.Errorf("Sizeof(Histogram) = %d, want under 1 KiB", size)
	}
	// Record writes count and sum every time but mostly only reads the
	// others, so a cache line's worth of padding must keep them apart.
	gaps := []struct {
		name        string
		first, next uintptr // offsets of the last field before and the first after the gap
	}{
		{"max..count", unsafe.Offsetof(h.max), unsafe.Offsetof(h.count)},
		{"sum..chunks", unsafe.Offsetof(h.sum), unsafe.Offsetof(h.chunks)},
	}
	for _, g := range gaps {
		if g.next-g.first < 64+8 {
			t.Errorf("%s: offsets %d and %d are less than a cache line apart", g.name, g.first, g.next)
		}
	}
}

// TestConcurrentFirstRecord starts many goroutines at once on a fresh
// histogram, recording the same values in the same order, so that they race
// to allocate every chunk; a goroutine that counted into a chunk that lost
// the race would lose its count.
func TestConcurrentFirstRecord(t *testing.T) {
	const (
		goroutines = 16
		rounds     = 50
	)
	// Three buckets of every chunk: its first, one in the middle, its last.
	var vs []time.Duration
	for k := range numChunks {
		for _, j := range []int{0, subCount / 2, subCount - 1} {
			lo, _ := BucketRange(k*subCount + j)
			vs = append(vs, time.Duration(lo))
		}
	}
	want := make([]int64, NumBuckets)
	for _, v := range vs {
		want[BucketIndex(int64(v))] += goroutines
	}

	for round := range rounds {
		var (
			h     Histogram
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for _, v := range vs {
					h.Record(v)
				}
			}()
		}
		close(start)
		wg.Wait()

		s := h.Snapshot()
		if h.Count() != goroutines*int64(len(vs)) || s.Count != h.Count() {
			t.Fatalf("round %d: Count() = %d, Snapshot().Count = %d, want %d", round, h.Count(), s.Count, goroutines*len(vs))
		}
		for i := range want {
			if s.Counts[i] != want[i] {
				t.Fatalf("round %d: Counts[%d] = %d, want %d", round, i, s.Counts[i], want[i])
			}
		}
		if got := allocatedChunks(&h); got != numChunks {
			t.Fatalf("round %d: %d chunks allocated, want %d", round, got, numChunks)
		}
	}
}

// denseHist is a reference for Histogram: the plain, non-concurrent
// histogram with every bucket allocated that Histogram behaves like.
type denseHist struct {
	counts           [NumBuckets]int64
	count, sum       int64
	minimum, maximum time.Duration
}

func (d *denseHist) record(v time.Duration) {
	v = max(v, 0)
	if d.count == 0 || v < d.minimum {
		d.minimum = v
	}
	d.maximum = max(d.maximum, v)
	d.count++
	d.sum += int64(v)
	d.counts[BucketIndex(int64(v))]++
}

func (d *denseHist) snapshot() *Snapshot {
	s := &Snapshot{Counts: slices.Clone(d.counts[:])}
	if d.count > 0 {
		s.Count, s.Sum, s.Min, s.Max = d.count, d.sum, d.minimum, d.maximum
	}
	return s
}

func TestSnapshotMatchesDense(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var powers []time.Duration
	for k := range maxExp + 1 {
		powers = append(powers, 1<<k, 1<<k-1)
	}
	tests := []struct {
		name string
		// before is recorded and then reset, so that the chunks it
		// allocated must count from 0 again.
		before, vs []time.Duration
	}{
		{"empty", nil, nil},
		{"zero", nil, []time.Duration{0}},
		{"negative", nil, []time.Duration{-1, math.MinInt64}},
		{"exact buckets", nil, []time.Duration{0, 1, 127, 128, 200, 255, 255}},
		{"one power of two", nil, []time.Duration{4096, 5000, 8191}},
		{"sparse extremes", nil, []time.Duration{3, time.Duration(maxTrackable - 1), math.MaxInt64, 300}},
		{"every power of two", nil, powers},
		{"100us-10ms", nil, logUniform(r, 5000, 100*time.Microsecond, 10*time.Millisecond)},
		{"1us-10min", nil, logUniform(r, 5000, time.Microsecond, 10*time.Minute)},
		{"after reset", powers, logUniform(r, 100, time.Millisecond, time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := record(tt.before)
			h.Reset()
			var ref denseHist
			for _, v := range tt.vs {
				h.Record(v)
				ref.record(v)
			}
			got, want := h.Snapshot(), ref.snapshot()
			if got.Count != want.Count || got.Sum != want.Sum || got.Min != want.Min || got.Max != want.Max {
				t.Errorf("got Count=%d Sum=%d Min=%v Max=%v, want Count=%d Sum=%d Min=%v Max=%v",
					got.Count, got.Sum, got.Min, got.Max, want.Count, want.Sum, want.Min, want.Max)
			}
			if len(got.Counts) > len(want.Counts) {
				t.Fatalf("len(Counts) = %d, above %d", len(got.Counts), len(want.Counts))
			}
			for i := range want.Counts {
				var c int64 // buckets past the end of Counts count nothing
				if i < len(got.Counts) {
					c = got.Counts[i]
				}
				if c != want.Counts[i] {
					t.Errorf("Counts[%d] = %d, want %d", i, c, want.Counts[i])
				}
			}
		})
	}
}

// benchValues returns a power-of-two-sized set of realistic latencies.
func benchValues() []time.Duration {
	return logUniform(rand.New(rand.NewPCG(6, 6)), 1<<12, 10*time.Microsecond, 10*time.Second)
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	vs := benchValues()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(vs[i&(len(vs)-1)])
		i++
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	var h Histogram
	vs := benchValues()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(vs))
		for pb.Next() {
			h.Record(vs[i&(len(vs)-1)])
			i++
		}
	})
}

func BenchmarkSnapshotQuantile(b *testing.B) {
	h := record(benchValues())
	b.ReportAllocs()
	for b.Loop() {
		s := h.Snapshot()
		_ = s.Quantile(0.99)
	}
}

// sink makes the histograms of BenchmarkRecordedMemory escape to the heap,
// where the live ones of a run are.
var sink *Histogram

// BenchmarkRecordedMemory measures what one Histogram holding a typical
// latency distribution (100µs to 10ms) costs: B/op is its whole memory, since
// the values are prepared outside the loop and nothing it allocates is freed
// before it is dropped.
func BenchmarkRecordedMemory(b *testing.B) {
	vs := logUniform(rand.New(rand.NewPCG(7, 7)), 1000, 100*time.Microsecond, 10*time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		h := new(Histogram)
		for _, v := range vs {
			h.Record(v)
		}
		sink = h
	}
}
