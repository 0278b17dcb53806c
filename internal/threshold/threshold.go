// Package threshold parses and judges pass/fail rules over a run's
// figures: "p99 < 200ms", "scenario(checkout).failure_rate < 1%",
// "request(GET /items).rps >= 500". It knows the grammar, the metrics and
// their units; the figures come from the caller through Figures, so the
// package needs nothing of a run. The grammar's documentation for users is
// molotov.ThresholdResult's.
package threshold

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/molotov-go/molotov/internal/parse"
	"github.com/molotov-go/molotov/internal/ratio"
)

// Scope says which figures a threshold's metric reads.
type Scope int

// The scopes.
const (
	Run      Scope = iota // the whole run
	Scenario              // scenario(NAME).
	Request               // request(NAME).
)

// Kind says what unit a metric is measured in.
type Kind int

// The kinds of metric.
const (
	Latency   Kind = iota // seconds; written as a duration
	Rate                  // a fraction; written as 1% or 0.01
	Count                 // a whole number
	PerSecond             // per second; written as 500 or 500/s
)

// metrics lists the metrics of each scope with their kind.
var metrics = [...]map[string]Kind{
	Run: {
		"p50": Latency, "p90": Latency, "p95": Latency, "p99": Latency, "p999": Latency,
		"min": Latency, "mean": Latency, "max": Latency,
		"failure_rate": Rate, "ok": Count, "failed": Count, "started": Count,
		"rps": PerSecond, "runs_per_s": PerSecond,
		"dropped": Count, "scheduled": Count,
		"start_lag_p50": Latency, "start_lag_p99": Latency, "start_lag_max": Latency, "peak_busy": Count,
		"cpu_busy": Rate, "connections": Count,
	},
	Scenario: {
		"p50": Latency, "p90": Latency, "p95": Latency, "p99": Latency, "p999": Latency,
		"min": Latency, "mean": Latency, "max": Latency,
		"failure_rate": Rate, "ok": Count, "failed": Count, "runs_per_s": PerSecond,
	},
	Request: {
		"p50": Latency, "p90": Latency, "p95": Latency, "p99": Latency, "p999": Latency,
		"min": Latency, "mean": Latency, "max": Latency,
		"error_rate": Rate, "count": Count, "errors": Count, "rps": PerSecond,
	},
}

// Threshold is a parsed threshold.
type Threshold struct {
	Expr   string // as written
	Scope  Scope
	Name   string // the scenario or request name
	Metric string
	Op     string        // < <= > >= == !=
	Value  float64       // in the metric's unit: seconds, a fraction, a count, per second
	Dur    time.Duration // the value of a latency, exactly as written
	// NamePos is where the name starts in Expr, for errors found after
	// parsing (an unknown scenario).
	NamePos int
}

// Error reports a threshold that does not parse: Pos is the byte offset
// in Expr of the offending character.
type Error struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("threshold %q: %s (at byte %d)", e.Expr, e.Msg, e.Pos)
}

// Parse parses one threshold expression; a bad one is an *Error.
func Parse(expr string) (*Threshold, error) {
	p := &parser{s: expr}
	return p.parse()
}

// Kind returns the kind of the threshold's metric.
func (t *Threshold) Kind() Kind { return metrics[t.Scope][t.Metric] }

// OpenModel reports whether the threshold's metric is the open model's
// alone: the start lag and the busy workers, which a closed-loop run does
// not measure.
func (t *Threshold) OpenModel() bool {
	return t.Scope == Run && (strings.HasPrefix(t.Metric, "start_lag_") || t.Metric == "peak_busy")
}

// OnFailures reports whether the threshold judges the scenario runs'
// failures: failure_rate or failed, of the run or of a scenario. A
// request's error_rate and errors count its requests without a response
// only, not the statuses that failed runs (a 401 that ExpectStatus
// refused), so they leave the failures to the run's own verdict.
func (t *Threshold) OnFailures() bool {
	return t.Scope != Request && (t.Metric == "failure_rate" || t.Metric == "failed")
}

// CheckableLive reports whether the threshold can be judged while the run
// goes on: a count compared with >, >=, == or != may still be met by a
// longer run, so it waits for the end.
func (t *Threshold) CheckableLive() bool {
	if t.Kind() != Count {
		return true
	}
	return t.Op == "<" || t.Op == "<="
}

type parser struct {
	s   string
	pos int
}

func (p *parser) fail(pos int, format string, args ...any) error {
	return &Error{Expr: p.s, Pos: min(max(pos, 0), len(p.s)), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) parse() (*Threshold, error) {
	t := &Threshold{Expr: p.s}
	p.skipSpace()
	if p.pos == len(p.s) {
		return nil, p.fail(p.pos, "empty threshold; write one like p99 < 200ms or failure_rate < 1%%")
	}
	// scenario(NAME). or request(NAME).
	for _, sc := range []struct {
		word  string
		scope Scope
	}{{"scenario(", Scenario}, {"request(", Request}} {
		if !strings.HasPrefix(p.s[p.pos:], sc.word) {
			continue
		}
		start := p.pos + len(sc.word)
		end := strings.Index(p.s[start:], ").")
		if end < 0 {
			return nil, p.fail(len(p.s), "%s has no closing \").\"; write %sNAME).p99 < 200ms", strings.TrimSuffix(sc.word, "("), sc.word)
		}
		raw := p.s[start : start+end]
		t.Name = strings.TrimSpace(raw)
		t.Scope, t.NamePos = sc.scope, start+len(raw)-len(strings.TrimLeft(raw, " \t\n\r\v\f"))
		if t.Name == "" {
			return nil, p.fail(start, "empty %s name", strings.TrimSuffix(sc.word, "("))
		}
		p.pos = start + end + 2
		break
	}
	// The metric name.
	mstart := p.pos
	for p.pos < len(p.s) && (p.s[p.pos] == '_' || isASCIILetterOrDigit(p.s[p.pos])) {
		p.pos++
	}
	t.Metric = p.s[mstart:p.pos]
	ms := metrics[t.Scope]
	kind, ok := ms[t.Metric]
	if !ok {
		if t.Metric == "" {
			return nil, p.fail(mstart, "expected a metric name, one of %s", metricNames(ms))
		}
		return nil, p.fail(mstart, "unknown metric %q%s; use one of %s", t.Metric, scopeWord(t.Scope), metricNames(ms))
	}
	// The operator.
	p.skipSpace()
	ostart := p.pos
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(p.s[p.pos:], op) {
			t.Op = op
			p.pos += len(op)
			break
		}
	}
	if t.Op == "" {
		return nil, p.fail(ostart, "expected an operator (< <= > >= == !=) after %q", t.Metric)
	}
	// The value.
	p.skipSpace()
	vstart := p.pos
	raw := strings.TrimRight(p.s[p.pos:], " \t")
	if raw == "" {
		return nil, p.fail(vstart, "expected a value after %q", t.Op)
	}
	v, d, err := parseValue(raw, kind)
	if err != nil {
		return nil, p.fail(vstart, "%v", err)
	}
	t.Value, t.Dur = v, d
	return t, nil
}

func isASCIILetterOrDigit(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func scopeWord(s Scope) string {
	switch s {
	case Scenario:
		return " for a scenario"
	case Request:
		return " for a request"
	}
	return ""
}

// metricNames lists a scope's metrics, sorted, for error messages.
func metricNames(m map[string]Kind) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// parseValue reads a value in the unit of kind; a latency is
// also returned as the duration written.
func parseValue(raw string, kind Kind) (float64, time.Duration, error) {
	switch kind {
	case Latency:
		d, err := time.ParseDuration(strings.ReplaceAll(raw, " ", ""))
		if err != nil {
			if _, ferr := parse.Finite(raw); ferr == nil {
				return 0, 0, fmt.Errorf("latency %q needs a unit, for example %sms", raw, raw)
			}
			return 0, 0, fmt.Errorf("%q is not a duration; write it like 200ms, 1.5s or 250us", raw)
		}
		if d < 0 {
			return 0, 0, fmt.Errorf("latency %q is negative", raw)
		}
		return d.Seconds(), d, nil
	case Rate:
		s := strings.TrimSpace(raw)
		pct := strings.HasSuffix(s, "%")
		s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
		x, err := parse.Finite(s)
		if err != nil {
			return 0, 0, fmt.Errorf("%q is not a rate; write it like 1%% or 0.01", raw)
		}
		if !pct && x >= 1 {
			// 1 could mean 1% as well as 100%: ask for the percent sign.
			return 0, 0, fmt.Errorf("rate %q without %% is ambiguous; write a percentage like %s%% or a fraction below 1 like 0.01", raw, s)
		}
		if pct {
			x /= 100
		}
		if x < 0 || x > 1 {
			return 0, 0, fmt.Errorf("rate %q is outside 0%%..100%%", raw)
		}
		return x, 0, nil
	case PerSecond:
		x, err := parse.Rate(raw, math.MaxFloat64)
		if err != nil {
			return 0, 0, fmt.Errorf("%q is not a rate per second; write it like 500 or 500/s", raw)
		}
		return x, 0, nil
	default: // Count
		x, err := parse.Finite(strings.TrimSpace(raw))
		if err != nil || x < 0 || x != math.Trunc(x) {
			return 0, 0, fmt.Errorf("%q is not a whole number >= 0", raw)
		}
		return x, 0, nil
	}
}

// String prints the threshold in its canonical form, which parses back to
// the same threshold: "scenario(list).p99 < 200ms".
func (t *Threshold) String() string {
	var b strings.Builder
	switch t.Scope {
	case Scenario:
		b.WriteString("scenario(" + t.Name + ").")
	case Request:
		b.WriteString("request(" + t.Name + ").")
	}
	b.WriteString(t.Metric + " " + t.Op + " ")
	switch t.Kind() {
	case Latency:
		b.WriteString(t.Dur.String())
	case Rate: // a fraction prints exactly; a percentage may not (0.07*100)
		b.WriteString(strconv.FormatFloat(t.Value, 'g', -1, 64))
	case PerSecond:
		b.WriteString(strconv.FormatFloat(t.Value, 'g', -1, 64) + "/s")
	default:
		b.WriteString(strconv.FormatFloat(t.Value, 'f', -1, 64))
	}
	return b.String()
}

// Holds reports whether measured satisfies the threshold; nothing
// measured (NaN) never does.
func (t *Threshold) Holds(measured float64) bool {
	if math.IsNaN(measured) {
		return false
	}
	switch t.Op {
	case "<":
		return measured < t.Value
	case "<=":
		return measured <= t.Value
	case ">":
		return measured > t.Value
	case ">=":
		return measured >= t.Value
	case "==":
		return measured == t.Value
	default: // "!="
		return measured != t.Value
	}
}

// Format prints a value measured for the threshold in its unit, for
// messages: "312ms", "2.42%", "480.2/s", "12", or "nothing was measured".
func (t *Threshold) Format(v float64) string {
	return FormatKind(t.Kind(), v)
}

// FormatKind prints v in the unit of kind, as Format does.
func FormatKind(kind Kind, v float64) string {
	if math.IsNaN(v) {
		return "nothing was measured"
	}
	switch kind {
	case Latency:
		return time.Duration(v * 1e9).Round(10 * time.Microsecond).String()
	case Rate:
		return strconv.FormatFloat(v*100, 'g', 3, 64) + "%"
	case PerSecond:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// Figures are what thresholds measure: a run's figures, given by the
// caller.
type Figures interface {
	// Elapsed is the run's length, for the per-second metrics.
	Elapsed() time.Duration
	// Run, Scenario and Request give the figures of the whole run, of a
	// scenario and of a request name; ok is false for a name the run
	// never saw.
	Run() Group
	Scenario(name string) (g Group, ok bool)
	Request(name string) (g Group, ok bool)
}

// Group is the figures of a run, a scenario or a request name.
type Group struct {
	OK, Failed, Interrupted int64     // scenario runs (a run or a scenario)
	Started                 int64     // scenario runs started (a run)
	Dropped, Scheduled      int64     // the open model's starts (a run)
	PeakBusy                int64     // the open model's most workers busy at once (a run)
	Connections             int64     // the connections the sessions opened (a run)
	CPUBusy                 float64   // the share of its CPUs the process kept busy, 0 to 1; 0: unknown (a run)
	StartLag                Quantiles // how late the open model's starts began (a run)
	Count, Errors           int64     // requests: of a name, or of the whole run (Count only)
	Latency                 Quantiles
}

// Quantiles summarise a latency histogram.
type Quantiles struct {
	Min, Mean, P50, P90, P95, P99, P999, Max time.Duration
}

// Measure reads the threshold's metric from f, in the metric's unit; NaN
// when there is no such figure (a request name never requested, the
// latency of a scenario that never ran). Runs that the run itself
// cancelled (Interrupted) are not counted as failed.
func (t *Threshold) Measure(f Figures) float64 {
	perSecond := func(n int64) float64 {
		if f.Elapsed() <= 0 {
			return math.NaN() // no time: nothing measured
		}
		return ratio.PerSecond(n, f.Elapsed())
	}
	var g Group
	var count int64 // the number of values behind g.Latency
	switch t.Scope {
	case Run:
		g = f.Run()
		switch t.Metric {
		case "failure_rate":
			return ratio.FailureRate(g.OK, g.Failed, g.Interrupted)
		case "ok":
			return float64(g.OK)
		case "failed":
			return float64(ratio.Failures(g.Failed, g.Interrupted))
		case "started":
			return float64(g.Started)
		case "rps":
			return perSecond(g.Count)
		case "runs_per_s":
			return perSecond(g.OK + g.Failed)
		case "dropped":
			return float64(g.Dropped)
		case "scheduled":
			return float64(g.Scheduled)
		case "peak_busy":
			return float64(g.PeakBusy)
		case "connections":
			return float64(g.Connections)
		case "cpu_busy":
			if g.CPUBusy <= 0 {
				return math.NaN() // not known (yet): nothing measured
			}
			return g.CPUBusy
		case "start_lag_p50", "start_lag_p99", "start_lag_max":
			if g.Started == 0 {
				return math.NaN() // no start began: nothing measured
			}
			d := g.StartLag.Max
			switch t.Metric {
			case "start_lag_p50":
				d = g.StartLag.P50
			case "start_lag_p99":
				d = g.StartLag.P99
			}
			return d.Seconds()
		}
		count = g.OK + g.Failed
	case Scenario:
		var ok bool
		if g, ok = f.Scenario(t.Name); !ok {
			return math.NaN()
		}
		switch t.Metric {
		case "failure_rate":
			return ratio.FailureRate(g.OK, g.Failed, g.Interrupted)
		case "ok":
			return float64(g.OK)
		case "failed":
			return float64(ratio.Failures(g.Failed, g.Interrupted))
		case "runs_per_s":
			return perSecond(g.OK + g.Failed)
		}
		count = g.OK + g.Failed
	case Request:
		var ok bool
		if g, ok = f.Request(t.Name); !ok {
			return math.NaN()
		}
		switch t.Metric {
		case "error_rate":
			return ratio.Fraction(g.Errors, g.Count)
		case "count":
			return float64(g.Count)
		case "errors":
			return float64(g.Errors)
		case "rps":
			return perSecond(g.Count)
		}
		count = g.Count
	}
	if count == 0 {
		return math.NaN()
	}
	lat := g.Latency
	var d time.Duration
	switch t.Metric {
	case "p50":
		d = lat.P50
	case "p90":
		d = lat.P90
	case "p95":
		d = lat.P95
	case "p99":
		d = lat.P99
	case "p999":
		d = lat.P999
	case "min":
		d = lat.Min
	case "mean":
		d = lat.Mean
	default: // "max"
		d = lat.Max
	}
	return d.Seconds()
}
