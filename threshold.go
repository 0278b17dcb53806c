package molotov

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/molotov-go/molotov/internal/proccpu"
	"github.com/molotov-go/molotov/internal/threshold"
)

// ThresholdResult is the verdict of one threshold, checked at the end of
// a run. A threshold is a pass/fail rule over the run's figures, written
// as "metric operator value":
//
//	failure_rate < 1%
//	p99 < 200ms
//	scenario(list_items).p95 < 100ms
//	request(GET /items/{id}).p99 <= 150ms
//	rps >= 500
//
// Spaces are optional ("p99<200ms"). The metric is one of:
//
//	run level      p50 p90 p95 p99 p999 min mean max   latency of every scenario run
//	               failure_rate ok failed started      scenario runs
//	               rps                                 requests per second (all requests)
//	               runs_per_s                          scenario runs per second
//	               dropped scheduled                   the open model's starts (Runner.Rate)
//	               start_lag_p50 start_lag_p99 start_lag_max
//	                                                   how late its starts began (Result.StartLag)
//	               peak_busy                           its most workers busy at once (Result.PeakBusy)
//	               cpu_busy                            the share of its CPUs the process kept busy (Result.CPUBusy)
//	               connections                         the connections its sessions opened (Result.Connections)
//	scenario(N).   p50 … max, failure_rate, ok, failed, runs_per_s
//	request(N).    p50 … max, error_rate, count, errors, rps
//
// Latencies take a duration with its unit (200ms, 1.5s, 250us); rates a
// percentage (1%) or a fraction below 1 (0.01): a bare 1 or 5 is refused
// as ambiguous; counts and per-second figures a plain number (500, or
// 500/s). The operators are < <= > >= == !=.
// Runs that the run itself cancelled are not counted as failed.
type ThresholdResult struct {
	Expr  string  // as written
	Value float64 // what was measured, in the threshold's unit (seconds for latencies, a fraction for rates); NaN when nothing was measured
	Pass  bool
}

// ThresholdError reports a threshold that does not parse, or that names a
// scenario the registry does not have. Pos is the byte offset in Expr of
// the offending character.
type ThresholdError struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *ThresholdError) Error() string {
	// The expression on one line, and under it a caret: a tab stays a tab
	// and any other character before Pos becomes one space, so the caret
	// lands under the offending character.
	line := strings.Map(func(r rune) rune {
		if r != '\t' && unicode.IsControl(r) {
			return ' '
		}
		return r
	}, e.Expr)
	pos := min(max(e.Pos, 0), len(e.Expr))
	pad := strings.Map(func(r rune) rune {
		if r == '\t' {
			return r
		}
		return ' '
	}, e.Expr[:pos])
	return fmt.Sprintf("molotov: threshold %q: %s (at column %d)\n\t%s\n\t%s^",
		e.Expr, e.Msg, utf8.RuneCountInString(e.Expr[:pos])+1, line, pad)
}

// parseThreshold parses one threshold (internal/threshold holds the
// grammar); a bad one is a *ThresholdError.
func parseThreshold(expr string) (*threshold.Threshold, error) {
	t, err := threshold.Parse(expr)
	var te *threshold.Error
	if errors.As(err, &te) {
		return nil, &ThresholdError{Expr: te.Expr, Pos: te.Pos, Msg: te.Msg}
	}
	return t, err
}

// parseThresholds parses every threshold of a run and checks the scenario
// names against the registry, and the open model's metrics against the
// model (open: Runner.Rate is set).
func parseThresholds(exprs []string, snap *registrySnapshot, open bool) ([]*threshold.Threshold, error) {
	out := make([]*threshold.Threshold, 0, len(exprs))
	for _, e := range exprs {
		t, err := parseThreshold(e)
		if err != nil {
			return nil, err
		}
		if t.Scope == threshold.Scenario {
			if _, ok := snap.byName[t.Name]; !ok {
				return nil, &ThresholdError{Expr: e, Pos: t.NamePos,
					Msg: fmt.Sprintf("unknown scenario %q; registered: %s", t.Name, strings.Join(scenarioNames(snap), ", "))}
			}
		}
		if t.Metric == "cpu_busy" && !cpuKnown() {
			return nil, &ThresholdError{Expr: e, Pos: strings.Index(e, t.Metric),
				Msg: fmt.Sprintf("cpu_busy: %s does not tell a process's CPU time; drop the threshold on this platform", runtime.GOOS)}
		}
		if t.OpenModel() && !open {
			return nil, &ThresholdError{Expr: e, Pos: strings.Index(e, t.Metric),
				Msg: fmt.Sprintf("%s measures the open model's starts, and this run has no Rate; set Runner.Rate (-molotov.rate), or drop the threshold", t.Metric)}
		}
		out = append(out, t)
	}
	return out, nil
}

// cpuKnown reports whether this platform tells the process's CPU time.
func cpuKnown() bool {
	_, ok := proccpu.Used()
	return ok
}

// checkThresholds evaluates every threshold against a finished run.
func checkThresholds(ts []*threshold.Threshold, res *Result) []ThresholdResult {
	if len(ts) == 0 {
		return nil
	}
	out := make([]ThresholdResult, len(ts))
	for i, t := range ts {
		v := t.Measure(figures{res})
		out[i] = ThresholdResult{Expr: t.Expr, Value: v, Pass: t.Holds(v)}
	}
	return out
}

// figures are a Result's figures, as thresholds measure them.
type figures struct{ r *Result }

func (f figures) Elapsed() time.Duration { return f.r.Elapsed }

func (f figures) Run() threshold.Group {
	r := f.r
	return threshold.Group{OK: r.OK, Failed: r.Failed, Interrupted: r.Interrupted, Started: r.Started,
		Dropped: r.Dropped, Scheduled: r.Scheduled, Count: r.requestCount(), Latency: threshold.Quantiles(r.latency),
		PeakBusy: int64(r.PeakBusy), Connections: r.Connections, StartLag: threshold.Quantiles(r.StartLag), CPUBusy: r.CPUBusy()}
}

func (f figures) Scenario(name string) (threshold.Group, bool) {
	s, ok := f.r.Scenarios[name]
	if !ok {
		return threshold.Group{}, false
	}
	return threshold.Group{OK: s.OK, Failed: s.Failed, Interrupted: s.Interrupted, Latency: threshold.Quantiles(s.Latency)}, true
}

func (f figures) Request(name string) (threshold.Group, bool) {
	q, ok := f.r.Requests[name]
	if !ok {
		return threshold.Group{}, false
	}
	return threshold.Group{Count: q.Count, Errors: q.Errors, Latency: threshold.Quantiles(q.Latency)}, true
}

// String prints the threshold with what was measured:
// "p99 < 200ms (measured 312.4ms)".
func (tr ThresholdResult) String() string { return describeThreshold(tr) }

// measured prints the value measured for tr in its threshold's unit
// ("312ms", "2.42%"); a plain number when tr's expression does not parse
// (a result read from elsewhere).
func (tr ThresholdResult) measured() string {
	t, err := parseThreshold(tr.Expr)
	if err != nil {
		return strconv.FormatFloat(tr.Value, 'g', -1, 64)
	}
	return t.Format(tr.Value)
}
