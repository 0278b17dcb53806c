package molotov

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/molotov-go/molotov/internal/ratio"
)

// Comparison is what changed from one run to another, per scenario and per
// request: rate, p50, p99 and failure rate; and of the run, when both ran
// the open model, the start lag's p99. Compare builds it.
type Comparison struct {
	Tolerance float64 // relative change accepted before a change is a regression, 0.1 for 10%
	// OptionChanges lists the options in which the two runs differ, named
	// as in the JSON result, old value first: "workers 10 → 20". The
	// figures of runs with other options may differ for that reason
	// alone. Thresholds, Seed and StartAt are left out; so is everything
	// when a result does not record its options.
	OptionChanges []string
	Rows          []ComparisonRow
}

// ComparisonRow compares one scenario or request (or the whole run) in two
// runs. A figure missing from a run (a scenario added or removed) is NaN.
type ComparisonRow struct {
	Kind     string // "run", "scenario" or "request"
	Name     string // "" for the run
	Old, New Figures
	// Regressions names the figures that got worse beyond the tolerance:
	// "rate", "p50", "p99", "failure_rate", "start_lag_p99".
	Regressions []string
}

// Figures are the figures Compare looks at.
type Figures struct {
	Rate     float64       // runs (scenarios, the run) or requests per second
	P50, P99 time.Duration // latency
	// FailureRate is, over all, the failed runs (of the run, a scenario:
	// failed as the scenario saw them, interrupted ones left out) or the
	// failed requests: those without a complete response (RequestStats.Errors)
	// and those answered with a status from 400 to 599; a fraction.
	FailureRate float64
	// StartLagP99 is the p99 of the open model's start lag
	// (Result.StartLag), in the run's row when both runs measured it. It
	// is -1 where there is nothing to compare: in both runs' figures
	// when either ran the closed model or comes from a result that does
	// not record the start lag, and in the rows of scenarios and
	// requests, which have no start lag of their own.
	StartLagP99 time.Duration
}

// noStartLag is Figures.StartLagP99 where there is no start lag to compare.
const noStartLag time.Duration = -1

// failureNoise is the rise in failure rate that is never a regression,
// however large relative to a near-zero rate: 0.1 percentage point.
const failureNoise = 0.001

// startLagNoise is the rise in start lag p99 that is never a regression,
// however large relative to a lag of a few hundred microseconds, which
// is the scheduler's jitter: 1 ms.
const startLagNoise = time.Millisecond

// Compare compares two runs, old and new, scenario by scenario and request
// by request. A change is a regression when it is worse than tolerance, a
// fraction (0.1 for 10%): a rate lower than old×(1-tolerance), a p50 or p99
// higher than old×(1+tolerance), a failure rate higher than
// old×(1+tolerance) and by more than 0.1 percentage point.
//
// When both runs ran the open model (Runner.Rate), the run's row also
// compares the p99 of their start lag (Result.StartLag), and it takes
// part in the verdict: a start lag p99 higher than old×(1+tolerance) and
// by more than 1 ms is a regression. The new run's starts then kept
// their schedule worse: the load did not arrive when it was meant to, and
// every latency measured from the intended starts carries the delay. The
// 1 ms floor keeps the scheduler's jitter, a few hundred microseconds,
// from counting.
//
// Latencies of a few runs are noisy: for a statistically sound
// before/after, run the load as a benchmark (see Benchmark) and compare
// with benchstat.
func Compare(old, new *Result, tolerance float64) *Comparison {
	c := &Comparison{Tolerance: tolerance, OptionChanges: optionChanges(old, new)}
	lag := measuredStartLag(old) && measuredStartLag(new)
	run := func(r *Result) Figures {
		f := Figures{Rate: ratio.PerSecond(r.OK+r.Failed, r.Elapsed), P50: r.latency.P50, P99: r.latency.P99,
			FailureRate: ratio.FailureRate(r.OK, r.Failed, r.Interrupted), StartLagP99: noStartLag}
		if lag {
			f.StartLagP99 = r.StartLag.P99
		}
		return f
	}
	c.add("run", "", run(old), run(new))
	for _, name := range unionKeys(old.Scenarios, new.Scenarios) {
		c.add("scenario", name, scenarioFigures(old, name), scenarioFigures(new, name))
	}
	for _, name := range unionKeys(old.Requests, new.Requests) {
		c.add("request", name, requestFigures(old, name), requestFigures(new, name))
	}
	return c
}

// measuredStartLag reports whether r measured the open model's start lag:
// a run of the open model, or a result of one that records it.
func measuredStartLag(r *Result) bool {
	return r.startLag != nil || r.StartLag != (Latency{})
}

func scenarioFigures(r *Result, name string) Figures {
	s, ok := r.Scenarios[name]
	if !ok {
		return missingFigures()
	}
	return Figures{Rate: ratio.PerSecond(s.OK+s.Failed, r.Elapsed), P50: s.Latency.P50, P99: s.Latency.P99,
		FailureRate: ratio.FailureRate(s.OK, s.Failed, s.Interrupted), StartLagP99: noStartLag}
}

func requestFigures(r *Result, name string) Figures {
	q, ok := r.Requests[name]
	if !ok {
		return missingFigures()
	}
	return Figures{Rate: ratio.PerSecond(q.Count, r.Elapsed), P50: q.Latency.P50, P99: q.Latency.P99, FailureRate: ratio.Fraction(failedRequests(q), q.Count),
		StartLagP99: noStartLag}
}

// failedRequests counts the requests of q without a complete response or
// with an error status (400-599). A response whose status is an error
// and whose body then broke off is in both counts; the sum is capped at
// the requests made.
func failedRequests(q *RequestStats) int64 {
	n := q.Errors
	for code, k := range q.Status {
		if code >= 400 && code <= 599 {
			n += k
		}
	}
	return min(n, q.Count)
}

// optionChanges lists the options in which old and new differ (see
// Comparison.OptionChanges), and their shares of the run.
func optionChanges(old, new *Result) []string {
	var out []string
	if old.Segment != new.Segment {
		out = append(out, "segment "+segmentName(old.Segment)+" → "+segmentName(new.Segment))
	}
	if old.opts == nil || new.opts == nil {
		return out
	}
	for _, d := range optionDiffs(old.opts, new.opts, "thresholds", "seed", "start_at") {
		out = append(out, strings.TrimSuffix(d.name, "_ns")+" "+d.a+" → "+d.b)
	}
	return out
}

func segmentName(s string) string {
	if s == "" {
		return "whole run"
	}
	return s
}

func missingFigures() Figures {
	return Figures{Rate: math.NaN(), P50: -1, P99: -1, FailureRate: math.NaN(), StartLagP99: noStartLag}
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]V{}
	for k, v := range a {
		seen[k] = v
	}
	for k, v := range b {
		seen[k] = v
	}
	return sortedKeys(seen)
}

func (c *Comparison) add(kind, name string, o, n Figures) {
	row := ComparisonRow{Kind: kind, Name: name, Old: o, New: n}
	present := !math.IsNaN(o.Rate) && !math.IsNaN(n.Rate)
	if present {
		t := c.Tolerance
		if o.Rate > 0 && n.Rate < o.Rate*(1-t) {
			row.Regressions = append(row.Regressions, "rate")
		}
		if o.P50 > 0 && float64(n.P50) > float64(o.P50)*(1+t) {
			row.Regressions = append(row.Regressions, "p50")
		}
		if o.P99 > 0 && float64(n.P99) > float64(o.P99)*(1+t) {
			row.Regressions = append(row.Regressions, "p99")
		}
		if n.FailureRate > o.FailureRate*(1+t) && n.FailureRate-o.FailureRate > failureNoise {
			row.Regressions = append(row.Regressions, "failure_rate")
		}
		if row.comparesStartLag() && float64(n.StartLagP99) > float64(o.StartLagP99)*(1+t) && n.StartLagP99-o.StartLagP99 > startLagNoise {
			row.Regressions = append(row.Regressions, "start_lag_p99")
		}
	}
	c.Rows = append(c.Rows, row)
}

// StartLag reports whether c compares the runs' start lag: whether both
// ran the open model. WriteText then prints a column for it.
func (c *Comparison) StartLag() bool {
	for i := range c.Rows {
		if c.Rows[i].comparesStartLag() {
			return true
		}
	}
	return false
}

// comparesStartLag reports whether r compares the start lag of two
// open-model runs: only the run's row, when both measured it.
func (r *ComparisonRow) comparesStartLag() bool {
	return r.Old.StartLagP99 >= 0 && r.New.StartLagP99 >= 0
}

// Regressed reports whether any figure regressed beyond the tolerance.
func (c *Comparison) Regressed() bool {
	for _, r := range c.Rows {
		if len(r.Regressions) > 0 {
			return true
		}
	}
	return false
}

// WriteText prints the comparison as a table, one row per scenario and
// request, each figure as "old → new (change)", with "!" after a
// regression, and a last line that says whether the new run regressed.
// Above the table, a warning names the options in which the runs
// differed, and a line says what the failures column counts. When both
// runs ran the open model, a last column has the start lag p99, in the
// run's row.
func (c *Comparison) WriteText(w io.Writer) error {
	if len(c.OptionChanges) > 0 {
		fmt.Fprintf(w, "warning: the runs had different options, so their figures may differ for that alone: %s\n", strings.Join(c.OptionChanges, ", "))
	}
	fmt.Fprintln(w, "failures: of the run and scenarios, failed runs; of requests, those with no complete response or a status of 400 or more")
	lag := c.StartLag()
	if lag {
		fmt.Fprintln(w, "start lag: open model, how late the run's starts began against their intended times")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "\trate/s\tp50\tp99\tfailures"
	if lag {
		header += "\tstart lag p99"
	}
	fmt.Fprintln(tw, header)
	for _, r := range c.Rows {
		name := r.Kind
		if r.Name != "" {
			name += " " + r.Name
		}
		bad := map[string]bool{}
		for _, x := range r.Regressions {
			bad[x] = true
		}
		if math.IsNaN(r.Old.Rate) || math.IsNaN(r.New.Rate) {
			which := "only in the new run"
			if math.IsNaN(r.New.Rate) {
				which = "only in the old run"
			}
			fmt.Fprintf(tw, "%s\t%s\t\t\t\n", clip(name), which)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", clip(name),
			change(fmtRate(r.Old.Rate), fmtRate(r.New.Rate), rel(r.Old.Rate, r.New.Rate), bad["rate"]),
			change(fmtDur(r.Old.P50), fmtDur(r.New.P50), rel(float64(r.Old.P50), float64(r.New.P50)), bad["p50"]),
			change(fmtDur(r.Old.P99), fmtDur(r.New.P99), rel(float64(r.Old.P99), float64(r.New.P99)), bad["p99"]),
			change(fmtPct(r.Old.FailureRate), fmtPct(r.New.FailureRate), "", bad["failure_rate"]))
		if r.comparesStartLag() {
			fmt.Fprintf(tw, "\t%s", change(fmtDur(r.Old.StartLagP99), fmtDur(r.New.StartLagP99), rel(float64(r.Old.StartLagP99), float64(r.New.StartLagP99)), bad["start_lag_p99"]))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tol := strconv.FormatFloat(c.Tolerance*100, 'f', -1, 64) + "%"
	var err error
	if c.Regressed() {
		_, err = fmt.Fprintf(w, "REGRESSION: figures marked ! got worse by more than %s\n", tol)
	} else {
		_, err = fmt.Fprintf(w, "no regression beyond %s\n", tol)
	}
	return err
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func change(old, new, delta string, bad bool) string {
	s := old + " → " + new
	if delta != "" {
		s += " (" + signed(delta) + ")"
	}
	if bad {
		s += " !"
	}
	return s
}

func rel(old, new float64) string {
	if old == 0 {
		return ""
	}
	return strconv.FormatFloat((new-old)/old*100, 'f', 1, 64) + "%"
}

func signed(s string) string {
	if s != "" && s[0] != '-' {
		return "+" + s
	}
	return s
}

func fmtRate(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func fmtPct(x float64) string { return strconv.FormatFloat(x*100, 'f', 2, 64) + "%" }

func fmtDur(d time.Duration) string { return console.FormatDuration(d) }
