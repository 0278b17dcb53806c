package molotov

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"
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
	client := func(n int) {
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
	}
	reg := pipeRegistry()
	runner := func(n int) {
		r := Runner{Registry: reg, MaxRuns: n, Quiet: true, Output: io.Discard}
		res, err := r.Run(context.Background())
		if err != nil || res.OK != int64(n) {
			t.Fatalf("ok=%d, want %d; err=%v errors=%v", res.OK, n, err, res.Errors)
		}
	}
	perRequest := func(loop func(int)) float64 {
		loop(short) // warm up: pools, lazily made tables
		a := mallocs(func() { loop(short) })
		b := mallocs(func() { loop(long) })
		return float64(b-a) / (long - short)
	}
	bare, lib := perRequest(client), perRequest(runner)
	t.Logf("allocations per request: bare net/http %.2f, scenario run %.2f", bare, lib)
	if lib > bare+allocsPerRequestBudget+0.5 {
		t.Errorf("a scenario run's GET allocates %.2f times, the bare loop's %.2f: more than %d allocation(s) over; find the new allocation with go test -run XXX -bench Overhead -memprofile", lib, bare, allocsPerRequestBudget)
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
