package molotov

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// allocsPerRequestBudget is how many allocations a scenario run of one GET
// may cost beyond the same GET on a bare http.Client: the request path's
// tuning, kept by a test so that a tidy-up cannot undo it silently.
const allocsPerRequestBudget = 0

// TestAllocsPerRequest compares the allocations of one request made by a
// Runner's scenario with those of a bare net/http loop, both on in-memory
// connections (pipeDial) so that no server or socket allocates. Each side
// is measured as the difference between a short and a long loop, so that
// the fixed costs (a run's set-up and Result, a client's first dial)
// cancel out and only the per-request allocations remain.
func TestAllocsPerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("measures thousands of requests")
	}
	const short, long = 500, 3500
	client := func(n int) int {
		c := &http.Client{Transport: &http.Transport{DialContext: pipeDial}}
		defer c.CloseIdleConnections()
		for i := 0; i < n; i++ {
			resp, err := c.Get("http://127.0.0.1:1/")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return n
	}
	reg := pipeRegistry()
	// run returns how many requests r made: n in the closed loop, as many
	// as the worker took in the open model.
	run := func(r Runner, n int) int {
		r.Registry, r.Quiet, r.Output = reg, true, io.Discard
		res, err := r.Run(context.Background())
		if err != nil || res.Failed > 0 {
			t.Fatalf("ok=%d failed=%d of %d; err=%v errors=%v", res.OK, res.Failed, n, err, res.Errors)
		}
		return int(res.OK)
	}
	perRequest := func(loop func(int) int) float64 {
		loop(short) // warm up: pools, lazily made tables
		var nShort, nLong int
		a := mallocs(func() { nShort = loop(short) })
		// A busy machine (-race, packages in parallel) gives the open
		// model's timed runs fewer requests: the long run grows until the
		// difference is enough to tell.
		for n := long; ; n *= 4 {
			b := mallocs(func() { nLong = loop(n) })
			if nLong-nShort >= 500 {
				return float64(b-a) / float64(nLong-nShort)
			}
			if n >= 64*long {
				t.Fatalf("%d and %d requests: too few to tell the per-request allocations", nShort, nLong)
			}
		}
	}
	bare := perRequest(client)
	for _, tt := range []struct {
		model  string
		runner func(n int) Runner
	}{
		{"closed loop", func(n int) Runner { return Runner{MaxRuns: n} }},
		// The open model's schedule, hand-offs and start lag are on this
		// path too. Its starts come faster than the one worker takes them
		// (n/5 ms of a schedule of 200,000/s), so that the worker never
		// idles: an idle worker's next request finds net.Pipe's
		// synchronous write still in progress, and net/http then makes a
		// timer of its own (persistConn.wroteRequest), which a TCP
		// connection does not. The starts left queued at the end are
		// dropped without allocating, and only the requests made count.
		{"open model", func(n int) Runner {
			return Runner{Rate: 200000, MaxWorkers: 1, MaxLag: time.Minute, Duration: time.Duration(n) * 200 * time.Microsecond}
		}},
	} {
		t.Run(tt.model, func(t *testing.T) {
			lib := perRequest(func(n int) int { return run(tt.runner(n), n) })
			t.Logf("allocations per request: bare net/http %.2f, scenario run %.2f", bare, lib)
			if lib > bare+allocsPerRequestBudget+0.5 {
				t.Errorf("a scenario run's GET allocates %.2f times, the bare loop's %.2f: more than %d allocation(s) over; find the new allocation with go test -run XXX -bench Overhead -memprofile", lib, bare, allocsPerRequestBudget)
			}
		})
	}
}

// mallocs returns how many heap allocations fn made.
func mallocs(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}
