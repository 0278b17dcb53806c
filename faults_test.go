package molotov

import (
	"context"
	"io"
	"log"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/faultserver"
)

// The fault suite: a load tester is pointed at services about to break.
// Whatever the server does (internal/faultserver), every run must
//
//	(a) end on time: within Duration + RequestTimeout + 1s, or
//	    Duration + 1s with ForceShutdown;
//	(b) count every run once: Started == OK + Failed == the entries into
//	    the scenario function;
//	(c) say what happened: every failure is in Result.Errors with an error
//	    that names the cause (timeout, reset, malformed, EOF, status, too
//	    large, redirects, refused);
//	(d) leak nothing: no connection stays open on the server (and no
//	    goroutine, which TestMain checks with goleak).
//
// docs/fault-matrix.md is the table of what these tests see.

const (
	faultWorkers  = 3
	faultDuration = 400 * time.Millisecond
	faultTimeout  = 300 * time.Millisecond
)

// faultScenario is how a case's scenario uses the path it requests.
type faultScenario func(path string) ScenarioFunc

// faultReadAll GETs path, reads the whole body with io.ReadAll, closes it
// and wants a 2xx: the scenario most load tests write.
func faultReadAll(path string) ScenarioFunc {
	return func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err != nil {
			return err
		}
		return ExpectStatus(resp)
	}
}

// faultDiscard GETs path and reads the whole body into io.Discard.
func faultDiscard(path string) ScenarioFunc {
	return func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		return ExpectStatus(resp)
	}
}

// faultFanOut GETs path from three goroutines at once and reads the
// bodies, as a scenario fanning out over s.Client does; it returns the
// first error. Concurrent requests of one session have timeouts of their
// own (not the session's shared one).
func faultFanOut(path string) ScenarioFunc {
	one := faultReadAll(path)
	return func(ctx context.Context, s *Session) error {
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- one(ctx, s) }()
		}
		var first error
		for range 3 {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

// faultStatusOnly GETs path and checks the status, leaving the body open
// for the session to drain and close.
func faultStatusOnly(path string) ScenarioFunc {
	return func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, path)
		if err != nil {
			return err
		}
		return ExpectStatus(resp)
	}
}

type faultCase struct {
	name     string
	path     string        // requested by every scenario run
	scenario faultScenario // nil: faultReadAll
	stall    bool          // a stall: RequestTimeout is faultTimeout (300ms), not faultRoomy
	force    bool          // Runner.ForceShutdown
	workers  int           // zero: faultWorkers
	timeout  time.Duration // Runner.RequestTimeout when set, whatever stall says
	maxBytes int64         // Runner.MaxResponseBytes; zero: the default (64 MiB)
	refused  bool          // BaseURL is a port nothing listens on
	killAt   time.Duration // kill the server this long into the run; zero: never

	// wantOK: every run succeeds. cause: at least one run fails with an
	// error containing it. Either way, every failure's error contains
	// cause or one of also, or is "context canceled" and counted in
	// Result.Interrupted (a run in flight that the stop cancelled).
	wantOK bool
	cause  string
	also   []string
	// wantInterrupted: ForceShutdown cancelled at least one run in flight.
	wantInterrupted bool
	// heapBound: the heap in use may grow by at most this during the run
	// (measured with GOGC=25, so that the figure is close to what is
	// live rather than to the garbage collector's pacing slack).
	heapBound uint64
	// netLog: what net/http prints on the standard logger during the
	// run, which the case captures instead of letting it reach stderr.
	netLog string
	// requestErrors: how Result.Requests counts the failed requests:
	// faultErrPerFailure (the default: one request error per failed
	// run), faultErrNone (the failures are statuses, not request errors)
	// or faultErrSkip.
	requestErrors int
	tweak         func(r *Runner) // other Runner options
	stop          StopReason      // the expected stop reason; empty: StopDuration
	check         func(t *testing.T, res *Result)
}

const (
	faultErrPerFailure = iota
	faultErrNone
	faultErrSkip
)

// faultRoomy is the RequestTimeout of the cases whose fault is not a
// stall: long enough that a loaded machine (-race, 2 cores, other test
// binaries) does not turn a reset or a 500 into a timeout.
const faultRoomy = 2 * time.Second

// The texts of a TimeoutError at faultTimeout, waiting for the headers or
// in the body.
const (
	faultTimeoutHeaders = "request timeout (300ms) hit while waiting for the response"
	faultTimeoutBody    = "request timeout (300ms) hit while reading the response body"
)

func faultCases() []faultCase {
	const (
		ok    = faultserver.PathOK
		kill  = 150 * time.Millisecond // into the run, for the killed cases
		large = "larger than MaxResponseBytes"
	)
	statusOnly := func(code int) func(t *testing.T, res *Result) {
		return func(t *testing.T, res *Result) {
			for name, rs := range res.Requests {
				assert.Equal(t, map[int]int64{code: rs.Count}, rs.Status, "%s: every response counted by its status", name)
				assert.Zero(t, rs.Errors, "%s: a %d is a response, not a request error", name, code)
			}
		}
	}
	// oddStatus: a status outside 100-599 is counted as the server sent it,
	// and each is a request error.
	oddStatus := func(code int) func(t *testing.T, res *Result) {
		return func(t *testing.T, res *Result) {
			for name, rs := range res.Requests {
				assert.Equal(t, map[int]int64{code: rs.Count}, rs.Status, "%s: every response counted by the status sent", name)
				assert.Equal(t, rs.Count, rs.Errors, "%s: a status outside 100-599 is a request error", name)
			}
		}
	}
	return []faultCase{
		{name: "ok", path: ok, wantOK: true},
		{name: "ok/slow answers", path: ok + "?delay=50ms", wantOK: true},

		{name: "reset mid-response", path: faultserver.PathReset, cause: "read: connection reset by peer"},
		{name: "close before answering", path: faultserver.PathCloseBeforeAnswer, cause: `/close": EOF`},

		{name: "never answers", path: faultserver.PathHang, stall: true, cause: faultTimeoutHeaders},
		{name: "never answers/force", path: faultserver.PathHang, stall: true, force: true, cause: faultTimeoutHeaders, wantInterrupted: true},
		{name: "headers then stall", path: faultserver.PathStallBody, stall: true, cause: faultTimeoutBody},
		{name: "headers then stall/force", path: faultserver.PathStallBody, stall: true, force: true, cause: faultTimeoutBody, wantInterrupted: true},
		// The session drains a body left open for 100ms at most, then
		// drops its connection: the run succeeds, and ends on time.
		{name: "headers then stall/body left open", path: faultserver.PathStallBody, scenario: faultStatusOnly, wantOK: true},
		{name: "trickle", path: faultserver.PathTrickle, stall: true, cause: faultTimeoutBody},
		{name: "trickle/force", path: faultserver.PathTrickle, stall: true, force: true, cause: faultTimeoutBody, wantInterrupted: true},
		{name: "trickle/body left open", path: faultserver.PathTrickle, scenario: faultStatusOnly, wantOK: true},
		{name: "trickle/within the timeout", path: faultserver.PathTrickle + "?bytes=20&every=10ms", timeout: time.Second, wantOK: true},
		// Requests in flight together have timeouts of their own, not the
		// session's shared one: the same error.
		{name: "fan-out/headers then stall", path: faultserver.PathStallBody, scenario: faultFanOut, stall: true, cause: faultTimeoutBody,
			requestErrors: faultErrSkip, check: func(t *testing.T, res *Result) {
				rs := requestOf(t, res, "GET /stall-body")
				assert.Equal(t, 3*res.Failed, rs.Errors, "three requests per run, each timed out")
			}},

		// net/http reads Content-Length bytes and ignores the surplus: the
		// run succeeds. The surplus left on the kept-alive connection is
		// either seen by the transport (which logs "Unsolicited response
		// received on idle HTTP channel" and drops the connection) or, when
		// the next request took the connection first, read as the start of
		// its response: that next run fails with "malformed HTTP version".
		{name: "body longer than Content-Length", path: faultserver.PathLongBody, also: []string{`malformed HTTP version "LLLLLLLLLLLLLLLLHTTP/1.1"`},
			netLog: `Unsolicited response received on idle HTTP channel starting with "LLLLLLLLLLLLLLLL"`,
			check: func(t *testing.T, res *Result) {
				assert.Greater(t, res.OK, 10*res.Failed, "most runs succeed")
			}},
		{name: "body shorter than Content-Length", path: faultserver.PathShortBody, cause: "unexpected EOF"},
		{name: "malformed status line", path: faultserver.PathBadStatus, cause: `malformed HTTP status code "2x0"`},
		{name: "status 999", path: faultserver.PathStatus + "?code=999", cause: "the server sent status 999, outside 100-599", check: oddStatus(999)},
		{name: "status 000", path: faultserver.PathStatus + "?code=000", cause: "the server sent status 000, outside 100-599", check: oddStatus(0)},
		{name: "malformed header line", path: faultserver.PathBadHeader, cause: `malformed MIME header: missing colon: "this line has no colon"`},

		{name: "500 storm", path: faultserver.Path500, cause: "status 500 Internal Server Error, want 2xx", requestErrors: faultErrNone, check: statusOnly(500)},
		{name: "500 storm/MaxFailures 5", path: faultserver.Path500, cause: "status 500 Internal Server Error, want 2xx", requestErrors: faultErrNone,
			tweak: func(r *Runner) { r.MaxFailures = 5 }, stop: StopMaxFailures,
			check: func(t *testing.T, res *Result) {
				assert.GreaterOrEqual(t, res.Failed, int64(5))
				assert.Less(t, res.Elapsed, faultDuration, "stopped at the 5th failure, not at Duration")
			}},
		{name: "503 storm with Retry-After", path: faultserver.Path503, cause: "status 503 Service Unavailable, want 2xx", requestErrors: faultErrNone, check: statusOnly(503)},
		{name: "reset mid-response/ExitOnFailure", path: faultserver.PathReset, cause: "read: connection reset by peer",
			tweak: func(r *Runner) { r.ExitOnFailure = true }, stop: StopFailure},
		{name: "redirect loop", path: faultserver.PathRedirectLoop, cause: `/redirect-loop: stopped after 10 redirects (the last to http://127.0.0.1:`, requestErrors: faultErrNone,
			check: func(t *testing.T, res *Result) {
				rs := requestOf(t, res, "GET /redirect-loop")
				assert.Equal(t, map[int]int64{302: rs.Count}, rs.Status, "every hop is a request, counted by its status")
				assert.Equal(t, 10*res.Started, rs.Count, "10 requests per run, then net/http gives up")
			}},

		{name: "1 GiB body/MaxResponseBytes 1 MiB", path: faultserver.PathHuge, maxBytes: 1 << 20, cause: large + " (1048576 bytes)"},
		// One worker, and a RequestTimeout long enough to read 64 MiB under
		// -race on a busy machine: the limit strikes, not the timeout. The
		// bound is 4× MaxResponseBytes, a quarter of the body: io.ReadAll
		// itself holds up to about 2.5× what it read at its end (its
		// growing chunks, then the final copy); 221 MiB measured under
		// -race, 158 to 199 MiB without.
		{name: "1 GiB body/default MaxResponseBytes", path: faultserver.PathHuge, workers: 1, timeout: 20 * time.Second,
			cause: large + " (67108864 bytes)", heapBound: 4 * DefaultMaxResponseBytes},
		// The same read with io.Copy into io.Discard: what the library
		// itself holds while 64 MiB stream through it.
		{name: "1 GiB body/default MaxResponseBytes, streamed", path: faultserver.PathHuge, scenario: faultDiscard, workers: 1, timeout: 20 * time.Second,
			cause: large + " (67108864 bytes)", heapBound: 16 << 20},
		// Eight workers read 4 MiB bodies with io.ReadAll under a run-wide
		// budget of 8 MiB: the runs that would pass it fail, and the heap
		// stays near the budget (8 × 4 MiB × io.ReadAll's 2.5 without it).
		{name: "4 MiB bodies/MaxBufferedBytes 8 MiB", path: faultserver.PathHuge + "?bytes=4194304", workers: 8,
			timeout: 20 * time.Second, // reading 4 MiB under -race on a busy machine: the budget strikes, not the timeout
			tweak:   func(r *Runner) { r.MaxBufferedBytes = 8 << 20 }, also: []string{"hold more than 8 MiB of response bodies"},
			heapBound: 48 << 20, requestErrors: faultErrSkip,
			check: func(t *testing.T, res *Result) {
				assert.Positive(t, resultErrorCount(res, "hold more than 8 MiB of response bodies (Runner.MaxBufferedBytes"), "no run was stopped by the budget")
			}},
		// Left open, a body is drained up to 256 KiB; a longer one loses
		// its connection instead.
		{name: "1 GiB body/body left open", path: faultserver.PathHuge, scenario: faultStatusOnly, wantOK: true},
		{name: "endless headers", path: faultserver.PathHeaderFlood, workers: 1, cause: "server response headers exceeded 10485760 bytes; aborted"},

		{name: "refused port", path: "/", refused: true, cause: "connect: connection refused"},
		// Requests in flight on a connection the kill resets are retried by
		// net/http (a GET on a reused connection that got no response) and
		// meet the closed port; a reset or an EOF would name the cause too.
		{name: "killed mid-run", path: ok + "?delay=20ms", killAt: kill, cause: "connect: connection refused",
			also: []string{"connection reset by peer", "EOF"}},
		{name: "killed mid-run/force", path: ok + "?delay=20ms", killAt: kill, force: true, cause: "connect: connection refused",
			also: []string{"connection reset by peer", "EOF"}},
		// Bodies being read when the server dies are not retried.
		{name: "killed mid-run/during bodies", path: faultserver.PathTrickle + "?bytes=20&every=10ms", killAt: kill,
			cause: "read: connection reset by peer", also: []string{"connect: connection refused"}},
	}
}

func TestFaultMatrix(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) { runFaultCase(t, tc) })
	}
}

func runFaultCase(t *testing.T, tc faultCase) {
	var fs *faultserver.Server
	base := ""
	if tc.refused {
		u, err := faultserver.RefusedURL()
		require.NoError(t, err)
		base = u
	} else {
		fs = faultserver.New(t)
		base = fs.URL
	}
	mk := tc.scenario
	if mk == nil {
		mk = faultReadAll
	}
	var entries atomic.Int64
	fn := mk(tc.path)
	reg := sbOneScenario("fault", func(ctx context.Context, s *Session) error {
		entries.Add(1)
		return fn(ctx, s)
	})
	workers := tc.workers
	if workers == 0 {
		workers = faultWorkers
	}
	timeout := faultRoomy
	switch {
	case tc.timeout > 0:
		timeout = tc.timeout
	case tc.stall:
		timeout = faultTimeout
	}
	r := Runner{
		Registry: reg, BaseURL: base, Workers: workers, Duration: faultDuration,
		RequestTimeout: timeout, ForceShutdown: tc.force, MaxResponseBytes: tc.maxBytes, Quiet: true,
	}
	if tc.tweak != nil {
		tc.tweak(&r)
	}
	if tc.killAt > 0 {
		kill := time.AfterFunc(tc.killAt, fs.Kill)
		defer kill.Stop()
	}
	var logged lockedBuffer
	if tc.netLog != "" {
		prev := log.Writer()
		log.SetOutput(&logged)
		defer log.SetOutput(prev)
	}
	var peak *faultHeapPeak
	if tc.heapBound > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
		peak = startFaultHeapPeak()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a safety net only
	defer cancel()
	start := time.Now()
	res, err := r.Run(ctx)
	took := time.Since(start)
	var grown uint64
	if peak != nil {
		grown = peak.stop()
	}
	require.NoError(t, err, "a misbehaving target is never a configuration error")
	require.NotNil(t, res)
	t.Logf("Run took %v (Elapsed %v): started %d ok %d failed %d interrupted %d stop %s\n%s", took.Round(time.Millisecond),
		res.Elapsed.Round(time.Millisecond), res.Started, res.OK, res.Failed, res.Interrupted, res.StopReason, resultErrorsText(res))

	// (a) on time
	limit := faultDuration + timeout + time.Second
	if tc.force {
		limit = faultDuration + time.Second
	}
	assert.Less(t, took, limit, "the run did not end on time")
	wantStop := tc.stop
	if wantStop == "" {
		wantStop = StopDuration
	}
	assert.Equal(t, wantStop, res.StopReason)

	// (b) every run counted once
	assert.Positive(t, res.Started, "no scenario run started")
	assert.Equal(t, res.Started, res.OK+res.Failed, "Started != OK + Failed")
	assert.Equal(t, entries.Load(), res.Started, "Started != entries into the scenario")
	assert.Equal(t, res.Failed, res.Scenarios["fault"].Failed)

	// (c) failures say what happened
	var listed int64
	for _, e := range res.Errors {
		listed += e.Count
		named := tc.cause != "" && strings.Contains(e.Error, tc.cause)
		named = named || strings.Contains(e.Error, "context canceled")
		for _, a := range tc.also {
			named = named || strings.Contains(e.Error, a)
		}
		assert.True(t, named, "failure %q (%d×) does not name the cause (%q or %q)", e.Error, e.Count, tc.cause, tc.also)
	}
	assert.Equal(t, res.Failed, listed, "every failure is listed in Result.Errors")
	if tc.wantOK {
		assert.Zero(t, res.Failed, "errors:\n%s", resultErrorsText(res))
	}
	if tc.cause != "" {
		assert.Positive(t, resultErrorCount(res, tc.cause), "no failure names %q; errors:\n%s", tc.cause, resultErrorsText(res))
	}
	// Runs cancelled in flight by the stop (at once with ForceShutdown,
	// else RequestTimeout after it) fail with context.Canceled and are
	// counted as interrupted: at most one per worker.
	assert.Equal(t, res.Interrupted, resultErrorCount(res, "context canceled"), "the interrupted runs are the cancelled ones")
	assert.LessOrEqual(t, res.Interrupted, int64(workers), "only runs in flight at the stop are interrupted")
	if tc.wantInterrupted {
		assert.Positive(t, res.Interrupted, "ForceShutdown cancelled no run in flight")
	}
	var reqs, reqErrs int64
	for _, rs := range res.Requests {
		reqs += rs.Count
		reqErrs += rs.Errors
	}
	assert.GreaterOrEqual(t, reqs, res.Started, "every run made a request, and every request is counted")
	switch tc.requestErrors {
	case faultErrPerFailure:
		assert.Equal(t, res.Failed, reqErrs, "one request error per failed run")
	case faultErrNone:
		assert.Zero(t, reqErrs, "the failures are statuses, not request errors")
	}
	if tc.check != nil {
		tc.check(t, res)
	}
	if tc.netLog != "" {
		assert.Contains(t, logged.String(), tc.netLog)
	}

	// (d) nothing left open
	if fs != nil {
		assert.Zero(t, fs.WaitOpen(2*time.Second), "connections still open on the server after the run")
	}
	if peak != nil {
		t.Logf("heap grew by at most %d MiB", grown>>20)
		assert.LessOrEqual(t, grown, tc.heapBound, "heap grew by %d MiB", grown>>20)
	}
}

// faultHeapPeak samples the heap in use while a run goes on and keeps the
// highest value.
type faultHeapPeak struct {
	base     uint64
	peak     atomic.Uint64
	quit     chan struct{}
	finished chan struct{}
}

func startFaultHeapPeak() *faultHeapPeak {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p := &faultHeapPeak{base: m.HeapInuse, quit: make(chan struct{}), finished: make(chan struct{})}
	p.peak.Store(m.HeapInuse)
	go func() {
		defer close(p.finished)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > p.peak.Load() {
					p.peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	return p
}

// stop ends the sampling and returns how much the heap in use grew at its
// peak.
func (p *faultHeapPeak) stop() uint64 {
	close(p.quit)
	<-p.finished
	if pk := p.peak.Load(); pk > p.base {
		return pk - p.base
	}
	return 0
}
