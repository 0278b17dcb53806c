package molotov

import (
	"bytes"
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
