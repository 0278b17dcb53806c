package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// result is the JSON line loadgen prints.
type result struct {
	OK        *int64   `json:"ok"`
	Failed    *int64   `json:"failed"`
	ElapsedS  *float64 `json:"elapsed_s"`
	Scheduled *int64   `json:"scheduled"`
	Dropped   *int64   `json:"dropped"`
	Rate      *float64 `json:"rate_achieved"`
	LagP99    *int64   `json:"start_lag_p99_ns"`
	Pool      *int     `json:"max_workers"`
	Busy      *int     `json:"peak_busy"`
}

// runJSON runs loadgen with args and decodes its one output line.
func runJSON(t *testing.T, args ...string) result {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatalf("run(%q): %v", args, err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want exactly one output line, got %d: %q", len(lines), out.String())
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[0]), &raw); err != nil {
		t.Fatalf("output %q is not JSON: %v", lines[0], err)
	}
	if _, open := raw["scheduled"]; len(raw) != 3 && !(open && len(raw) == 11) {
		t.Errorf("want keys ok, failed, elapsed_s (and scheduled, dropped, rate_achieved, max_workers, peak_busy, start_lag_p50_ns, start_lag_p99_ns, start_lag_max_ns with -rate); got %q", lines[0])
	}
	var res result
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil {
		t.Fatalf("output %q: %v", lines[0], err)
	}
	if res.OK == nil || res.Failed == nil || res.ElapsedS == nil {
		t.Fatalf("output %q lacks ok, failed or elapsed_s", lines[0])
	}
	return res
}

func TestRunCountsEveryRun(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"message":"hello","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`))
	}))
	defer srv.Close()

	for _, tc := range []struct{ workers, maxRuns int }{{1, 1}, {4, 25}, {16, 10}} {
		t.Run(strconv.Itoa(tc.workers)+"x"+strconv.Itoa(tc.maxRuns), func(t *testing.T) {
			hits.Store(0)
			res := runJSON(t, "-url", srv.URL+"/", "-workers", strconv.Itoa(tc.workers), "-max-runs", strconv.Itoa(tc.maxRuns))
			want := int64(tc.workers * tc.maxRuns)
			if *res.OK != want || *res.Failed != 0 {
				t.Errorf("ok=%d failed=%d, want ok=%d (workers × max-runs) failed=0", *res.OK, *res.Failed, want)
			}
			if got := hits.Load(); got != want {
				t.Errorf("server saw %d requests, want %d", got, want)
			}
			if *res.ElapsedS <= 0 {
				t.Errorf("elapsed_s = %v, want > 0", *res.ElapsedS)
			}
		})
	}
}

func TestRunCountsNon200AsFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	res := runJSON(t, "-url", srv.URL, "-workers", "3", "-max-runs", "4")
	if *res.OK != 0 || *res.Failed != 12 {
		t.Errorf("ok=%d failed=%d, want ok=0 failed=12", *res.OK, *res.Failed)
	}
}

func TestRunDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res := runJSON(t, "-url", srv.URL, "-workers", "2", "-duration", "200ms")
	if *res.OK == 0 || *res.Failed != 0 {
		t.Errorf("ok=%d failed=%d, want ok>0 failed=0", *res.OK, *res.Failed)
	}
	if *res.ElapsedS < 0.2 || *res.ElapsedS > 5 {
		t.Errorf("elapsed_s = %v, want about 0.2", *res.ElapsedS)
	}
}

// -rate runs the open model: the schedule's starts, all accounted for.
func TestRunRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res := runJSON(t, "-url", srv.URL, "-rate", "200", "-max-workers", "10", "-duration", "1s")
	if res.Scheduled == nil || *res.Scheduled != 200 {
		t.Fatalf("scheduled = %v, want 200", res.Scheduled)
	}
	if got := *res.OK + *res.Failed + *res.Dropped; got != *res.Scheduled {
		t.Errorf("ok+failed+dropped = %d, want scheduled %d", got, *res.Scheduled)
	}
	if res.LagP99 == nil || *res.LagP99 <= 0 || *res.LagP99 > int64(time.Second) {
		t.Errorf("start_lag_p99_ns = %v, want a lag between 0 and 1 s", res.LagP99)
	}
	if res.Busy == nil || *res.Busy < 1 || *res.Busy > 10 {
		t.Errorf("peak_busy = %v, want 1 to the pool's 10", res.Busy)
	}
	if *res.Rate < 150 || *res.Rate > 250 {
		t.Errorf("rate_achieved = %v, want about 200", *res.Rate)
	}
}

// With -rate, the pool is -max-workers, else -workers when given, else
// the library's default of Rate × 1 s.
func TestRunRatePool(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"max-workers", []string{"-max-workers", "7"}, 7},
		{"workers", []string{"-workers", "3"}, 3},
		{"default", nil, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runJSON(t, append([]string{"-url", srv.URL, "-rate", "40", "-duration", "200ms"}, tc.args...)...)
			if res.Pool == nil || *res.Pool != tc.want {
				t.Errorf("max_workers = %v, want %d", res.Pool, tc.want)
			}
		})
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error
	}{
		{"unknown flag", []string{"-url", "http://127.0.0.1:1/", "-max-runs", "1", "-bogus"}, "bogus"},
		{"bad number", []string{"-url", "http://127.0.0.1:1/", "-workers", "many", "-max-runs", "1"}, "workers"},
		{"no url", []string{"-max-runs", "1"}, "-url is required"},
		{"remote host", []string{"-url", "http://example.com/", "-max-runs", "1"}, "not loopback"},
		{"remote ip", []string{"-url", "http://10.0.0.1:8080/", "-max-runs", "1"}, "not loopback"},
		{"remote ipv6", []string{"-url", "http://[2001:db8::1]:8080/", "-max-runs", "1"}, "not loopback"},
		{"loopback-looking name", []string{"-url", "http://127.0.0.1.example.com/", "-max-runs", "1"}, "not loopback"},
		{"no scheme", []string{"-url", "127.0.0.1:8080", "-max-runs", "1"}, "http://"},
		{"ftp", []string{"-url", "ftp://127.0.0.1/", "-max-runs", "1"}, "http://"},
		{"zero workers", []string{"-url", "http://127.0.0.1:1/", "-workers", "0", "-max-runs", "1"}, "-workers"},
		{"negative runs", []string{"-url", "http://127.0.0.1:1/", "-max-runs", "-1"}, "-max-runs"},
		{"negative duration", []string{"-url", "http://127.0.0.1:1/", "-duration", "-1s"}, "-duration"},
		{"unbounded", []string{"-url", "http://127.0.0.1:1/"}, "-duration or -max-runs"},
		{"stray argument", []string{"-url", "http://127.0.0.1:1/", "-max-runs", "1", "extra"}, "unexpected"},
		{"negative rate", []string{"-url", "http://127.0.0.1:1/", "-duration", "1s", "-rate", "-5"}, "-rate"},
		{"rate with max-runs", []string{"-url", "http://127.0.0.1:1/", "-max-runs", "5", "-rate", "10"}, "-duration"},
		{"negative max-workers", []string{"-url", "http://127.0.0.1:1/", "-duration", "1s", "-rate", "10", "-max-workers", "-1"}, "-max-workers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(tc.args, &out)
			if err == nil {
				t.Fatalf("run(%q) = nil, want an error", tc.args)
			}
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("run(%q) = %T %v, want a *usageError (exit status 2)", tc.args, err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %q, want it to mention %q", tc.args, err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("run(%q) printed %q on error, want nothing", tc.args, out.String())
			}
		})
	}
}

func TestCheckLoopbackAccepts(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:18080/", "http://127.1.2.3/x", "http://localhost:80", "https://LOCALHOST/", "http://[::1]:8080/"} {
		if err := checkLoopback(u); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", u, err)
		}
	}
}

// -warm makes one request per session before time zero: the target sees
// them beside the runs, which alone are counted in ok.
func TestRunWarm(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		args []string
		runs int64
		pool int64
	}{
		{"closed", []string{"-workers", "3", "-max-runs", "5"}, 15, 3},
		{"open", []string{"-rate", "100", "-max-workers", "6", "-duration", "200ms"}, 20, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			res := runJSON(t, append([]string{"-url", srv.URL, "-warm"}, tc.args...)...)
			if *res.OK != tc.runs || hits.Load() != tc.runs+tc.pool {
				t.Errorf("ok = %d, the target saw %d requests; want %d runs and %d + %d warming requests", *res.OK, hits.Load(), tc.runs, tc.runs, tc.pool)
			}
		})
	}
}
