package molotov

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
//	scenario(N).   p50 … max, failure_rate, ok, failed, runs_per_s
//	request(N).    p50 … max, error_rate, count, errors, rps
//
// Latencies take a duration with its unit (200ms, 1.5s, 250us); rates a
// percentage (1%) or a fraction (0.01); counts and per-second figures a
// plain number (500, or 500/s). The operators are < <= > >= == !=.
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

// thresholdScope says which figures a threshold's metric reads.
type thresholdScope int

const (
	scopeRun thresholdScope = iota
	scopeScenario
	scopeRequest
)

// metricKind says what unit a metric is measured in.
type metricKind int

const (
	kindLatency   metricKind = iota // seconds; written as a duration
	kindRate                        // a fraction; written as 1% or 0.01
	kindCount                       // a whole number
	kindPerSecond                   // per second; written as 500 or 500/s
)

// thresholdMetrics lists the metrics of each scope with their kind.
var thresholdMetrics = [...]map[string]metricKind{
	scopeRun: {
		"p50": kindLatency, "p90": kindLatency, "p95": kindLatency, "p99": kindLatency, "p999": kindLatency,
		"min": kindLatency, "mean": kindLatency, "max": kindLatency,
		"failure_rate": kindRate, "ok": kindCount, "failed": kindCount, "started": kindCount,
		"rps": kindPerSecond, "runs_per_s": kindPerSecond,
		"dropped": kindCount, "scheduled": kindCount,
	},
	scopeScenario: {
		"p50": kindLatency, "p90": kindLatency, "p95": kindLatency, "p99": kindLatency, "p999": kindLatency,
		"min": kindLatency, "mean": kindLatency, "max": kindLatency,
		"failure_rate": kindRate, "ok": kindCount, "failed": kindCount, "runs_per_s": kindPerSecond,
	},
	scopeRequest: {
		"p50": kindLatency, "p90": kindLatency, "p95": kindLatency, "p99": kindLatency, "p999": kindLatency,
		"min": kindLatency, "mean": kindLatency, "max": kindLatency,
		"error_rate": kindRate, "count": kindCount, "errors": kindCount, "rps": kindPerSecond,
	},
}

// threshold is a parsed threshold.
type threshold struct {
	expr   string
	scope  thresholdScope
	name   string // the scenario or request name
	metric string
	op     string
	value  float64       // in the metric's unit: seconds, a fraction, a count, per second
	dur    time.Duration // the value of a latency, exactly as written
	// namePos is where the scenario name starts in expr, for errors found
	// after parsing (an unknown scenario).
	namePos int
}

// parseThreshold parses one threshold expression.
func parseThreshold(expr string) (*threshold, error) {
	p := &thresholdParser{s: expr}
	return p.parse()
}

type thresholdParser struct {
	s   string
	pos int
}

func (p *thresholdParser) fail(pos int, format string, args ...any) error {
	return &ThresholdError{Expr: p.s, Pos: min(max(pos, 0), len(p.s)), Msg: fmt.Sprintf(format, args...)}
}

func (p *thresholdParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *thresholdParser) parse() (*threshold, error) {
	t := &threshold{expr: p.s}
	p.skipSpace()
	if p.pos == len(p.s) {
		return nil, p.fail(p.pos, "empty threshold; write one like p99 < 200ms or failure_rate < 1%%")
	}
	// scenario(NAME). or request(NAME).
	for _, sc := range []struct {
		word  string
		scope thresholdScope
	}{{"scenario(", scopeScenario}, {"request(", scopeRequest}} {
		if !strings.HasPrefix(p.s[p.pos:], sc.word) {
			continue
		}
		start := p.pos + len(sc.word)
		end := strings.Index(p.s[start:], ").")
		if end < 0 {
			return nil, p.fail(len(p.s), "%s has no closing \").\"; write %sNAME).p99 < 200ms", strings.TrimSuffix(sc.word, "("), sc.word)
		}
		raw := p.s[start : start+end]
		t.name = strings.TrimSpace(raw)
		t.scope, t.namePos = sc.scope, start+len(raw)-len(strings.TrimLeft(raw, " \t\n\r\v\f"))
		if t.name == "" {
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
	t.metric = p.s[mstart:p.pos]
	metrics := thresholdMetrics[t.scope]
	kind, ok := metrics[t.metric]
	if !ok {
		if t.metric == "" {
			return nil, p.fail(mstart, "expected a metric name, one of %s", metricNames(metrics))
		}
		return nil, p.fail(mstart, "unknown metric %q%s; use one of %s", t.metric, scopeWord(t.scope), metricNames(metrics))
	}
	// The operator.
	p.skipSpace()
	ostart := p.pos
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(p.s[p.pos:], op) {
			t.op = op
			p.pos += len(op)
			break
		}
	}
	if t.op == "" {
		return nil, p.fail(ostart, "expected an operator (< <= > >= == !=) after %q", t.metric)
	}
	// The value.
	p.skipSpace()
	vstart := p.pos
	raw := strings.TrimRight(p.s[p.pos:], " \t")
	if raw == "" {
		return nil, p.fail(vstart, "expected a value after %q", t.op)
	}
	v, d, err := parseThresholdValue(raw, kind)
	if err != nil {
		return nil, p.fail(vstart, "%v", err)
	}
	t.value, t.dur = v, d
	return t, nil
}

func isASCIILetterOrDigit(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func scopeWord(s thresholdScope) string {
	switch s {
	case scopeScenario:
		return " for a scenario"
	case scopeRequest:
		return " for a request"
	}
	return ""
}

// metricNames lists a scope's metrics, sorted, for error messages.
func metricNames(m map[string]metricKind) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// parseThresholdValue reads a value in the unit of kind; a latency is
// also returned as the duration written.
func parseThresholdValue(raw string, kind metricKind) (float64, time.Duration, error) {
	switch kind {
	case kindLatency:
		d, err := time.ParseDuration(strings.ReplaceAll(raw, " ", ""))
		if err != nil {
			if _, ferr := parseFinite(raw); ferr == nil {
				return 0, 0, fmt.Errorf("latency %q needs a unit, for example %sms", raw, raw)
			}
			return 0, 0, fmt.Errorf("%q is not a duration; write it like 200ms, 1.5s or 250us", raw)
		}
		if d < 0 {
			return 0, 0, fmt.Errorf("latency %q is negative", raw)
		}
		return d.Seconds(), d, nil
	case kindRate:
		s := strings.TrimSpace(raw)
		pct := strings.HasSuffix(s, "%")
		s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
		x, err := parseFinite(s)
		if err != nil {
			return 0, 0, fmt.Errorf("%q is not a rate; write it like 1%% or 0.01", raw)
		}
		if pct {
			x /= 100
		}
		if x < 0 || x > 1 {
			return 0, 0, fmt.Errorf("rate %q is outside 0%%..100%%", raw)
		}
		return x, 0, nil
	case kindPerSecond:
		s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(raw), "/s"))
		x, err := parseFinite(s)
		if err != nil || x < 0 {
			return 0, 0, fmt.Errorf("%q is not a rate per second; write it like 500 or 500/s", raw)
		}
		return x, 0, nil
	default: // kindCount
		x, err := parseFinite(strings.TrimSpace(raw))
		if err != nil || x < 0 || x != math.Trunc(x) {
			return 0, 0, fmt.Errorf("%q is not a whole number >= 0", raw)
		}
		return x, 0, nil
	}
}

// parseFinite parses a plain decimal number: no NaN, no infinities, no hex.
func parseFinite(s string) (float64, error) {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '.' && r != '-' && r != '+' && r != 'e' && r != 'E' {
			return 0, fmt.Errorf("not a number")
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, fmt.Errorf("not a number")
	}
	return x, nil
}

// String prints the threshold in its canonical form, which parses back to
// the same threshold: "scenario(list).p99 < 200ms".
func (t *threshold) String() string {
	var b strings.Builder
	switch t.scope {
	case scopeScenario:
		b.WriteString("scenario(" + t.name + ").")
	case scopeRequest:
		b.WriteString("request(" + t.name + ").")
	}
	b.WriteString(t.metric + " " + t.op + " ")
	switch thresholdMetrics[t.scope][t.metric] {
	case kindLatency:
		b.WriteString(t.dur.String())
	case kindRate: // a fraction prints exactly; a percentage may not (0.07*100)
		b.WriteString(strconv.FormatFloat(t.value, 'g', -1, 64))
	case kindPerSecond:
		b.WriteString(strconv.FormatFloat(t.value, 'g', -1, 64) + "/s")
	default:
		b.WriteString(strconv.FormatFloat(t.value, 'f', -1, 64))
	}
	return b.String()
}

// holds reports whether measured satisfies the threshold.
func (t *threshold) holds(measured float64) bool {
	if math.IsNaN(measured) {
		return false
	}
	switch t.op {
	case "<":
		return measured < t.value
	case "<=":
		return measured <= t.value
	case ">":
		return measured > t.value
	case ">=":
		return measured >= t.value
	case "==":
		return measured == t.value
	default: // "!="
		return measured != t.value
	}
}

// parseThresholds parses every threshold of a run and checks the scenario
// names against the registry.
func parseThresholds(exprs []string, snap *registrySnapshot) ([]*threshold, error) {
	out := make([]*threshold, 0, len(exprs))
	for _, e := range exprs {
		t, err := parseThreshold(e)
		if err != nil {
			return nil, err
		}
		if t.scope == scopeScenario {
			if _, ok := snap.byName[t.name]; !ok {
				return nil, &ThresholdError{Expr: e, Pos: t.namePos,
					Msg: fmt.Sprintf("unknown scenario %q; registered: %s", t.name, strings.Join(scenarioNames(snap), ", "))}
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// measure reads the threshold's metric from a finished run's Result, in
// the metric's unit; NaN when the run has no such figure (a request name
// that was never requested, a latency of a scenario that never ran).
func (t *threshold) measure(res *Result) float64 {
	secs := res.Elapsed.Seconds()
	perSecond := func(n int64) float64 {
		if secs <= 0 {
			return math.NaN()
		}
		return float64(n) / secs
	}
	ratio := func(part, whole int64) float64 {
		if whole <= 0 {
			return 0
		}
		return float64(part) / float64(whole)
	}
	var lat Latency
	var count int64 // the number of values behind lat
	switch t.scope {
	case scopeRun:
		failed := res.Failed - res.Interrupted // runs the run itself cancelled are not the target's failures
		switch t.metric {
		case "failure_rate":
			return ratio(failed, res.OK+failed)
		case "ok":
			return float64(res.OK)
		case "failed":
			return float64(failed)
		case "started":
			return float64(res.Started)
		case "rps":
			return perSecond(res.requestCount())
		case "runs_per_s":
			return perSecond(res.OK + res.Failed)
		case "dropped":
			return float64(res.Dropped)
		case "scheduled":
			return float64(res.Scheduled)
		}
		lat, count = res.latency, res.OK+res.Failed
	case scopeScenario:
		sc, ok := res.Scenarios[t.name]
		if !ok {
			return math.NaN()
		}
		failed := sc.Failed - sc.Interrupted
		switch t.metric {
		case "failure_rate":
			return ratio(failed, sc.OK+failed)
		case "ok":
			return float64(sc.OK)
		case "failed":
			return float64(failed)
		case "runs_per_s":
			return perSecond(sc.OK + sc.Failed)
		}
		lat, count = sc.Latency, sc.OK+sc.Failed
	case scopeRequest:
		r, ok := res.Requests[t.name]
		if !ok {
			return math.NaN()
		}
		switch t.metric {
		case "error_rate":
			return ratio(r.Errors, r.Count)
		case "count":
			return float64(r.Count)
		case "errors":
			return float64(r.Errors)
		case "rps":
			return perSecond(r.Count)
		}
		lat, count = r.Latency, r.Count
	}
	if count == 0 {
		return math.NaN()
	}
	var d time.Duration
	switch t.metric {
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

// checkThresholds evaluates every threshold against a finished run.
func checkThresholds(ts []*threshold, res *Result) []ThresholdResult {
	if len(ts) == 0 {
		return nil
	}
	out := make([]ThresholdResult, len(ts))
	for i, t := range ts {
		v := t.measure(res)
		out[i] = ThresholdResult{Expr: t.expr, Value: v, Pass: t.holds(v)}
	}
	return out
}

// String prints the threshold with what was measured:
// "p99 < 200ms (measured 312.4ms)".
func (tr ThresholdResult) String() string { return describeThreshold(tr) }

// measured prints the value measured for tr in its threshold's unit
// ("312ms", "2.5%"); a plain number when tr's expression does not parse
// (a result read from elsewhere).
func (tr ThresholdResult) measured() string {
	t, err := parseThreshold(tr.Expr)
	if err != nil {
		return strconv.FormatFloat(tr.Value, 'g', -1, 64)
	}
	return t.formatMeasured(tr.Value)
}

// formatMeasured prints a threshold's measured value in its unit, for
// messages: "312ms", "2.5%", "480.2/s", "12", or "nothing measured".
func (t *threshold) formatMeasured(v float64) string {
	if math.IsNaN(v) {
		return "nothing measured"
	}
	switch thresholdMetrics[t.scope][t.metric] {
	case kindLatency:
		return time.Duration(v * 1e9).Round(10 * time.Microsecond).String()
	case kindRate:
		return strconv.FormatFloat(v*100, 'f', -1, 64) + "%"
	case kindPerSecond:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}
