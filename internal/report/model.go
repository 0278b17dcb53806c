package report

// The view model: what a page shows, computed in Go and embedded in the
// page as JSON. The page's tables and verdict are rendered from it on the
// server side, so they read well even where scripts are blocked; its
// charts are drawn from the same JSON by the page's script. Durations in
// chart data are milliseconds; text is formatted here, once.

// Page is one report: a single run, or two runs compared.
type Page struct {
	Title string `json:"title"`
	// Runs holds one run, or two: the old run first, the new one second.
	Runs []*Run `json:"runs"`
	// Comparison is the old run against the new one; nil for one run.
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Run is one run's view.
type Run struct {
	Label   string  `json:"label"` // the file the run was read from, or "run"
	Verdict Verdict `json:"verdict"`
	Facts   []Fact  `json:"facts"`          // the key figures, in order
	Open    bool    `json:"open,omitempty"` // the open model: latency from each run's intended start
	// Timeline is the run second by second, for the time charts.
	Timeline Timeline `json:"timeline"`
	// Stages are the seconds from the start at which each stage of the
	// load shape ended, within the run.
	Stages []float64 `json:"stages,omitempty"`
	// StartLag is the open model's start lag by percentile: how late each
	// start began against its intended time. Nil in the closed model, and
	// for a result that does not record it.
	StartLag *Curve `json:"start_lag,omitempty"`

	Scenarios  []Scenario  `json:"scenarios"`
	Requests   []Request   `json:"requests"`
	Errors     []ErrorRow  `json:"errors"`
	MoreErrors int         `json:"more_errors,omitempty"` // distinct errors not listed
	Thresholds []Threshold `json:"thresholds,omitempty"`
	Options    []Fact      `json:"options"`
	// Segments lists the shares of a distributed run that a merged
	// result was made of, by share; empty for a run of one process.
	Segments []Segment `json:"segments,omitempty"`
	// MissingSegments names the shares a partial merge lacks:
	// "segments 3,5-7 of 8".
	MissingSegments string `json:"missing_segments,omitempty"`
}

// Verdict says in words whether the run passed and, if not, why.
type Verdict struct {
	Passed   bool     `json:"passed"`
	Headline string   `json:"headline"`          // "Passed: ..." or "Failed: ..."
	Reasons  []string `json:"reasons,omitempty"` // each broken rule, with measured value and limit
	Stop     string   `json:"stop"`              // why the run stopped
	Notes    []string `json:"notes,omitempty"`   // what else a reader should know: partial merge, no runs
}

// Fact is a labelled figure.
type Fact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Timeline is the run second by second, as columns of equal length: T[i]
// is the end of second i+1 in seconds from the start (the end of the run
// for the last second, which may be partial). Counts are per second; a
// last second too short to give a rate has null there. A column the
// result does not have (an older result, the closed model) is omitted.
type Timeline struct {
	T       []float64  `json:"t"`
	OK      []*float64 `json:"ok_per_s"`
	Failed  []*float64 `json:"failed_per_s"`
	FailPct []*float64 `json:"fail_pct"` // failed runs in percent of runs ended; null when none ended
	P50     []*float64 `json:"p50_ms"`   // null when no run ended
	P90     []*float64 `json:"p90_ms,omitempty"`
	P99     []*float64 `json:"p99_ms"`
	Workers []int      `json:"workers"`
	Busy    []int      `json:"busy,omitempty"` // the open model: most workers running a start at once
	// The open model's starts per second: the target of the shape, those
	// started, those dropped.
	Target  []float64  `json:"target_per_s,omitempty"`
	Started []*float64 `json:"started_per_s,omitempty"`
	Dropped []*float64 `json:"dropped_per_s,omitempty"`
}

// Scenario is one scenario's row and latency distribution.
type Scenario struct {
	Name         string   `json:"name"`
	Cells        []string `json:"cells"`                   // runs, failed, failure %, runs/s, p50, p90, p99, max
	Service      []string `json:"service,omitempty"`       // the open model: service time p50, p90, p99, max
	Curve        *Curve   `json:"curve,omitempty"`         // latency by percentile; nil when it never ran
	ServiceCurve *Curve   `json:"service_curve,omitempty"` // the open model: service time by percentile
}

// Curve is a latency distribution, HdrHistogram style: the latency at
// percentiles spaced evenly in "nines", -log10(1-q), so that 90%, 99% and
// 99.9% are equally far apart; the last point is the maximum.
type Curve struct {
	Nines []float64 `json:"nines"` // 0 is the minimum, 1 the 90th percentile, 2 the 99th...
	Ms    []float64 `json:"ms"`
}

// Request is one request name's row.
type Request struct {
	Name  string   `json:"name"`
	Cells []string `json:"cells"` // count, errors, req/s, p50, p90, p99, max, statuses
}

// ErrorRow is one distinct failure error.
type ErrorRow struct {
	Count int64  `json:"count"`
	Error string `json:"error"`
}

// Threshold is one threshold's verdict.
type Threshold struct {
	Expr     string `json:"expr"`
	Measured string `json:"measured"`
	Pass     bool   `json:"pass"`
}

// Segment is one share of a distributed run, as the share itself
// measured and judged it.
type Segment struct {
	Segment string `json:"segment"` // "i/n"
	Passed  bool   `json:"passed"`  // the share's own verdict
	// Cells: start from the run's start, elapsed, runs, failed (rate),
	// dropped starts (rate), workers, the process's CPU busy share, stop
	// reason, outcome.
	Cells []string `json:"cells"`
}

// Comparison is the table of changes from the old run to the new one.
type Comparison struct {
	Tolerance string `json:"tolerance"` // "10%"
	Regressed bool   `json:"regressed"`
	// StartLag is set when both runs ran the open model: the table then
	// has a column for the start lag p99.
	StartLag bool            `json:"start_lag,omitempty"`
	Rows     []ComparisonRow `json:"rows"`
}

// ComparisonRow compares one figure set (the run, a scenario, a request).
type ComparisonRow struct {
	Name  string           `json:"name"` // "run", "scenario browse", "request GET /"
	Only  string           `json:"only,omitempty"`
	Cells []ComparisonCell `json:"cells,omitempty"` // rate/s, p50, p99, failures; start lag p99 with Comparison.StartLag
}

// ComparisonCell is one figure, old and new.
type ComparisonCell struct {
	Text      string `json:"text"` // "12.0 → 10.5 (-12.5%)"
	Regressed bool   `json:"regressed,omitempty"`
}
