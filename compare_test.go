package molotov

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molotov-go/molotov/internal/resultjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compareRow returns the row of c for kind and name.
func compareRow(t *testing.T, c *Comparison, kind, name string) ComparisonRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Kind == kind && r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s %q row in %+v", kind, name, c.Rows)
	return ComparisonRow{}
}

// A request's failures are those without a complete response and those
// answered with an error status: GET /flaky with 10% of 500s fails 10%.
func TestCompareRequestFailuresCountErrorStatuses(t *testing.T) {
	tests := []struct {
		name   string
		errors int64
		status map[int]int64
		want   float64
	}{
		{"all 2xx", 0, map[int]int64{200: 100}, 0},
		{"10% of 500s", 0, map[int]int64{200: 90, 500: 10}, 0.10},
		{"4xx and 5xx", 0, map[int]int64{200: 80, 404: 5, 429: 5, 503: 10}, 0.20},
		{"3xx are no failure", 0, map[int]int64{200: 90, 304: 10}, 0},
		{"transport errors and statuses", 5, map[int]int64{200: 85, 500: 10}, 0.15},
		{"a broken body after a 500 counts in both, capped", 60, map[int]int64{500: 100}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &Result{Elapsed: time.Second, Requests: map[string]*RequestStats{
				"GET /flaky": {Count: 100, Errors: tt.errors, Status: tt.status},
			}}
			row := compareRow(t, Compare(res, res, 0.1), "request", "GET /flaky")
			assert.InDelta(t, tt.want, row.Old.FailureRate, 1e-9)
		})
	}

	healthy := &Result{Elapsed: time.Second, Requests: map[string]*RequestStats{"GET /flaky": {Count: 100, Status: map[int]int64{200: 100}}}}
	flaky := &Result{Elapsed: time.Second, Requests: map[string]*RequestStats{"GET /flaky": {Count: 100, Status: map[int]int64{200: 90, 500: 10}}}}
	c := Compare(healthy, flaky, 0.1)
	assert.Equal(t, []string{"failure_rate"}, compareRow(t, c, "request", "GET /flaky").Regressions)
	var out bytes.Buffer
	require.NoError(t, c.WriteText(&out))
	assert.Contains(t, out.String(), "0.00% → 10.00% !")
	assert.Contains(t, out.String(), "of requests, those with no complete response or a status of 400 or more", "the output says what it counts")
}

// Compare names the options in which the runs differ, but not those that
// differ between any two runs (the seed, the start time) nor thresholds.
func TestCompareWarnsOfOtherOptions(t *testing.T) {
	base := runOptions{Workers: 10, Duration: 30 * time.Second, RequestTimeout: DefaultRequestTimeout, Seed: 1, StartAt: "2030-01-01T00:00:00Z"}
	result := func(change func(o *runOptions)) *Result {
		o := base
		change(&o)
		return &Result{Elapsed: time.Second, opts: &o}
	}
	same := func(*runOptions) {}
	tests := []struct {
		name     string
		old, new *Result
		want     []string
	}{
		{"same options", result(same), result(same), nil},
		{"seed, start and thresholds differ", result(same), result(func(o *runOptions) {
			o.Seed, o.StartAt, o.Thresholds = 2, "2030-01-02T00:00:00Z", []string{"p99 < 1s"}
		}), nil},
		{"workers and duration", result(same), result(func(o *runOptions) { o.Workers, o.Duration = 20, time.Minute }),
			[]string{"workers 10 → 20", "duration 30s → 1m0s"}},
		{"rate and stages", result(same), result(func(o *runOptions) {
			o.Rate, o.Stages = 50, []resultjson.Stage{{Duration: 10 * time.Second, Rate: 50}}
		}), []string{"rate 0 → 50", "stages [] → [10s:50/s]"}},
		{"a share against the whole run", result(same), func() *Result { r := result(same); r.Segment = "0/2"; return r }(),
			[]string{"segment whole run → 0/2"}},
		{"options unknown", &Result{Elapsed: time.Second}, result(func(o *runOptions) { o.Workers = 99 }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.old, tt.new, 0.1)
			assert.Equal(t, tt.want, c.OptionChanges)
			var out bytes.Buffer
			require.NoError(t, c.WriteText(&out))
			if tt.want == nil {
				assert.NotContains(t, out.String(), "warning")
			} else {
				assert.Contains(t, out.String(), "warning: the runs had different options")
				for _, w := range tt.want {
					assert.Contains(t, out.String(), w)
				}
			}
		})
	}
}

// When both runs ran the open model, the run's row compares their start
// lag p99, and a rise beyond the tolerance and by more than 1 ms is a
// regression; otherwise nothing of the start lag shows, as before.
func TestCompareStartLag(t *testing.T) {
	const ms = time.Millisecond
	closed := func() *Result {
		return &Result{Started: 100, OK: 100, Elapsed: time.Second, latency: Latency{P50: 10 * ms, P99: 20 * ms}}
	}
	open := func(p99 time.Duration) *Result {
		r := closed()
		r.Scheduled = 100
		r.StartLag = Latency{P50: p99 / 4, P99: p99, Max: 2 * p99}
		return r
	}
	fixture := func(name string) *Result {
		f, err := os.Open(filepath.Join("internal", "report", "testdata", name))
		require.NoError(t, err)
		defer f.Close()
		r, err := ReadResult(f)
		require.NoError(t, err)
		return r
	}
	lagged := fixture("open-lag.json") // a start lag p99 of 99.4ms
	tests := []struct {
		name      string
		old, new  *Result
		compared  bool
		regressed bool
		cell      string // the start lag p99's cell in the text
	}{
		{"both closed", closed(), closed(), false, false, ""},
		{"closed, then open", closed(), open(300 * time.Microsecond), false, false, ""},
		{"open, then closed", open(300 * time.Microsecond), closed(), false, false, ""},
		{"an open result that does not record it", fixture("open-drops.json"), lagged, false, false, ""},
		{"steady", open(300 * time.Microsecond), open(320 * time.Microsecond), true, false, "300µs → 320µs (+6.7%)"},
		{"better", open(5 * ms), open(ms), true, false, "5.0ms → 1.0ms (-80.0%)"},
		{"within the tolerance", open(20 * ms), open(21 * ms), true, false, "20.0ms → 21.0ms (+5.0%)"},
		{"scheduler jitter: 4 times worse, but by less than 1 ms", open(300 * time.Microsecond), open(1200 * time.Microsecond), true, false, "300µs → 1.2ms (+300.0%)"},
		{"late by milliseconds", open(300 * time.Microsecond), open(1500 * time.Microsecond), true, true, "300µs → 1.5ms (+400.0%) !"},
		{"the same open run", lagged, lagged, true, false, "99.4ms → 99.4ms (+0.0%)"},
		{"read from JSON results", fixture("open-lag.json"), open(200 * ms), true, true, "99.4ms → 200ms (+101.3%) !"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.old, tt.new, 0.1)
			assert.Equal(t, tt.compared, c.StartLag())
			run := compareRow(t, c, "run", "")
			if tt.compared {
				assert.Equal(t, tt.old.StartLag.P99, run.Old.StartLagP99)
				assert.Equal(t, tt.new.StartLag.P99, run.New.StartLagP99)
			} else {
				assert.Equal(t, noStartLag, run.Old.StartLagP99)
				assert.Equal(t, noStartLag, run.New.StartLagP99)
			}
			assert.Equal(t, tt.regressed, slices.Contains(run.Regressions, "start_lag_p99"), "%v", run.Regressions)
			for _, r := range c.Rows[1:] {
				assert.Equal(t, noStartLag, r.Old.StartLagP99, "%s %s: only the run has a start lag", r.Kind, r.Name)
				assert.Equal(t, noStartLag, r.New.StartLagP99, "%s %s", r.Kind, r.Name)
			}

			var out bytes.Buffer
			require.NoError(t, c.WriteText(&out))
			text := out.String()
			header := lineWhere(t, text, func(l string) bool { return strings.Contains(l, "rate/s") })
			runLine := lineWhere(t, text, func(l string) bool { return strings.HasPrefix(l, "run ") })
			if !tt.compared {
				assert.NotContains(t, text, "start lag")
				assert.True(t, strings.HasSuffix(strings.TrimSpace(header), "failures"), "%q", header)
				return
			}
			assert.Contains(t, text, "start lag: open model, how late the run's starts began against their intended times\n")
			assert.True(t, strings.HasSuffix(header, "start lag p99"), "%q", header)
			assert.True(t, strings.HasSuffix(runLine, "  "+tt.cell), "the run's row %q, want it to end with %q", runLine, tt.cell)
			assert.Equal(t, tt.regressed, strings.Contains(text, "REGRESSION"))
		})
	}
}

// lineWhere returns the first line of text, without its newline, that
// match accepts.
func lineWhere(t *testing.T, text string, match func(string) bool) string {
	t.Helper()
	for line := range strings.Lines(text) {
		if line = strings.TrimSuffix(line, "\n"); match(line) {
			return line
		}
	}
	t.Fatalf("no such line in\n%s", text)
	return ""
}
