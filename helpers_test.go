package molotov

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connServer is a loopback httptest server that tracks its connections
// through http.Server.ConnState, so tests can check that a run leaves no
// connection open and that connections are reused.
type connServer struct {
	*httptest.Server

	mu     sync.Mutex
	conns  map[net.Conn]http.ConnState
	states map[http.ConnState]int // transitions seen, by state
}

// newConnServer starts a loopback server running h and closes it when the
// test ends.
func newConnServer(t *testing.T, h http.Handler) *connServer {
	t.Helper()
	ts := &connServer{conns: map[net.Conn]http.ConnState{}, states: map[http.ConnState]int{}}
	ts.Server = httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(c net.Conn, st http.ConnState) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.states[st]++
		if st == http.StateClosed || st == http.StateHijacked {
			delete(ts.conns, c)
			return
		}
		ts.conns[c] = st
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// newOKServer starts a server answering 200 "ok" to everything.
func newOKServer(t *testing.T) *connServer {
	t.Helper()
	return newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
}

// serveFunc is newConnServer for a handler written as a func.
func serveFunc(t *testing.T, h http.HandlerFunc) *connServer {
	t.Helper()
	return newConnServer(t, h)
}

// openConns is the number of connections the server has not seen closed
// (new, active or idle).
func (ts *connServer) openConns() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.conns)
}

// seen is the number of transitions into st the server has seen.
func (ts *connServer) seen(st http.ConnState) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.states[st]
}

// waitOpenConns polls up to within for the server to see every connection
// closed and returns the number still open at the end.
func (ts *connServer) waitOpenConns(within time.Duration) int {
	deadline := time.Now().Add(within)
	for {
		n := ts.openConns()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scenarioGetOK is a scenario that GETs path and expects a 200, closing the body.
func scenarioGetOK(path string) ScenarioFunc {
	return func(ctx context.Context, s *Session) error {
		return getDrained(ctx, s, path, http.StatusOK)
	}
}

// getDrained GETs path, reads and closes the body, and checks the status
// against codes (any 2xx when none).
func getDrained(ctx context.Context, s *Session, path string, codes ...int) error {
	resp, err := s.Get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	return ExpectStatus(resp, codes...)
}

// scenarioNoop is a scenario that does nothing and succeeds.
func scenarioNoop(context.Context, *Session) error { return nil }

// entryCounter counts the entries into a scenario.
type entryCounter struct{ n atomic.Int64 }

// wrap returns fn preceded by a count of the entry.
func (c *entryCounter) wrap(fn ScenarioFunc) ScenarioFunc {
	return func(ctx context.Context, s *Session) error {
		c.n.Add(1)
		return fn(ctx, s)
	}
}

func (c *entryCounter) get() int64 { return c.n.Load() }

// callRecorder collects strings from many goroutines, in arrival order.
type callRecorder struct {
	mu    sync.Mutex
	items []string
}

func (r *callRecorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, fmt.Sprintf(format, args...))
}

func (r *callRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.items...)
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes, for Runner.Output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recoverPanic runs fn and returns what it panicked with, as a string, and
// whether it panicked at all.
func recoverPanic(fn func()) (msg string, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			msg, panicked = fmt.Sprint(p), true
		}
	}()
	fn()
	return "", false
}

// assertPanicsNaming checks that fn panics with a message containing every
// one of want.
func assertPanicsNaming(t *testing.T, fn func(), want ...string) {
	t.Helper()
	msg, panicked := recoverPanic(fn)
	if !panicked {
		t.Errorf("did not panic, want a panic naming %q", want)
		return
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("panic message %q does not contain %q", msg, w)
		}
	}
}

// resultErrorsText joins a Result's errors as "count× text" lines, for messages
// and substring checks.
func resultErrorsText(res *Result) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "%d× %s\n", e.Count, e.Error)
	}
	return b.String()
}

// resultErrorCount sums the counts of the Result's errors that contain
// sub.
func resultErrorCount(res *Result, sub string) int64 {
	var n int64
	for _, e := range res.Errors {
		if strings.Contains(e.Error, sub) {
			n += e.Count
		}
	}
	return n
}

// runAndTime runs r and returns the result, the wall time and the error.
func runAndTime(t *testing.T, ctx context.Context, r *Runner) (*Result, time.Duration, error) {
	t.Helper()
	start := time.Now()
	res, err := r.Run(ctx)
	return res, time.Since(start), err
}

// runOrFatal runs r and requires it to start without error.
func runOrFatal(t *testing.T, r *Runner) *Result {
	t.Helper()
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: unexpected error: %v", err)
	}
	if res == nil {
		t.Fatal("Run: nil Result without an error")
	}
	return res
}

// assertCountsConsistent checks the invariant Started == OK + Failed.
func assertCountsConsistent(t *testing.T, res *Result) {
	t.Helper()
	if res.Started != res.OK+res.Failed {
		t.Errorf("Started = %d, want OK + Failed = %d + %d = %d", res.Started, res.OK, res.Failed, res.OK+res.Failed)
	}
}

// scenarioOf returns res.Scenarios[name], failing the test (not panicking)
// when the Result lacks it.
func scenarioOf(t *testing.T, res *Result, name string) *ScenarioStats {
	t.Helper()
	if st, ok := res.Scenarios[name]; ok && st != nil {
		return st
	}
	t.Errorf("Result.Scenarios has no %q (every registered scenario must be there)", name)
	return &ScenarioStats{}
}

// requestOf returns res.Requests[name], failing the test (not panicking)
// when the Result lacks it.
func requestOf(t *testing.T, res *Result, name string) *RequestStats {
	t.Helper()
	if st, ok := res.Requests[name]; ok && st != nil {
		return st
	}
	t.Errorf("Result.Requests has no %q", name)
	return &RequestStats{}
}
