package molotov

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molotov-go/molotov/internal/threshold"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// thresholdFields is what two parses of the same threshold must agree on.
type thresholdFields struct {
	Scope  threshold.Scope
	Name   string
	Metric string
	Op     string
	Value  float64
	Dur    time.Duration
}

func fieldsOf(th *threshold.Threshold) thresholdFields {
	return thresholdFields{Scope: th.Scope, Name: th.Name, Metric: th.Metric, Op: th.Op, Value: th.Value, Dur: th.Dur}
}

var validThresholds = []struct {
	expr string
	want thresholdFields
}{
	{"p99 < 200ms", thresholdFields{threshold.Run, "", "p99", "<", 0.2, 200 * time.Millisecond}},
	{"p99<200ms", thresholdFields{threshold.Run, "", "p99", "<", 0.2, 200 * time.Millisecond}},
	{"  p95<=1.5s ", thresholdFields{threshold.Run, "", "p95", "<=", 1.5, 1500 * time.Millisecond}},
	{"failure_rate < 1%", thresholdFields{threshold.Run, "", "failure_rate", "<", 0.01, 0}},
	{"failure_rate<0.01", thresholdFields{threshold.Run, "", "failure_rate", "<", 0.01, 0}},
	{"rps >= 500", thresholdFields{threshold.Run, "", "rps", ">=", 500, 0}},
	{"rps>=500/s", thresholdFields{threshold.Run, "", "rps", ">=", 500, 0}},
	{"ok == 20", thresholdFields{threshold.Run, "", "ok", "==", 20, 0}},
	{"dropped == 0", thresholdFields{threshold.Run, "", "dropped", "==", 0, 0}},
	{"scheduled>=400", thresholdFields{threshold.Run, "", "scheduled", ">=", 400, 0}},
	{"start_lag_p99 < 5ms", thresholdFields{threshold.Run, "", "start_lag_p99", "<", 0.005, 5 * time.Millisecond}},
	{"peak_busy < 200", thresholdFields{threshold.Run, "", "peak_busy", "<", 200, 0}},
	{"cpu_busy < 90%", thresholdFields{threshold.Run, "", "cpu_busy", "<", 0.9, 0}},
	{"connections < 100", thresholdFields{threshold.Run, "", "connections", "<", 100, 0}},
	{"failed != 0", thresholdFields{threshold.Run, "", "failed", "!=", 0, 0}},
	{"scenario(list_items).p95 < 100ms", thresholdFields{threshold.Scenario, "list_items", "p95", "<", 0.1, 100 * time.Millisecond}},
	{"request(GET /items/{id}).p99 <= 150ms", thresholdFields{threshold.Request, "GET /items/{id}", "p99", "<=", 0.15, 150 * time.Millisecond}},
	{"request(GET /a(b)).count > 3", thresholdFields{threshold.Request, "GET /a(b)", "count", ">", 3, 0}},
	{"p99 < 200 ms", thresholdFields{threshold.Run, "", "p99", "<", 0.2, 200 * time.Millisecond}},
	{"max > 250us", thresholdFields{threshold.Run, "", "max", ">", 0.00025, 250 * time.Microsecond}},
	{"min >= 0s", thresholdFields{threshold.Run, "", "min", ">=", 0, 0}},
	{"mean < 1m", thresholdFields{threshold.Run, "", "mean", "<", 60, time.Minute}},
	// A few more spellings of the same grammar.
	{"scenario( list ).ok > 0", thresholdFields{threshold.Scenario, "list", "ok", ">", 0, 0}},
	{"scenario(a).runs_per_s >= 2.5/s", thresholdFields{threshold.Scenario, "a", "runs_per_s", ">=", 2.5, 0}},
	{"request(GET /).error_rate > 2.5 %", thresholdFields{threshold.Request, "GET /", "error_rate", ">", 0.025, 0}},
	{"request(POST /x).rps > 10", thresholdFields{threshold.Request, "POST /x", "rps", ">", 10, 0}},
	{"started >= 1e3", thresholdFields{threshold.Run, "", "started", ">=", 1000, 0}},
	{"\tp999 > 1h2m", thresholdFields{threshold.Run, "", "p999", ">", 3720, time.Hour + 2*time.Minute}},
}

func TestParseThreshold(t *testing.T) {
	for _, tt := range validThresholds {
		t.Run(tt.expr, func(t *testing.T) {
			th, err := parseThreshold(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, fieldsOf(th))
			assert.Equal(t, tt.expr, th.Expr, "the expression is kept as written")
		})
	}
}

var malformedThresholds = []struct {
	expr string
	pos  int
	msg  string
}{
	{"", 0, "empty threshold"},
	{"   ", 3, "empty threshold"},
	{"p98 < 1s", 0, `unknown metric "p98"`},
	{"p99 200ms", 4, "expected an operator"},
	{"p99 = 200ms", 4, "expected an operator"},
	{"p99 <", 5, `expected a value after "<"`},
	{"p99 <   ", 8, `expected a value after "<"`},
	{"p99 < 200", 6, "needs a unit"},
	{"p99 < 20xms", 6, "not a duration"},
	{"p99 < -1s", 6, "negative"},
	{"failure_rate < 150%", 15, "outside 0%..100%"},
	{"failure_rate < 1.5", 15, "ambiguous"},
	{"failure_rate < 1", 15, "write a percentage like 1% or a fraction below 1 like 0.01"},
	{"failure_rate < 5", 15, "write a percentage like 5%"},
	{"request(GET /).error_rate <= 2", 29, "ambiguous"},
	{"failure_rate < abc", 15, "not a rate"},
	{"ok == 1.5", 6, "not a whole number"},
	{"ok == -1", 6, "not a whole number"},
	{"rps >= -1", 7, "not a rate per second"},
	{"scenario(x.p99 < 1s", 19, `no closing ")."`},
	{"scenario().p99<1s", 9, "empty scenario name"},
	{"request(  ).p99<1s", 8, "empty request name"},
	{"request(GET /).error_rate > abc", 28, "not a rate"},
	{"scenario(a).count > 1", 12, `unknown metric "count" for a scenario`},
	{"request(a).failure_rate > 0", 11, `unknown metric "failure_rate" for a request`},
	{"scenario(a).started > 1", 12, `unknown metric "started" for a scenario`},
	{"scenario(a). p99 < 1s", 12, "expected a metric name"},
	{"<= 1s", 0, "expected a metric name"},
	{"p99 < NaNms", 6, "not a duration"},
	{"p99 < NaN", 6, "not a duration"},
	{"ok == Inf", 6, "not a whole number"},
	{"failure_rate < NaN", 15, "not a rate"},
	{"rps > 0x10", 6, "not a rate per second"},
	{"rps > 1e400", 6, "not a rate per second"},
}

func TestParseThresholdErrors(t *testing.T) {
	for _, tt := range malformedThresholds {
		t.Run(tt.expr, func(t *testing.T) {
			th, err := parseThreshold(tt.expr)
			require.Error(t, err)
			assert.Nil(t, th)
			var te *ThresholdError
			require.True(t, errors.As(err, &te), "got %T %v", err, err)
			assert.Equal(t, tt.expr, te.Expr)
			assert.Equal(t, tt.pos, te.Pos)
			assert.Contains(t, te.Msg, tt.msg)

			// The message quotes the expression, then shows it with a caret
			// under the offending byte.
			text := te.Error()
			assert.Contains(t, text, tt.expr)
			assert.Contains(t, text, te.Msg)
			lines := strings.Split(text, "\n")
			require.Len(t, lines, 3, "message, expression, caret: %q", text)
			assert.Equal(t, "\t"+tt.expr, lines[1])
			assert.Equal(t, "\t"+strings.Repeat(" ", tt.pos)+"^", lines[2])
		})
	}
}

func TestThresholdStringRoundTrip(t *testing.T) {
	for _, tt := range validThresholds {
		t.Run(tt.expr, func(t *testing.T) {
			first, err := parseThreshold(tt.expr)
			require.NoError(t, err)
			printed := first.String()
			again, err := parseThreshold(printed)
			require.NoError(t, err, "String() gave %q", printed)
			assert.Equal(t, fieldsOf(first), fieldsOf(again), "String() gave %q", printed)
			assert.Equal(t, printed, again.String(), "the canonical form is a fixed point")
		})
	}
}

// The canonical form is the documented one.
func TestThresholdStringCanonical(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"p99<200ms", "p99 < 200ms"},
		{"failure_rate < 1%", "failure_rate < 0.01"},
		{"rps>=500", "rps >= 500/s"},
		{"ok == 1e3", "ok == 1000"},
		{"scenario( list ).p95<100ms", "scenario(list).p95 < 100ms"},
		{"request(GET /a(b)).count > 3", "request(GET /a(b)).count > 3"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			th, err := parseThreshold(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, th.String())
		})
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, tt := range validThresholds {
		f.Add(tt.expr)
	}
	for _, tt := range malformedThresholds {
		f.Add(tt.expr)
	}
	for _, s := range []string{
		"request(a)).p99 < 1s", "request(a) ).p99 < 1s", "scenario(.).ok == -0",
		"failure_rate < 1e-320%", "ok == 1e300", "rps > 1e21/s", "p99 < 250µs",
		"p99 < 0", "p99 < 2562047h47m16.854775807s", "request(é).p99 < 1s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := parseThreshold(expr)
		if err != nil {
			require.Nil(t, th)
			var te *ThresholdError
			require.True(t, errors.As(err, &te), "got %T %v", err, err)
			require.Equal(t, expr, te.Expr)
			require.GreaterOrEqual(t, te.Pos, 0)
			require.LessOrEqual(t, te.Pos, len(expr))
			_ = te.Error()
			return
		}
		require.False(t, math.IsNaN(th.Value) || math.IsInf(th.Value, 0), "value %v", th.Value)
		printed := th.String()
		again, err := parseThreshold(printed)
		require.NoError(t, err, "%q printed as %q", expr, printed)
		require.Equal(t, fieldsOf(th), fieldsOf(again), "%q printed as %q", expr, printed)
	})
}

func TestThresholdHolds(t *testing.T) {
	tests := []struct {
		op       string
		value    float64
		measured float64
		want     bool
	}{
		{"<", 1, 0.5, true},
		{"<", 1, 1, false},
		{"<", 1, 2, false},
		{"<=", 1, 1, true},
		{"<=", 1, 1.0000001, false},
		{">", 1, 1, false},
		{">", 1, 1.5, true},
		{">=", 1, 1, true},
		{">=", 1, 0.999, false},
		{"==", 20, 20, true},
		{"==", 20, 19, false},
		{"!=", 0, 0, false},
		{"!=", 0, 3, true},
		{"<", 1, math.Inf(-1), true},
		{">", 1, math.Inf(1), true},
		// Nothing measured never holds, whatever the operator.
		{"<", 1, math.NaN(), false},
		{"<=", 1, math.NaN(), false},
		{">", 1, math.NaN(), false},
		{">=", 1, math.NaN(), false},
		{"==", 1, math.NaN(), false},
		{"!=", 1, math.NaN(), false},
	}
	for _, tt := range tests {
		th := &threshold.Threshold{Op: tt.op, Value: tt.value}
		t.Run(th.Op+" "+strconv.FormatFloat(tt.value, 'g', -1, 64)+" measured "+strconv.FormatFloat(tt.measured, 'g', -1, 64), func(t *testing.T) {
			assert.Equal(t, tt.want, th.Holds(tt.measured))
		})
	}
}

func TestThresholdMeasure(t *testing.T) {
	res := &Result{
		Started: 105, OK: 90, Failed: 15, Interrupted: 5,
		Elapsed: 10 * time.Second,
		latency: Latency{Min: time.Millisecond, Mean: 20 * time.Millisecond, P50: 15 * time.Millisecond,
			P90: 40 * time.Millisecond, P95: 50 * time.Millisecond, P99: 80 * time.Millisecond,
			P999: 95 * time.Millisecond, Max: 100 * time.Millisecond},
		Scenarios: map[string]*ScenarioStats{
			"list":  {OK: 40, Failed: 10, Latency: Latency{P95: 120 * time.Millisecond, Max: 300 * time.Millisecond}},
			"idle":  {},
			"write": {OK: 50, Failed: 5, Latency: Latency{P95: 7 * time.Millisecond}},
		},
		Requests: map[string]*RequestStats{
			"GET /items": {Count: 300, Errors: 3, Latency: Latency{P99: 150 * time.Millisecond, Min: 250 * time.Microsecond}},
			"POST /item": {Count: 100, Errors: 0},
			"GET /never": {Count: 0},
		},
	}
	tests := []struct {
		expr string
		want float64 // NaN: nothing measured
	}{
		// Run level: the run's own cancellations are not the target's failures.
		{"failure_rate < 1%", 10.0 / 100}, // failed = 15-5; 10/(90+10)
		{"failed == 0", 10},
		{"ok > 0", 90},
		{"started > 0", 105},
		{"rps > 1", 40},          // (300+100+0) requests / 10s
		{"runs_per_s > 1", 10.5}, // (90+15) runs / 10s
		{"p99 < 1s", 0.08},
		{"p50 < 1s", 0.015},
		{"p999 < 1s", 0.095},
		{"mean < 1s", 0.02},
		{"min < 1s", 0.001},
		{"max < 1s", 0.1},
		// Scenario level.
		{"scenario(list).p95 < 1s", 0.12},
		{"scenario(list).max < 1s", 0.3},
		{"scenario(list).failure_rate < 1%", 10.0 / 50},
		{"scenario(list).ok > 0", 40},
		{"scenario(list).failed == 0", 10},
		{"scenario(list).runs_per_s > 0", 5},
		{"scenario(write).p95 < 1s", 0.007},
		{"scenario(idle).p95 < 1s", math.NaN()}, // never ran: no latency
		{"scenario(idle).failure_rate < 1%", 0}, // never ran: no failure, as Result.FailureRate
		{"scenario(idle).runs_per_s > 0", 0},
		{"scenario(nope).ok > 0", math.NaN()},
		// Request level.
		{"request(GET /items).error_rate < 1%", 0.01},
		{"request(GET /items).count > 0", 300},
		{"request(GET /items).errors == 0", 3},
		{"request(GET /items).rps > 0", 30},
		{"request(GET /items).p99 < 1s", 0.15},
		{"request(GET /items).min < 1s", 0.00025},
		{"request(POST /item).error_rate < 1%", 0},
		{"request(GET /never).p99 < 1s", math.NaN()},
		{"request(GET /never).error_rate < 1%", 0},
		{"request(GET /nope).p99 < 1s", math.NaN()},
		{"request(GET /nope).count > 0", math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			th, err := parseThreshold(tt.expr)
			require.NoError(t, err)
			got := th.Measure(figures{res})
			if math.IsNaN(tt.want) {
				assert.True(t, math.IsNaN(got), "want NaN, got %v", got)
				return
			}
			assert.InDelta(t, tt.want, got, 1e-12)
		})
	}

	t.Run("nothing elapsed: no per-second figure", func(t *testing.T) {
		zero := &Result{OK: 3, Requests: map[string]*RequestStats{"GET /": {Count: 3}}}
		for _, expr := range []string{"rps > 0", "runs_per_s > 0", "request(GET /).rps > 0", "scenario(a).runs_per_s > 0"} {
			zero.Scenarios = map[string]*ScenarioStats{"a": {OK: 3}}
			th, err := parseThreshold(expr)
			require.NoError(t, err)
			assert.True(t, math.IsNaN(th.Measure(figures{zero})), expr)
		}
	})

	t.Run("a run without scenario runs: no latency", func(t *testing.T) {
		empty := &Result{Elapsed: time.Second, latency: Latency{P99: time.Second}}
		th, err := parseThreshold("p99 < 1s")
		require.NoError(t, err)
		assert.True(t, math.IsNaN(th.Measure(figures{empty})))
	})
}
