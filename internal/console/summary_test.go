package console

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "update testdata/*.golden files")

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1, "1ns"},
		{850, "850ns"},
		{999, "999ns"},
		{1000, "1.0µs"},
		{1234, "1.23µs"},
		{1235, "1.24µs"},
		{850 * time.Microsecond, "850µs"},
		{850400 * time.Nanosecond, "850µs"},
		{999600 * time.Nanosecond, "1.0ms"},
		{time.Millisecond, "1.0ms"},
		{1200 * time.Microsecond, "1.2ms"},
		{20 * time.Millisecond, "20.0ms"},
		{20340 * time.Microsecond, "20.3ms"},
		{20350 * time.Microsecond, "20.4ms"},
		{999 * time.Millisecond, "999ms"},
		{time.Second, "1.0s"},
		{1249 * time.Millisecond, "1.25s"},
		{3 * time.Second, "3.0s"},
		{12345 * time.Millisecond, "12.3s"},
		{59940 * time.Millisecond, "59.9s"},
		{59960 * time.Millisecond, "1m00s"},
		{time.Minute, "1m00s"},
		{125*time.Second + 400*time.Millisecond, "2m05s"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h02m03s"},
		{-20340 * time.Microsecond, "-20.3ms"},
		{math.MaxInt64, "2562047h47m16s"},
		{math.MinInt64, time.Duration(math.MinInt64).String()},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatDuration(tt.d); got != tt.want {
				t.Errorf("FormatDuration(%d) = %q, want %q", int64(tt.d), got, tt.want)
			}
		})
	}
}

func TestLiveLine(t *testing.T) {
	tests := []struct {
		name       string
		ok, failed int64
		workers    int
		busy       int
		elapsed    time.Duration
		rate       float64
		want       string
	}{
		{"example", 12, 0, 3, -1, 2 * time.Second, 6, "SUCCESSES: 12 | FAILURES: 0 | WORKERS: 3 | ELAPSED: 2.0s | RATE: 6.0/s"},
		{"elapsed rounded", 1, 2, 10, -1, 2345 * time.Millisecond, 1.26, "SUCCESSES: 1 | FAILURES: 2 | WORKERS: 10 | ELAPSED: 2.3s | RATE: 1.3/s"},
		{"sub-second", 0, 0, 1, -1, 850 * time.Millisecond, 0, "SUCCESSES: 0 | FAILURES: 0 | WORKERS: 1 | ELAPSED: 850ms | RATE: 0.0/s"},
		{"long", 5, 1, 2, -1, 90 * time.Second, 1234.56, "SUCCESSES: 5 | FAILURES: 1 | WORKERS: 2 | ELAPSED: 1m30s | RATE: 1234.6/s"},
		{"NaN rate", 0, 0, 0, -1, 0, math.NaN(), "SUCCESSES: 0 | FAILURES: 0 | WORKERS: 0 | ELAPSED: 0s | RATE: 0.0/s"},
		{"open model", 599, 0, 30, 9, 2 * time.Second, 299.3, "SUCCESSES: 599 | FAILURES: 0 | WORKERS: 30 (9 busy) | ELAPSED: 2.0s | RATE: 299.3/s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LiveLine(tt.ok, tt.failed, tt.workers, tt.busy, tt.elapsed, tt.rate); got != tt.want {
				t.Errorf("LiveLine = %q\nwant       %q", got, tt.want)
			}
		})
	}
}

func TestWriteSummary(t *testing.T) {
	full := Summary{
		Elapsed:     3012 * time.Millisecond,
		Started:     130,
		OK:          123,
		Failed:      4,
		SetupFailed: 1,
		MaxWorkers:  10,
		StopReason:  "duration",
		Connections: 10,
		Scenarios: []ScenarioRow{
			{Name: "browse", OK: 100, Failed: 1, Rate: 33.666, P50: 20340 * time.Microsecond, P90: 45 * time.Millisecond, P99: 120 * time.Millisecond, Max: 1249 * time.Millisecond},
			{Name: "login\twith tab", OK: 23, Failed: 3, Rate: 8.6, P50: 850 * time.Microsecond, P90: 1200 * time.Microsecond, P99: 3 * time.Millisecond, Max: 3 * time.Second},
			{Name: "never ran"},
		},
		Requests: []RequestRow{
			{Name: "GET /", Count: 100, Errors: 5, Rate: 33.3, P50: 10 * time.Millisecond, P90: 20 * time.Millisecond, P99: 30 * time.Millisecond, Max: 40 * time.Millisecond,
				Status: map[int]int64{500: 5, 200: 95}},
			{Name: "POST /login", Count: 26, Errors: 0, Rate: 8.7, P50: 5 * time.Millisecond, P90: 6 * time.Millisecond, P99: 7 * time.Millisecond, Max: 8 * time.Millisecond,
				Status: map[int]int64{302: 20, 200: 3, 401: 3}},
			{Name: "GET /down", Count: 2, Errors: 2},
		},
		Errors: []ErrorRow{
			{Error: "status 500: internal server error", Count: 5},
			{Error: "dial tcp 127.0.0.1:1: connect: connection refused\nsecond line", Count: 2},
			{Error: strings.Repeat("x", 250), Count: 1},
		},
	}
	tests := []struct {
		name    string
		summary Summary
	}{
		{"full", full},
		{"header_only", Summary{Elapsed: 850 * time.Millisecond, OK: 1, MaxWorkers: 1}},
		{"open", Summary{Elapsed: 2 * time.Second, Started: 600, OK: 600, MaxWorkers: 30, PeakBusy: 9, StopReason: "duration",
			Scheduled: 600, StartLag: [3]time.Duration{106 * time.Microsecond, 6280 * time.Microsecond, 26 * time.Millisecond}}},
		{"open_pool_exhausted", Summary{Elapsed: 2 * time.Second, Started: 540, OK: 540, MaxWorkers: 30, PeakBusy: 30, StopReason: "duration",
			Scheduled: 600, Dropped: 60, StartLag: [3]time.Duration{106 * time.Microsecond, 980 * time.Millisecond, time.Second}}},
		{"cpu", Summary{Elapsed: 2 * time.Second, Started: 600, OK: 600, MaxWorkers: 4, StopReason: "duration",
			CPU: 1500 * time.Millisecond, Procs: 2}},
		{"open_short_of_cpu", Summary{Elapsed: 2 * time.Second, Started: 540, OK: 540, MaxWorkers: 30, PeakBusy: 30, StopReason: "duration",
			Scheduled: 600, Dropped: 60, StartLag: [3]time.Duration{106 * time.Microsecond, 980 * time.Millisecond, time.Second},
			CPU: 1960 * time.Millisecond, Procs: 1}},
		{"churning", Summary{Elapsed: 2 * time.Second, Started: 400, OK: 400, MaxWorkers: 4, StopReason: "duration", Connections: 397,
			Requests: []RequestRow{{Name: "GET /", Count: 400, Rate: 200, Status: map[int]int64{200: 400}}}}},
		{"open_oversized", Summary{Elapsed: time.Second, Started: 300, OK: 300, MaxWorkers: 300, PeakBusy: 2, StopReason: "duration",
			Scheduled: 300, StartLag: [3]time.Duration{60 * time.Microsecond, 180 * time.Microsecond, time.Millisecond}}},
		{"open_before_busy", Summary{Elapsed: 2 * time.Second, Started: 600, OK: 600, MaxWorkers: 30, StopReason: "duration",
			Scheduled: 600, StartLag: [3]time.Duration{106 * time.Microsecond, 6280 * time.Microsecond, 26 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			WriteSummary(&buf, tt.summary)
			golden := filepath.Join("testdata", "summary_"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("WriteSummary mismatch (run go test -update to accept)\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
