//go:build linux

package molotov

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molotov-go/molotov/internal/hist"
)

// The merge at scale: a run split over 1,000 instances, each result with
// 20 request names in 2 scenarios and a 600-second timeline.
const (
	benchShares        = 1000
	benchRequestNames  = 20
	benchSeconds       = 600
	benchValuesPerName = 2000 // latencies recorded per request name and share
)

// benchShare builds share i of the benchmark's run: its histograms hold
// realistic latencies (microseconds to seconds), each request name at its
// own scale.
func benchShare(i int) *Result {
	rng := rand.New(rand.NewPCG(uint64(i), 99))
	res := &Result{
		Segment: fmt.Sprintf("%d/%d", i, benchShares), StopReason: StopDuration,
		Start:     fakeStart.Add(time.Duration(rng.Int64N(int64(300 * time.Millisecond)))),
		Scenarios: map[string]*ScenarioStats{}, Requests: map[string]*RequestStats{},
		MaxWorkers: 10, all: newSnapshot(), maxFailures: 1 << 30,
		opts: &runOptions{Workers: 10 * benchShares, Duration: benchSeconds * time.Second, RequestTimeout: 30 * time.Second,
			MaxResponseBytes: 1 << 20, MaxFailures: 1 << 30, Seed: 1, BaseURL: "http://127.0.0.1:8080",
			Thresholds: []string{"p99 < 2s", "failure_rate < 1%", "request(GET /api/3).p95 < 500ms", "rps > 100"}},
	}
	res.Elapsed = benchSeconds*time.Second + time.Duration(rng.Int64N(int64(50*time.Millisecond)))
	res.End = res.Start.Add(res.Elapsed)
	for k, sc := range fakeScenarios {
		s := &ScenarioStats{hist: newSnapshot()}
		for j := k; j < benchRequestNames; j += len(fakeScenarios) {
			q := &RequestStats{Status: map[int]int64{}, hist: newSnapshot()}
			scale := 1 + float64(j)/4
			for range benchValuesPerName {
				d := time.Duration(float64(realisticLatency(rng)) * scale)
				recordInto(q.hist, d)
			}
			q.Count = q.hist.Count
			q.Errors = q.Count / 200
			q.Status[200], q.Status[503] = q.Count-q.Errors, q.Errors
			q.Latency = latencyOf(q.hist)
			res.Requests["GET /api/"+strconv.Itoa(j)] = q
			s.hist.Merge(q.hist)
			s.Failed += q.Errors
		}
		s.OK = s.hist.Count - s.Failed
		s.Latency, s.ServiceTime = latencyOf(s.hist), latencyOf(s.hist)
		res.Scenarios[sc] = s
		res.all.Merge(s.hist)
		res.OK, res.Failed = res.OK+s.OK, res.Failed+s.Failed
	}
	res.Started, res.latency = res.OK+res.Failed, latencyOf(res.all)
	res.Errors = []ErrorCount{{Error: "GET /api: 503 Service Unavailable", Count: res.Failed}}
	res.Timeline = make([]TimelinePoint, benchSeconds)
	for k := range res.Timeline {
		jitter := time.Duration(rng.Int64N(int64(time.Millisecond)))
		res.Timeline[k] = TimelinePoint{Second: k + 1, OK: res.OK / benchSeconds, Failed: res.Failed / benchSeconds, Workers: 10,
			P50: res.latency.P50 + jitter, P99: res.latency.P99 + 10*jitter}
	}
	return res
}

// recordInto records d in a snapshot, as hist.Histogram.Record does.
func recordInto(s *hist.Snapshot, d time.Duration) {
	if s.Count == 0 || d < s.Min {
		s.Min = d
	}
	s.Max = max(s.Max, d)
	s.Counts[hist.BucketIndex(int64(d))]++
	s.Count++
	s.Sum += int64(d)
}

// peakRSS reports the process's peak resident memory since the last
// resetPeakRSS, in bytes (Linux only; 0 elsewhere).
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(rest, "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime returns the CPU time the process has used, user and system: on
// a machine shared with other work, the figure that wall time is not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS frees what the garbage collector can and starts peakRSS
// over from the memory now resident.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // Linux: reset VmHWM
}

// BenchmarkMerge merges the 1,000 results in memory: the time of Merge,
// and the process's peak memory while it runs, the inputs included.
func BenchmarkMerge(b *testing.B) {
	shares := make([]*Result, benchShares)
	for i := range shares {
		shares[i] = benchShare(i)
	}
	resetPeakRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	inputs := ms.HeapAlloc
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		res, err := Merge(shares...)
		if err != nil {
			b.Fatal(err)
		}
		if res.Started != int64(benchShares*benchRequestNames*benchValuesPerName) {
			b.Fatalf("started %d", res.Started)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(inputs)/(1<<20), "inputs-MiB")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
}

// BenchmarkMergeFiles merges the 1,000 results from their JSON files as
// molotov merge does, one file at a time: the time to read and merge
// them all, and the process's peak memory while it does.
func BenchmarkMergeFiles(b *testing.B) {
	dir := b.TempDir()
	files := make([]string, benchShares)
	var size int64
	for i := range files {
		var buf bytes.Buffer
		if err := benchShare(i).WriteJSON(&buf); err != nil {
			b.Fatal(err)
		}
		files[i] = filepath.Join(dir, fmt.Sprintf("share%04d.json", i))
		if err := os.WriteFile(files[i], buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		size += int64(buf.Len())
	}
	resetPeakRSS()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		var m Merger
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				b.Fatal(err)
			}
			r, err := ReadResult(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Add(file, r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := m.Result(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(size)/(1<<20), "files-MiB")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
}
