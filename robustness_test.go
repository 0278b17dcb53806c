package molotov

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests for the defects a code review found: each one failed
// before its fix.

func TestGoexitInScenarioIsCountedOnce(t *testing.T) {
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		if s.Step() == 2 {
			runtime.Goexit() // what t.FailNow and require do
		}
		return nil
	})
	res, err := (&Runner{Registry: reg, MaxRuns: 5, Workers: 2, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, res.Started, res.OK+res.Failed)
	assert.Equal(t, int64(2), res.Failed)
	require.NotEmpty(t, res.Errors)
	assert.Contains(t, res.Errors[0].Error, "runtime.Goexit")
}

func TestCancelIsTheStopReasonEvenWithExitOnFailure(t *testing.T) {
	for i := 0; i < 20; i++ {
		reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
			<-ctx.Done()
			return ctx.Err()
		})
		ctx, cancel := context.WithCancel(context.Background())
		run, err := (&Runner{Registry: reg, Workers: 20, ExitOnFailure: true, Quiet: true}).Start(ctx)
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond)
		cancel()
		res, _ := run.Wait()
		require.Equal(t, StopCancelled, res.StopReason, "round %d", i)
		assert.Equal(t, res.Failed, res.Interrupted)
	}
}

func TestStopBoundsRunsInFlightByRequestTimeout(t *testing.T) {
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		select { // a scenario that only stops when its context ends
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
		return nil
	})
	start := time.Now()
	res, err := (&Runner{Registry: reg, Duration: 100 * time.Millisecond, RequestTimeout: 300 * time.Millisecond, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second, "Duration 100ms + RequestTimeout 300ms")
	assert.Equal(t, StopDuration, res.StopReason)
}

func TestForgottenStreamingBodyDoesNotStallTheWorker(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for {
			if _, err := io.WriteString(w, "data\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	defer srv.Close()
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		return ExpectStatus(resp, 200) // body left open
	})
	start := time.Now()
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, RequestTimeout: 5 * time.Second, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second, "the drain gives up long before RequestTimeout")
	assert.Equal(t, int64(1), res.OK)
	assert.Zero(t, res.Requests["GET /"].Errors, "abandoning a body the scenario did not want is not a request error")
}

func TestForceShutdownDuringBodyReadIsInterrupted(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	defer srv.Close()
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		_, err = io.ReadAll(resp.Body)
		return err
	})
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 3, Duration: 200 * time.Millisecond, ForceShutdown: true, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(3), res.Failed)
	assert.Equal(t, res.Failed, res.Interrupted)
}

func TestContextDeadlineFailuresAreInterrupted(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	defer srv.Close()
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		return ExpectStatus(resp)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 3, Quiet: true}).Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, StopCancelled, res.StopReason)
	assert.Equal(t, int64(3), res.Interrupted)
	// The deadline interrupted the run: that is its outcome, not failures
	// of the target.
	assert.Equal(t, OutcomeInterrupted, res.Outcome())
	msg := verdict(res, false)
	assert.Contains(t, msg, "run interrupted")
	assert.NotContains(t, msg, "scenario runs failed", "the test's own deadline is not the target's failure")
}

func TestInterruptedRunsDoNotFeedSizing(t *testing.T) {
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		select {
		case <-time.After(100 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	res, err := (&Runner{Registry: reg, Workers: 50, RampUp: 10 * time.Millisecond, Sizing: true,
		Duration: time.Second, ForceShutdown: true, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Zero(t, res.SizingRatio, "no sizing verdict from runs the run itself cancelled")
	assert.Equal(t, 50, res.MaxWorkers)
}

func TestClosedBodiesAreForgottenDuringALongScenarioRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	var tracked int
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		for i := 0; i < 2000; i++ {
			resp, err := s.Get(ctx, "/")
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		s.mu.Lock()
		tracked = len(s.bodies)
		s.mu.Unlock()
		return nil
	})
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.OK)
	assert.LessOrEqual(t, tracked, 32, "memory does not grow with the requests of one scenario run")
}

func TestRequestNameCachePerSessionIsBounded(t *testing.T) {
	reg := sbOneScenario("a", func(ctx context.Context, s *Session) error {
		for i := 0; i < 200; i++ {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/n"+strconv.Itoa(i), nil)
			s.statsFor(req)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.names) > sessionNameCache {
			t.Errorf("session caches %d names, want <= %d", len(s.names), sessionNameCache)
		}
		return nil
	})
	_, err := (&Runner{Registry: reg, MaxRuns: 1, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
}

func TestHugeWeightPanics(t *testing.T) {
	msg, panicked := recoverPanic(func() {
		NewRegistry().Scenario("big", 1<<40, func(context.Context, *Session) error { return nil })
	})
	require.True(t, panicked)
	assert.Contains(t, msg, `"big"`)
}
