package molotov

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/console"
)

func TestCPUBusy(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    Result
		want float64
	}{
		{"half of two", Result{CPU: time.Second, Procs: 2, Elapsed: time.Second}, 0.5},
		{"all of one", Result{CPU: 2 * time.Second, Procs: 1, Elapsed: 2 * time.Second}, 1},
		{"threads beyond GOMAXPROCS are capped", Result{CPU: 3 * time.Second, Procs: 1, Elapsed: 2 * time.Second}, 1},
		{"unknown CPU", Result{Procs: 2, Elapsed: time.Second}, 0},
		{"no GOMAXPROCS", Result{CPU: time.Second, Elapsed: time.Second}, 0},
		{"no time", Result{CPU: time.Second, Procs: 2}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.r.CPUBusy(), 1e-9)
		})
	}
}

// spinRegistry returns a registry whose one scenario, "spin", keeps its
// worker busy for d of wall time per run; it skips t where the process's
// CPU time is not known.
func spinRegistry(t *testing.T, d time.Duration) *Registry {
	t.Helper()
	if !cpuKnown() {
		t.Skipf("the process's CPU time is not known on %s", runtime.GOOS)
	}
	return sbOneScenario("spin", func(context.Context, *Session) error {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
		return nil
	})
}

// A run measures the CPU time its process used from time zero to its end:
// two workers that spin 40 ms per run, 5 runs each, use some 400 ms of
// CPU. The figure is at least a quarter of that, on a machine busy with
// other work, and at most what every CPU could give over the run; the
// JSON result keeps it and the summary shows it.
func TestResultCPU(t *testing.T) {
	const spin, runs = 40 * time.Millisecond, 5
	reg := spinRegistry(t, spin)
	r := Runner{Registry: reg, Workers: 2, MaxRuns: runs, Quiet: true, Output: &bytes.Buffer{}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(2*runs), res.OK)
	assert.Equal(t, runtime.GOMAXPROCS(0), res.Procs)
	assert.GreaterOrEqual(t, res.CPU, 2*runs*spin/4, "the spinning workers' CPU time")
	assert.LessOrEqual(t, res.CPU, time.Duration(runtime.NumCPU())*res.Elapsed+20*time.Millisecond, "more CPU time than the machine had")
	assert.Greater(t, res.CPUBusy(), 0.0)
	assert.LessOrEqual(t, res.CPUBusy(), 1.0)

	var buf bytes.Buffer
	require.NoError(t, res.WriteJSON(&buf))
	assert.Contains(t, buf.String(), `"cpu_ns": `)
	assert.Contains(t, buf.String(), `"procs": `)
	back, err := ReadResult(&buf)
	require.NoError(t, err)
	assert.Equal(t, res.CPU, back.CPU)
	assert.Equal(t, res.Procs, back.Procs)

	var out bytes.Buffer
	console.WriteSummary(&out, summaryOf(res))
	assert.Contains(t, out.String(), "Process CPU: ")
	assert.Contains(t, out.String(), "on GOMAXPROCS=")
}

// cpu_busy judges Result.CPUBusy at the end of the run, and is skipped
// by the live checks of ThresholdAbort, which do not know it yet.
func TestThresholdOnCPUBusy(t *testing.T) {
	reg := spinRegistry(t, 10*time.Millisecond)
	r := Runner{Registry: reg, Workers: 1, Duration: 300 * time.Millisecond, Quiet: true, Output: &bytes.Buffer{},
		Thresholds: []string{"cpu_busy <= 100%", "cpu_busy < 0.001%"}, ThresholdAbort: true}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, StopDuration, res.StopReason, "not aborted live: the CPU is known at the end only")
	require.Len(t, res.Thresholds, 2)
	assert.InDelta(t, res.CPUBusy(), res.Thresholds[0].Value, 1e-12)
	assert.True(t, res.Thresholds[0].Pass)
	assert.False(t, res.Thresholds[1].Pass, "a spinning worker keeps more than 0.001%% of the CPUs busy")
}

// The shares' CPU times and GOMAXPROCS add up in a merge, and each share's
// row keeps its own.
func TestMergeAddsCPU(t *testing.T) {
	reg := spinRegistry(t, 5*time.Millisecond)
	var shares []*Result
	for _, seg := range []string{"0/2", "1/2"} {
		r := Runner{Registry: reg, Workers: 2, MaxRuns: 3, Segment: seg, Quiet: true, Output: &bytes.Buffer{}}
		res, err := r.Run(context.Background())
		require.NoError(t, err)
		require.Positive(t, res.CPU, "share %s", seg)
		shares = append(shares, res)
	}
	merged, err := Merge(shares...)
	require.NoError(t, err)
	assert.Equal(t, shares[0].CPU+shares[1].CPU, merged.CPU)
	assert.Equal(t, shares[0].Procs+shares[1].Procs, merged.Procs)
	require.Len(t, merged.shares, 2)
	for i, row := range merged.shares {
		assert.Equal(t, shares[i].CPU, row.CPU, "share %d", i)
		assert.Equal(t, shares[i].Procs, row.Procs, "share %d", i)
	}
}
