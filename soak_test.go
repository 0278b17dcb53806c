//go:build soak

// Soak tests: long and wide runs, kept out of CI. Run them with
//
//	go test -tags soak -run Soak -v -timeout 10m .
//
// and copy the figures they log into docs/reliability.md.
package molotov

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakServer answers after a short pause, like a real service.
func soakServer(w http.ResponseWriter, r *http.Request) {
	time.Sleep(10 * time.Millisecond)
	io.WriteString(w, `{"ok":true}`)
}

// 2,000 workers for 20 s: after the warm-up, goroutines and memory stay
// flat.
func TestSoak2000Workers(t *testing.T) {
	srv := serveFunc(t, soakServer)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	const workers, dur, warm = 2000, 20 * time.Second, 5 * time.Second
	run, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: dur, RampUp: time.Second, Quiet: true}).Start(context.Background())
	require.NoError(t, err)
	type sample struct {
		at         time.Duration
		goroutines int
		heap       uint64
		ok         int64
	}
	var samples []sample
	start := time.Now()
	for time.Since(start) < dur-time.Second {
		time.Sleep(time.Second)
		samples = append(samples, sample{time.Since(start).Round(time.Second), runtime.NumGoroutine(), liveHeap(), run.Snapshot().OK})
	}
	res, err := run.Wait()
	require.NoError(t, err)
	elapsed := time.Since(start)
	for _, s := range samples {
		t.Logf("t=%v goroutines=%d live heap=%.1fMiB ok=%d", s.at, s.goroutines, float64(s.heap)/(1<<20), s.ok)
	}
	t.Logf("2000 workers, 20s: ok=%d failed=%d (%.0f/s), elapsed %v", res.OK, res.Failed, float64(res.OK)/res.Elapsed.Seconds(), elapsed.Round(time.Millisecond))
	assert.Equal(t, res.Started, res.OK+res.Failed)
	assert.Zero(t, res.Failed, "errors: %v", res.Errors)
	assert.Less(t, elapsed, dur+5*time.Second)

	var after []sample
	for _, s := range samples {
		if s.at > warm {
			after = append(after, s)
		}
	}
	require.GreaterOrEqual(t, len(after), 6)
	// Flat: no upward trend. Goroutines and the live heap (as the last
	// collection measured it, not the heap in use, whose saw-tooth between
	// collections hides a trend) swing from second to second; the last
	// third must not average more than the first third of the samples
	// after warm-up, give or take 10%.
	third := len(after) / 3
	mean := func(ss []sample, f func(sample) float64) float64 {
		var sum float64
		for _, s := range ss {
			sum += f(s)
		}
		return sum / float64(len(ss))
	}
	gor := func(s sample) float64 { return float64(s.goroutines) }
	heap := func(s sample) float64 { return float64(s.heap) }
	first, last := after[:third], after[len(after)-third:]
	assert.LessOrEqual(t, mean(last, gor), 1.1*mean(first, gor), "goroutines grow: %.0f then %.0f", mean(first, gor), mean(last, gor))
	assert.LessOrEqual(t, mean(last, heap), 1.1*mean(first, heap), "memory grows: %.0f then %.0f bytes", mean(first, heap), mean(last, heap))
}

// TestSoakServerChild is the target of the 10,000-worker run, in a process
// of its own: 10,000 connections on each side would not fit one
// process's file descriptors.
func TestSoakServerChild(t *testing.T) {
	if os.Getenv("MOLOTOV_SOAK_SERVER") == "" {
		t.Skip("the target of TestSoak10000Workers, in a child process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fmt.Println("ADDR", ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(soakServer)}
	go srv.Serve(ln)
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	srv.Close()
}

// 10,000 workers start, the run ends on time and nothing is lost.
func TestSoak10000Workers(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSoakServerChild$", "-test.v")
	cmd.Env = append(os.Environ(), "MOLOTOV_SOAK_SERVER=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { stdin.Close(); cmd.Wait() }()
	var addr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	require.NotEmpty(t, addr)
	go io.Copy(io.Discard, stdout)

	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	const workers, dur = 10000, 15 * time.Second
	start := time.Now()
	res, err := (&Runner{Registry: reg, BaseURL: "http://" + addr, Workers: workers, Duration: dur, RampUp: 3 * time.Second, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	elapsed := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak := ms.HeapSys
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("10000 workers, 15s: ok=%d failed=%d (%.0f/s) max workers %d, elapsed %v, heap obtained %.0fMiB, live heap after the run %.1fMiB, goroutines after %d, errors %v",
		res.OK, res.Failed, float64(res.OK)/res.Elapsed.Seconds(), res.MaxWorkers, elapsed.Round(time.Millisecond),
		float64(peak)/(1<<20), float64(ms.HeapAlloc)/(1<<20), runtime.NumGoroutine(), res.Errors)
	assert.Less(t, ms.HeapAlloc, uint64(64<<20), "the run's memory is released when it ends")
	assert.Equal(t, workers, res.MaxWorkers, "every worker started")
	assert.Equal(t, res.Started, res.OK+res.Failed, "nothing lost")
	assert.Zero(t, res.Failed, "errors: %v", res.Errors)
	assert.Less(t, elapsed, dur+10*time.Second, "ends on time")
}

// liveHeap returns the bytes of heap the last garbage collection found
// live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
