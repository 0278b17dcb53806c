package molotov

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The session's shared timeout context and lazily re-armed timer must
// time out a request at its own deadline, however long ago the timer was
// armed, and must not time out anything else.

func TestReqTimeoutAfterManyFastRequests(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			sbWaitCtx(r, 3*time.Second)
			return
		}
		io.WriteString(w, "ok")
	})
	const limit = 300 * time.Millisecond
	var took time.Duration
	var slowErr error
	var fast atomic.Int64
	reg := sbOneScenario("mix", func(ctx context.Context, s *Session) error {
		// Fast requests for 2.5 timeouts: the timer fires while requests
		// are in flight (re-arm) and between them (disarm).
		for end := time.Now().Add(5 * limit / 2); time.Now().Before(end); {
			if err := sbGet(ctx, s, "/fast"); err != nil {
				return err
			}
			fast.Add(1)
			if fast.Load()%50 == 0 {
				time.Sleep(limit / 3) // idle gaps
			}
		}
		start := time.Now()
		slowErr = sbGet(ctx, s, "/slow")
		took = time.Since(start)
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, RequestTimeout: limit, Quiet: true})
	require.EqualValues(t, 1, res.OK, "errors: %v", res.Errors)
	var te *TimeoutError
	require.ErrorAs(t, slowErr, &te)
	assert.ErrorIs(t, slowErr, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, took, limit, "timed out before its deadline")
	assert.Less(t, took, limit+250*time.Millisecond, "timed out late")
	assert.EqualValues(t, fast.Load(), res.Requests["GET /fast"].Count)
	assert.Zero(t, res.Requests["GET /fast"].Errors)
}

func TestReqTimeoutConcurrentRequests(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			sbWaitCtx(r, 3*time.Second)
			return
		}
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	const limit = 300 * time.Millisecond
	reg := sbOneScenario("fanout", func(ctx context.Context, s *Session) error {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		took := make([]time.Duration, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				path := "/fast"
				if i%2 == 1 {
					path = "/slow"
				}
				errs[i] = sbGet(ctx, s, path)
				took[i] = time.Since(start)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if i%2 == 0 {
				if err != nil {
					return err
				}
				continue
			}
			var te *TimeoutError
			if !errors.As(err, &te) {
				return errors.New("slow request " + time.Duration(i).String() + " did not time out: " + errString(err))
			}
			if took[i] < limit || took[i] > limit+250*time.Millisecond {
				return errors.New("slow request timed out after " + took[i].String())
			}
		}
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 2, RequestTimeout: limit, Quiet: true})
	assert.EqualValues(t, 4, res.OK, "errors: %v", res.Errors)
	assert.EqualValues(t, 16, res.Requests["GET /slow"].Errors)
	assert.Zero(t, res.Requests["GET /fast"].Errors)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestReqTimeoutParentChangesAndCancel(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			sbWaitCtx(r, 3*time.Second)
			return
		}
		io.WriteString(w, "ok")
	})
	// A new parent per request (WithRequestName), then a request cut by the
	// scenario's own, shorter, context: not a TimeoutError.
	var ownErr error
	reg := sbOneScenario("named", func(ctx context.Context, s *Session) error {
		for i := 0; i < 20; i++ {
			if err := sbGet(WithRequestName(ctx, "GET /items/{id}"), s, "/items/1"); err != nil {
				return err
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		ownErr = sbGet(cctx, s, "/slow")
		return sbGet(ctx, s, "/after")
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 3, RequestTimeout: 2 * time.Second, Quiet: true})
	assert.EqualValues(t, 3, res.OK, "errors: %v", res.Errors)
	assert.EqualValues(t, 60, res.Requests["GET /items/{id}"].Count)
	require.Error(t, ownErr)
	var te *TimeoutError
	assert.False(t, errors.As(ownErr, &te), "the scenario's own deadline is not the request timeout: %v", ownErr)

	// Cancelling the run aborts a request in flight on the shared context.
	reg = sbOneScenario("stuck", func(ctx context.Context, s *Session) error {
		if err := sbGet(ctx, s, "/fast"); err != nil {
			return err
		}
		return sbGet(ctx, s, "/slow")
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	r := Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, RequestTimeout: 10 * time.Second, Quiet: true}
	res, err := r.Run(ctx)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second)
	assert.EqualValues(t, 1, res.Failed)
	assert.Equal(t, StopCancelled, res.StopReason)
}

// sessionValueCtx is a context whose Value also looks in the session: a
// user's context may call back into the session while net/http or the
// session's timeout inspect it.
type sessionValueCtx struct {
	context.Context
	s *Session
}

func (c sessionValueCtx) Value(k any) any {
	if v := c.s.Value(k); v != nil {
		return v
	}
	return c.Context.Value(k)
}

func TestReqTimeoutParentThatReadsTheSession(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	reg := sbOneScenario("callback", func(ctx context.Context, s *Session) error {
		return sbGet(sessionValueCtx{ctx, s}, s, "/")
	})
	done := make(chan *Result, 1)
	go func() { done <- sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 3, Quiet: true}) }()
	select {
	case res := <-done:
		assert.EqualValues(t, 6, res.OK, "errors: %v", res.Errors)
	case <-time.After(10 * time.Second):
		t.Fatal("the run hung: the session's lock is held while the request's context is asked for values")
	}
}

// The clock scans the sessions only when a request may be due. A long
// request under a long timeout must not put off the scan that times out
// another session's short one, whenever that one starts.
func TestReqTimeoutShortBesideLong(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		sbWaitCtx(r, 3*time.Second)
	})
	const short = 250 * time.Millisecond
	starts := []time.Duration{0, 40 * time.Millisecond, 130 * time.Millisecond, 70 * time.Millisecond}
	var mu sync.Mutex
	var took []time.Duration
	var errs []error
	reg := NewRegistry()
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		if worker == 0 {
			return &SessionConfig{Timeout: 5 * time.Second}, nil
		}
		return &SessionConfig{Timeout: short}, nil
	})
	reg.Scenario("hang", 1, func(ctx context.Context, s *Session) error {
		if s.Worker == 0 { // holds a request under the long timeout for the whole test
			return sbGet(ctx, s, "/long")
		}
		time.Sleep(20 * time.Millisecond) // let worker 0's request start first
		for _, d := range starts {
			time.Sleep(d)
			start := time.Now()
			err := sbGet(ctx, s, "/short")
			mu.Lock()
			took, errs = append(took, time.Since(start)), append(errs, err)
			mu.Unlock()
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	runner := Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 1, Quiet: true}
	run, err := runner.Start(ctx)
	require.NoError(t, err)
	// Worker 1 is done after its four requests; then end worker 0's.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(took) == len(starts) }, 10*time.Second, 10*time.Millisecond)
	cancel()
	_, err = run.Wait()
	require.NoError(t, err)
	for i := range starts {
		var te *TimeoutError
		require.ErrorAs(t, errs[i], &te, "request %d", i)
		assert.GreaterOrEqual(t, took[i], short, "request %d timed out before its deadline", i)
		assert.Less(t, took[i], short+150*time.Millisecond, "request %d timed out late", i)
	}
}

// stallingCtx stalls the first lookup of net/http's ClientTrace in it,
// which a request makes between reading its start and publishing its
// deadline to the run's clock, as a preemption or a contended lock would.
type stallingCtx struct {
	context.Context
	stall time.Duration
	once  sync.Once
}

func (c *stallingCtx) Value(key any) any {
	if key == traceKey {
		c.once.Do(func() { time.Sleep(c.stall) })
	}
	return c.Context.Value(key)
}

// A scan of the clock that runs while a request stalls before publishing
// its deadline must not put off that request's timeout to its next scan.
func TestReqTimeoutAfterAStallBeforeTheDeadlineIsKnown(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { sbWaitCtx(r, 3*time.Second) })
	const limit = 250 * time.Millisecond
	var took []time.Duration
	var errs []error
	reg := sbOneScenario("hang", func(ctx context.Context, s *Session) error {
		for i := range 12 {
			time.Sleep(time.Duration(i*37%190) * time.Millisecond) // meet the clock's scans at different phases
			start := time.Now()
			err := sbGet(&stallingCtx{Context: ctx, stall: 150 * time.Millisecond}, s, "/")
			took, errs = append(took, time.Since(start)), append(errs, err)
		}
		return nil
	})
	sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, RequestTimeout: limit, Quiet: true})
	require.Len(t, took, 12)
	for i, d := range took {
		var te *TimeoutError
		require.ErrorAs(t, errs[i], &te, "request %d", i)
		assert.GreaterOrEqual(t, d, limit, "request %d timed out before its deadline", i)
		// Within the clock's 10 ms, with slack for a loaded machine; a
		// scan that missed the deadline is up to 140 ms late here.
		assert.Less(t, d, limit+40*time.Millisecond, "request %d timed out late", i)
	}
}
