package molotov

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// When every core is busy with scenarios that burn CPU, the run still
// stops starting runs at its Duration and times requests out at their
// RequestTimeout: the clock's own goroutine is woken late then, and the
// workers do its work (catchUp).
func TestStopAndTimeoutOnTimeWhenEveryCoreIsBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("burns both cores for a second")
	}
	const (
		workers  = 200
		duration = 500 * time.Millisecond
		timeout  = 300 * time.Millisecond
		slack    = 100 * time.Millisecond // twice the 50ms the clock must hold, for a busy CI machine
	)
	hang := newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	var (
		mu        sync.Mutex
		lastStart time.Time
		waits     []time.Duration // the requests of the workers that make them, from send to error
		plain     atomic.Int64    // timeouts that were not a *TimeoutError
	)
	reg := sbOneScenario("busy", func(ctx context.Context, s *Session) error {
		now := time.Now()
		mu.Lock()
		if now.After(lastStart) {
			lastStart = now
		}
		mu.Unlock()
		if s.Worker%25 == 0 { // 8 of the 200 workers request a server that never answers
			resp, err := s.Get(ctx, hang.URL)
			took := time.Since(now)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return nil
			}
			var te *TimeoutError
			if !errors.As(err, &te) && ctx.Err() == nil {
				plain.Add(1)
			}
			mu.Lock()
			waits = append(waits, took)
			mu.Unlock()
			return err
		}
		for time.Since(now) < time.Millisecond { // burn a millisecond of CPU
		}
		return nil
	})
	res := runWithin(t, &Runner{Registry: reg, Workers: workers, Duration: duration, RequestTimeout: timeout, Quiet: true}, 30*time.Second)
	assert.Equal(t, StopDuration, res.StopReason)
	late := lastStart.Sub(res.Start) - duration
	t.Logf("last start %v after Duration; the run took %v; the requests ended after %v", late.Round(time.Millisecond), res.Elapsed.Round(time.Millisecond), waits)
	assert.LessOrEqual(t, late, slack, "runs kept starting after Duration")
	assert.LessOrEqual(t, res.Elapsed, duration+timeout+slack, "the run ended late")
	require.NotEmpty(t, waits)
	// A request's end also waits, once the timeout cancelled it, for its
	// worker's turn on a core, and for net/http's goroutines' turns before
	// it: with 200 workers burning 1ms each on 2 cores, 100-250ms (more
	// under the race detector). Without the workers' catch-up, the
	// timeouts ended 0.8 to 3.2 s after the request's start here.
	for _, w := range waits {
		assert.LessOrEqual(t, w, timeout+slack+300*time.Millisecond, "a request timed out late")
	}
	assert.Zero(t, plain.Load(), "a timeout was not reported as a *TimeoutError")
}
