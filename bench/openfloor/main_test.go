package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package when a run leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type result struct {
	OK, Failed, Scheduled, Dropped int64
	ElapsedS                       float64 `json:"elapsed_s"`
	LagP50                         int64   `json:"start_lag_p50_ns"`
	LagP99                         int64   `json:"start_lag_p99_ns"`
	LagMax                         int64   `json:"start_lag_max_ns"`
	LagSteady                      int64   `json:"start_lag_p99_steady_ns"`
}

// arrivals is a test target that notes when each request came, and
// counts the connections it accepted.
type arrivals struct {
	mu    sync.Mutex
	at    []time.Time
	conns int
	delay time.Duration // before each answer
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.at = append(a.at, time.Now())
	a.mu.Unlock()
	time.Sleep(a.delay)
	if r.URL.Path == "/fail" {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}
}

// counts returns the requests and connections seen so far.
func (a *arrivals) counts() (requests, conns int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at), a.conns
}

// serve starts a on loopback; Close ends it.
func (a *arrivals) serve() *httptest.Server {
	srv := httptest.NewUnstartedServer(a)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.mu.Lock()
			a.conns++
			a.mu.Unlock()
		}
	}
	srv.Start()
	return srv
}

func runJSON(t *testing.T, args ...string) result {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(args, &out, &errs); err != nil {
		t.Fatalf("run(%q): %v", args, err)
	}
	var res result
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	return res
}

// The starts are spaced over the run, every one is accounted for, and
// the lags are those of starts taken on time.
func TestRunSpacesItsStarts(t *testing.T) {
	for _, window := range []string{"0", "1ms"} {
		t.Run("window="+window, func(t *testing.T) { testSpacing(t, window) })
	}
}

func testSpacing(t *testing.T, window string) {
	var a arrivals
	srv := a.serve()
	defer srv.Close()
	res := runJSON(t, "-url", srv.URL, "-rate", "200", "-workers", "10", "-duration", "500ms", "-window", window)
	if res.Scheduled != 100 {
		t.Errorf("scheduled = %d, want 100 (200/s for 500 ms)", res.Scheduled)
	}
	if got := res.OK + res.Failed + res.Dropped; got != res.Scheduled || res.Failed != 0 {
		t.Errorf("ok %d + failed %d + dropped %d, want scheduled %d and no failure", res.OK, res.Failed, res.Dropped, res.Scheduled)
	}
	a.mu.Lock()
	at := slices.Clone(a.at)
	a.mu.Unlock()
	if int64(len(at)) != res.OK {
		t.Errorf("the target saw %d requests, want ok = %d", len(at), res.OK)
	}
	// Start 99 is due at 495 ms: a burst would put every request within a few ms.
	if spread := at[len(at)-1].Sub(at[0]); spread < 400*time.Millisecond {
		t.Errorf("the requests came within %v, want them spread over about 495 ms", spread)
	}
	// Each start goes to the worker that came free last: at this pace one
	// or two of the ten are enough, and so are their connections.
	if _, conns := a.counts(); conns > 3 {
		t.Errorf("the target accepted %d connections from 10 workers, want at most 3: starts cycled through the pool", conns)
	}
	if res.LagP50 < 0 || res.LagP50 > res.LagP99 || res.LagP99 > res.LagMax || res.LagMax > int64(time.Second) {
		t.Errorf("start lag p50 %d ≤ p99 %d ≤ max %d ≤ 1 s does not hold", res.LagP50, res.LagP99, res.LagMax)
	}
	if res.ElapsedS < 0.45 || res.ElapsedS > 5 {
		t.Errorf("elapsed_s = %v, want about 0.5", res.ElapsedS)
	}
}

// -warm makes one request per worker before time zero; failures are
// counted as such.
func TestRunWarmAndFailures(t *testing.T) {
	var a arrivals
	srv := a.serve()
	defer srv.Close()
	res := runJSON(t, "-url", srv.URL, "-rate", "100", "-workers", "4", "-duration", "200ms", "-warm")
	if requests, conns := a.counts(); res.OK != 20 || requests != 24 || conns != 4 {
		t.Errorf("ok = %d, the target saw %d requests on %d connections; want 20, 20 + 4 warming ones, 4", res.OK, requests, conns)
	}
	res = runJSON(t, "-url", srv.URL+"/fail", "-rate", "100", "-workers", "4", "-duration", "200ms")
	if res.Failed != 20 || res.OK != 0 {
		t.Errorf("ok = %d, failed = %d against a 503, want 0 and 20", res.OK, res.Failed)
	}
}

// A pool too small for the target queues starts (they begin late) and
// drops those that find the queue full; every start is counted once.
func TestRunDropsWhatThePoolCannotTake(t *testing.T) {
	a := arrivals{delay: 50 * time.Millisecond}
	srv := a.serve()
	defer srv.Close()
	res := runJSON(t, "-url", srv.URL, "-rate", "200", "-workers", "1", "-duration", "300ms")
	if res.Scheduled != 60 || res.OK+res.Failed+res.Dropped != res.Scheduled {
		t.Errorf("scheduled %d, ok %d + failed %d + dropped %d: want 60, all accounted for", res.Scheduled, res.OK, res.Failed, res.Dropped)
	}
	if res.Dropped < 30 || res.OK < 2 {
		t.Errorf("dropped %d, ok %d: one worker at 50 ms a request takes about 7 of 60 starts", res.Dropped, res.OK)
	}
	if res.LagMax < int64(20*time.Millisecond) {
		t.Errorf("start_lag_max_ns = %d, want the queued start's wait (tens of ms)", res.LagMax)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rate", "10", "-duration", "1s"}, "-url"},
		{[]string{"-url", "http://example.com/", "-rate", "10", "-duration", "1s"}, "not loopback"},
		{[]string{"-url", "127.0.0.1:80", "-rate", "10", "-duration", "1s"}, "give a URL such as http://"},
		{[]string{"-url", "http://127.0.0.1:1/", "-duration", "1s"}, "-rate"},
		{[]string{"-url", "http://127.0.0.1:1/", "-rate", "10"}, "-duration"},
		{[]string{"-url", "http://127.0.0.1:1/", "-rate", "10", "-duration", "1s", "-workers", "0"}, "-workers"},
		{[]string{"-url", "http://127.0.0.1:1/", "-rate", "10", "-duration", "1s", "x"}, "unexpected"},
		{[]string{"-url", "http://127.0.0.1:1/", "-rate", "10", "-duration", "1s", "-warm"}, "-warm"},
		{[]string{"-url", "http://127.0.0.1:1/", "-rate", "10", "-duration", "1s", "-window", "2ms"}, "-window"},
	} {
		var out, errs bytes.Buffer
		err := run(tc.args, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error naming %q", tc.args, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("run(%q) printed %q, want nothing", tc.args, out.String())
		}
	}
}
