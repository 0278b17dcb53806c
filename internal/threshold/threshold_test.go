package threshold

import (
	"math"
	"testing"
	"time"
)

// The full grammar is tested through molotov's parseThreshold (with its
// caret errors); these are the package's own rules.

func TestFormatRounds(t *testing.T) {
	tests := []struct {
		kind Kind
		v    float64
		want string
	}{
		{Rate, 0.0002420838578483587, "0.0242%"},
		{Rate, 0.025, "2.5%"},
		{Rate, 0.12345, "12.3%"},
		{Rate, 0, "0%"},
		{Latency, 0.3124567, "312.46ms"},
		{PerSecond, 480.25, "480.2/s"},
		{Count, 12, "12"},
		{Latency, math.NaN(), "nothing was measured"},
	}
	for _, tt := range tests {
		if got := FormatKind(tt.kind, tt.v); got != tt.want {
			t.Errorf("FormatKind(%v, %v) = %q, want %q", tt.kind, tt.v, got, tt.want)
		}
	}
}

func TestRulesOfMetrics(t *testing.T) {
	tests := []struct {
		expr       string
		onFailures bool
		live       bool
	}{
		{"failure_rate < 1%", true, true},
		{"scenario(a).failed == 0", true, false},
		{"request(GET /).error_rate < 0.01", false, true}, // requests without a response, not failed runs
		{"request(GET /).errors <= 3", false, true},
		{"p99 < 200ms", false, true},
		{"ok > 1000", false, false},
		{"started < 10", false, true},
	}
	for _, tt := range tests {
		th, err := Parse(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.OnFailures(); got != tt.onFailures {
			t.Errorf("%s: OnFailures = %v, want %v", tt.expr, got, tt.onFailures)
		}
		if got := th.CheckableLive(); got != tt.live {
			t.Errorf("%s: CheckableLive = %v, want %v", tt.expr, got, tt.live)
		}
	}
}

// figures is a fixed set of figures for Measure.
type figures map[string]Group

func (f figures) Elapsed() time.Duration { return 2 * time.Second }
func (f figures) Run() Group             { return f[""] }
func (f figures) Scenario(n string) (Group, bool) {
	g, ok := f["s:"+n]
	return g, ok
}
func (f figures) Request(n string) (Group, bool) {
	g, ok := f["r:"+n]
	return g, ok
}

func TestMeasure(t *testing.T) {
	f := figures{
		"": {OK: 90, Failed: 10, Interrupted: 2, Started: 100, Count: 400, Latency: Quantiles{P99: 300 * time.Millisecond},
			PeakBusy: 12, StartLag: Quantiles{P50: time.Millisecond, P99: 4 * time.Millisecond, Max: 9 * time.Millisecond}, CPUBusy: 0.75, Connections: 7},
		"s:buy":    {OK: 9, Failed: 1},
		"r:GET /a": {Count: 100, Errors: 5, Latency: Quantiles{P50: 20 * time.Millisecond}},
	}
	tests := []struct {
		expr string
		want float64
	}{
		{"failure_rate < 1%", 8.0 / 98}, // the interrupted runs are not failures
		{"failed == 0", 8},
		{"rps > 1", 200},
		{"p99 < 1s", 0.3},
		{"scenario(buy).failure_rate < 1%", 0.1},
		{"request(GET /a).error_rate < 1%", 0.05},
		{"request(GET /a).p50 < 1s", 0.02},
		{"request(GET /b).count > 0", math.NaN()}, // never requested
		{"scenario(buy).p99 < 1s", 0},             // zero latency, but runs behind it
		{"start_lag_p50 < 1s", 0.001},
		{"start_lag_p99 < 1s", 0.004},
		{"start_lag_max < 1s", 0.009},
		{"peak_busy < 20", 12},
		{"cpu_busy < 90%", 0.75},
		{"connections < 100", 7},
	}
	for _, tt := range tests {
		th, err := Parse(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got := th.Measure(f)
		if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("%s: measured %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// cpu_busy measures nothing (and so fails) where the CPU time is not
// known: a run on Windows, or a result written before it was measured.
func TestMeasureUnknownCPU(t *testing.T) {
	th, err := Parse("cpu_busy < 90%")
	if err != nil {
		t.Fatal(err)
	}
	got := th.Measure(figures{"": {OK: 1}})
	if !math.IsNaN(got) || th.Holds(got) {
		t.Errorf("cpu_busy of a run without CPU time = %v (holds %v), want NaN, which fails", got, th.Holds(got))
	}
}
