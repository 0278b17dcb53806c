package molotov

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsRequestsByNameAndStatus(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "ok")
		case "/err/x":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/flip":
			if r.URL.Query().Get("n") == "1" {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, r)
		}
	})
	reg := sbOneScenario("mix", func(ctx context.Context, s *Session) error {
		do := func(method, path string) error {
			req, err := http.NewRequestWithContext(ctx, method, path, strings.NewReader(""))
			if err != nil {
				return err
			}
			resp, err := s.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
		// GET /ok, PUT /ok and GET /nf share a slot of the session's
		// recent-names cache: same lengths, different methods or paths.
		for _, c := range []struct{ m, p string }{
			{"GET", "/ok"}, {"POST", "/ok"}, {"PUT", "/ok"}, {"GET", "/nf"}, {"DELETE", "/err/x"},
			{"PUT", fmt.Sprintf("/flip?n=%d", s.Step()%2)},
		} {
			if err := do(c.m, c.p); err != nil {
				return err
			}
		}
		return nil
	})
	const workers, runs = 2, 4
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)

	const n = workers * runs
	want := map[string]map[int]int64{
		"GET /ok":       {200: n},
		"POST /ok":      {200: n},
		"PUT /ok":       {200: n},
		"GET /nf":       {404: n},
		"DELETE /err/x": {500: n},
		"PUT /flip":     {202: n / 2, 418: n / 2},
	}
	got := map[string]map[int]int64{}
	for name, rs := range res.Requests {
		got[name] = rs.Status
		var sum int64
		for _, c := range rs.Status {
			sum += c
		}
		assert.Equal(t, rs.Count, sum, "%s: Count != sum of Status", name)
		assert.Zero(t, rs.Errors, "%s: an HTTP error status is not a request error", name)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, res.Started, res.OK+res.Failed)
}

func TestStatsRefusedPortIsCountedNotReturned(t *testing.T) {
	srv := serveFunc(t, sbOK)
	url := srv.URL
	srv.Close() // nothing listens there any more

	reg := sbOneScenario("refused", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	const workers, runs = 2, 3
	res, err := (&Runner{Registry: reg, BaseURL: url, Workers: workers, MaxRuns: runs, Quiet: true}).Run(context.Background())
	require.NoError(t, err, "an unreachable target must be counted, not returned")
	require.NotNil(t, res)
	assert.EqualValues(t, workers*runs, res.Started)
	assert.EqualValues(t, workers*runs, res.Failed)
	assert.Zero(t, res.OK)
	assert.InDelta(t, 1.0, res.FailureRate(), 1e-9)
	require.Len(t, res.Errors, 1, "one cause must be counted once: %v", res.Errors)
	assert.Contains(t, res.Errors[0].Error, "connection refused")
	assert.EqualValues(t, workers*runs, res.Errors[0].Count)
	if rs := res.Requests["GET /"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, workers*runs, rs.Count)
		assert.EqualValues(t, workers*runs, rs.Errors)
		assert.Empty(t, rs.Status)
	}
	if sc := res.Scenarios["refused"]; assert.NotNil(t, sc) {
		assert.EqualValues(t, workers*runs, sc.Failed)
	}
}

func TestNormaliseError(t *testing.T) {
	const want = "read tcp 127.0.0.1:80: read: connection reset by peer"
	tests := []struct {
		in, want string
	}{
		{"read tcp 127.0.0.1:5555->127.0.0.1:80: read: connection reset by peer", want},
		{"read tcp 127.0.0.1:5556->127.0.0.1:80: read: connection reset by peer", want},
		{"read tcp 127.0.0.1:61234->127.0.0.1:80: read: connection reset by peer", want},
		{"write tcp [::1]:41234->[::1]:8080: write: broken pipe", "write tcp [::1]:8080: write: broken pipe"},
		{`Get "http://127.0.0.1:80/x": read tcp 10.0.0.2:33333->127.0.0.1:80: EOF`, `Get "http://127.0.0.1:80/x": read tcp 127.0.0.1:80: EOF`},
		{"dial tcp 127.0.0.1:80: connect: connection refused", "dial tcp 127.0.0.1:80: connect: connection refused"},
		{"molotov: GET http://h:8080/x: status 500", "molotov: GET http://h:8080/x: status 500"},
		// A query differs per request where the path does not: one line per path.
		{"molotov: GET http://h:8080/search?q=shoes&page=2: status 500", "molotov: GET http://h:8080/search?q=…&page=…: status 500"},
		{`Get "http://h/search?q=x%20y": dial tcp 127.0.0.1:80: connect: connection refused`, `Get "http://h/search?q=…": dial tcp 127.0.0.1:80: connect: connection refused`},
		{"molotov: GET https://h/a?b=1#frag: request timeout (1s) hit", "molotov: GET https://h/a?b=…#frag: request timeout (1s) hit"},
		{"molotov: GET http://h/a?: status 500", "molotov: GET http://h/a?: status 500"},
		{"molotov: GET http://h/a?t=12:00: status 500", "molotov: GET http://h/a?t=…: status 500"},
		{"molotov: GET http://h/a?flag&x=: status 500", "molotov: GET http://h/a?flag&x=…: status 500"},
		{"status 500 (is this a question?)", "status 500 (is this a question?)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, (&errorCounter{}).normalise(errors.New(tt.in)))
		})
	}

	// Through the counter: variants differing by local port are one entry.
	var c errorCounter
	for port := 5555; port < 5560; port++ {
		c.add(fmt.Errorf("read tcp 127.0.0.1:%d->127.0.0.1:80: read: connection reset by peer", port))
	}
	assert.Equal(t, []ErrorCount{{Error: want, Count: 5}}, c.top(100))
}

func TestErrorCounterTop(t *testing.T) {
	t.Run("sorted by count, capped at 100", func(t *testing.T) {
		var c errorCounter
		for i := 1; i <= 150; i++ {
			for j := 0; j < i; j++ {
				c.add(fmt.Errorf("error %03d", i))
			}
		}
		top := c.top(maxErrorsShown)
		require.Len(t, top, 100)
		assert.Equal(t, ErrorCount{Error: "error 150", Count: 150}, top[0])
		assert.Equal(t, ErrorCount{Error: "error 051", Count: 51}, top[99])
		assert.True(t, sort.SliceIsSorted(top, func(i, j int) bool { return top[i].Count > top[j].Count }))
	})
	t.Run("ties by message", func(t *testing.T) {
		var c errorCounter
		for _, m := range []string{"b", "a", "c", "a"} {
			c.add(errors.New(m))
		}
		assert.Equal(t, []ErrorCount{{"a", 2}, {"b", 1}, {"c", 1}}, c.top(10))
	})
	t.Run("distinct kinds bounded", func(t *testing.T) {
		var c errorCounter
		for i := 0; i < maxErrorKinds+5; i++ {
			c.add(fmt.Errorf("kind %d", i))
		}
		top := c.top(maxErrorKinds + 10)
		assert.Len(t, top, maxErrorKinds+1)
		var other int64
		for _, e := range top {
			if e.Error == "(other errors)" {
				other = e.Count
			}
		}
		assert.EqualValues(t, 5, other)
	})
}

func TestStatsErrorsInResultSortedAndCapped(t *testing.T) {
	// 150 distinct errors; error k (k = 1..150) happens k times when
	// iterations are dealt out below.
	var plan []int
	for k := 1; k <= 150; k++ {
		for j := 0; j < k; j++ {
			plan = append(plan, k)
		}
	}
	reg := sbOneScenario("fail", func(ctx context.Context, s *Session) error {
		return fmt.Errorf("failure %03d", plan[s.Iteration()-1])
	})
	require.Zero(t, len(plan)%3)
	res := sbRun(t, Runner{Registry: reg, Workers: 3, MaxRuns: len(plan) / 3, Quiet: true})
	require.EqualValues(t, len(plan), res.Failed)
	require.Len(t, res.Errors, 100)
	assert.Equal(t, ErrorCount{Error: "failure 150", Count: 150}, res.Errors[0])
	assert.Equal(t, ErrorCount{Error: "failure 051", Count: 51}, res.Errors[99])
	for i := 1; i < len(res.Errors); i++ {
		assert.GreaterOrEqual(t, res.Errors[i-1].Count, res.Errors[i].Count, "Errors not sorted by count at %d", i)
	}
}

func TestStatsRequestNameOverflow(t *testing.T) {
	const names = 1010
	reg := sbOneScenario("many", func(ctx context.Context, s *Session) error {
		for i := 0; i < names; i++ {
			if err := s.Measure(fmt.Sprintf("op %04d", i), func() error { return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	var out lockedBuffer
	const workers = 2
	res := sbRun(t, Runner{Registry: reg, Workers: workers, MaxRuns: 1, Output: &out, ConsoleUpdate: time.Hour})
	require.EqualValues(t, workers, res.OK)
	assert.Len(t, res.Requests, maxRequestNames+1)
	if rs := res.Requests["other"]; assert.NotNil(t, rs, "names past 1000 must go under \"other\"") {
		assert.EqualValues(t, workers*(names-maxRequestNames), rs.Count)
	}
	assert.NotContains(t, res.Requests, "op 1000")
	assert.NotContains(t, res.Requests, "op 1009")
	if rs := res.Requests["op 0999"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, workers, rs.Count)
	}
	var total int64
	for _, rs := range res.Requests {
		total += rs.Count
	}
	assert.EqualValues(t, workers*names, total)
	assert.Equal(t, 1, strings.Count(out.String(), "more than 1000 distinct request names"), "the warning must be printed exactly once")
}

func TestStatsLatency(t *testing.T) {
	const delay = 20 * time.Millisecond
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, "ok")
	})
	reg := sbOneScenario("slow", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/slow") })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 15, Quiet: true})
	require.EqualValues(t, 30, res.OK, "errors: %v", res.Errors)

	// The histogram is exact to 1%: allow that below the true minimum.
	lo, hi := delay*99/100, 25*time.Millisecond
	check := func(what string, l Latency) {
		t.Helper()
		assert.GreaterOrEqual(t, l.Min, lo, "%s min", what)
		assert.GreaterOrEqual(t, l.P50, lo, "%s p50", what)
		assert.LessOrEqual(t, l.P50, hi, "%s p50 (noisy machine?)", what)
		assert.GreaterOrEqual(t, l.Mean, lo, "%s mean", what)
		ordered := []time.Duration{l.Min, l.P50, l.P90, l.P95, l.P99, l.P999, l.Max}
		assert.True(t, sort.SliceIsSorted(ordered, func(i, j int) bool { return ordered[i] < ordered[j] }), "%s percentiles out of order: %+v", what, l)
		assert.LessOrEqual(t, l.Mean, l.Max, what)
	}
	check("scenario", res.Scenarios["slow"].Latency)
	check("request", res.Requests["GET /slow"].Latency)
	t.Logf("scenario latency: %+v", res.Scenarios["slow"].Latency)
}

func TestResultFailureRate(t *testing.T) {
	tests := []struct {
		ok, failed int64
		want       float64
	}{
		{0, 0, 0},
		{10, 0, 0},
		{0, 3, 1},
		{3, 1, 0.25},
		{1, 2, 2.0 / 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_ok_%d_failed", tt.ok, tt.failed), func(t *testing.T) {
			r := &Result{OK: tt.ok, Failed: tt.failed, Started: tt.ok + tt.failed}
			assert.InDelta(t, tt.want, r.FailureRate(), 1e-12)
		})
	}

	// Through a run: every 4th step fails.
	reg := sbOneScenario("quarter", func(ctx context.Context, s *Session) error {
		if s.Step()%4 == 0 {
			return errors.New("fourth")
		}
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, Workers: 2, MaxRuns: 8, Quiet: true})
	assert.EqualValues(t, 12, res.OK)
	assert.EqualValues(t, 4, res.Failed)
	assert.InDelta(t, 0.25, res.FailureRate(), 1e-12)
	assert.Equal(t, []ErrorCount{{Error: "fourth", Count: 4}}, res.Errors)
	assert.EqualValues(t, 12, res.Scenarios["quarter"].OK)
	assert.EqualValues(t, 4, res.Scenarios["quarter"].Failed)
}

func TestStatsStartedEqualsOKPlusFailed(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	reg := NewRegistry()
	reg.Scenario("a", 2, func(ctx context.Context, s *Session) error {
		if s.Iteration()%3 == 0 {
			return errors.New("every third")
		}
		return sbGet(ctx, s, "/a")
	})
	reg.Scenario("b", 1, func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/b") })
	reg.Scenario("never", 0, func(ctx context.Context, s *Session) error { return nil })
	const workers = 4
	run, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, Duration: 300 * time.Millisecond, Quiet: true}).Start(context.Background())
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		snap := run.Snapshot()
		assert.GreaterOrEqual(t, snap.Started, snap.OK+snap.Failed, "snapshot: a run counted as done before started")
		// No upper bound: between the loads of OK and of Started, the
		// workers may end and start any number of runs.
		time.Sleep(20 * time.Millisecond)
	}
	res, err := run.Wait()
	require.NoError(t, err)
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Positive(t, res.Started)
	assert.Positive(t, res.Failed)
	assert.Equal(t, res.Started, res.OK+res.Failed)
	var ok, failed int64
	for _, sc := range res.Scenarios {
		ok += sc.OK
		failed += sc.Failed
	}
	assert.Equal(t, res.OK, ok)
	assert.Equal(t, res.Failed, failed)
	require.Contains(t, res.Scenarios, "never", "every registered scenario is in the Result")
	assert.Zero(t, res.Scenarios["never"].OK+res.Scenarios["never"].Failed)
	assert.GreaterOrEqual(t, res.Elapsed, 300*time.Millisecond)
	assert.Less(t, res.Elapsed, 2*time.Second)
	assert.Equal(t, workers, res.MaxWorkers)
}
