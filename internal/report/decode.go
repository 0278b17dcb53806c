package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/ratio"
	"github.com/molotov-go/molotov/internal/resultjson"
)

// The JSON result is read with internal/resultjson, the codec the
// result is written with; the page shows what it knows of it.
type (
	result   = resultjson.File
	scenario = resultjson.Scenario
	request  = resultjson.Request
	latency  = resultjson.Latency
	point    = resultjson.Point
)

// options are a result's options, as far as the charts need them (the
// target rate and the stages).
type options resultjson.Options

// ErrFormat reports data that is not a JSON result this package can show.
var ErrFormat = errors.New("not a molotov-go JSON result")

// Most rows a table lists; the rest are counted.
const maxErrors = 20

// Decode reads a JSON result, as Result.WriteJSON writes it, into the
// view of one run. label names the run on the page.
func Decode(data []byte, label string) (*Run, error) {
	f, err := resultjson.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	r := *f
	var opts options
	if r.Options != nil {
		opts = options(*r.Options)
	}
	optionFacts, err := optionList(r.Options)
	if err != nil {
		return nil, fmt.Errorf("%w: options: %v", ErrFormat, err)
	}
	run := &Run{
		Label:   label,
		Verdict: verdictOf(&r),
		Open:    r.Scheduled > 0 || opts.Rate > 0,
		Options: optionFacts,
	}
	run.Facts = factsOf(&r, run.Open)
	if run.Open {
		h, err := snapshotOf(r.StartLag)
		if err != nil {
			return nil, fmt.Errorf("%w: start lag: %v", ErrFormat, err)
		}
		run.StartLag = curveOf(h)
	}
	run.Timeline = timelineOf(&r, &opts, run.Open)
	run.Stages = stageEnds(&opts, r.Elapsed)
	run.Segments = segmentsOf(&r, run.Open)
	if r.Partial {
		run.MissingSegments = missingSegments(r.Segment)
	}
	if err := run.addScenarios(&r); err != nil {
		return nil, err
	}
	if err := run.addRequests(&r); err != nil {
		return nil, err
	}
	for _, e := range r.Errors {
		run.Errors = append(run.Errors, ErrorRow{Count: e.Count, Error: e.Error})
	}
	if len(run.Errors) > maxErrors {
		run.Errors, run.MoreErrors = run.Errors[:maxErrors], len(run.Errors)-maxErrors
	}
	for i := range run.Errors {
		run.Errors[i].Error = cut(run.Errors[i].Error, 300)
	}
	for _, t := range r.Thresholds {
		run.Thresholds = append(run.Thresholds, Threshold{Expr: t.Expr, Measured: measured(t.Expr, t.Value), Pass: t.Pass})
	}
	return run, nil
}

// requestTotals returns the requests of every name, and those without a
// response.
func requestTotals(r *result) (requests, errs int64) {
	for _, q := range r.Requests {
		requests, errs = requests+q.Count, errs+q.Errors
	}
	return requests, errs
}

func factsOf(r *result, open bool) []Fact {
	ended := r.OK + r.Failed
	facts := []Fact{
		{"Scenario runs", fmt.Sprintf("%s: %s ok, %s failed", count(ended), count(r.OK), count(r.Failed))},
		{"Rate", rate(ended, r.Elapsed) + " runs/s"},
	}
	if r.Latency != nil && ended > 0 {
		facts = append(facts, Fact{"Latency", fmt.Sprintf("p50 %s · p90 %s · p99 %s · max %s",
			dur(r.Latency.P50), dur(r.Latency.P90), dur(r.Latency.P99), dur(r.Latency.Max))})
	}
	reqs, reqErrs := requestTotals(r)
	facts = append(facts, Fact{"Requests", fmt.Sprintf("%s, %s without a response", count(reqs), count(reqErrs))})
	if r.Connections > 0 {
		facts = append(facts, Fact{"Connections", count(r.Connections) + " opened"})
	}
	if open {
		facts = append(facts, Fact{"Starts", fmt.Sprintf("%s scheduled, %s dropped (%s)", count(r.Scheduled), count(r.Dropped), pct(r.Dropped, r.Scheduled))})
		if l := r.StartLag; l != nil && r.Started > 0 {
			facts = append(facts, Fact{"Start lag", fmt.Sprintf("p50 %s · p99 %s · max %s", dur(l.P50), dur(l.P99), dur(l.Max))})
		}
	}
	facts = append(facts,
		Fact{"Workers", workers(r)},
		Fact{"Elapsed", dur(r.Elapsed)},
	)
	if busy := ratio.Busy(r.CPU, r.Elapsed, r.Procs); busy > 0 {
		procs := fmt.Sprintf("GOMAXPROCS=%d", r.Procs)
		if len(r.Shares) > 1 { // a merge: the shares' processes, summed
			procs = fmt.Sprintf("GOMAXPROCS %d in all, %d shares", r.Procs, len(r.Shares))
		}
		facts = append(facts, Fact{"Process CPU", fmt.Sprintf("%s on %s, %d%% busy", dur(r.CPU), procs, ratio.WholePercent(busy))})
	}
	if !r.Start.IsZero() {
		facts = append(facts, Fact{"Started at", r.Start.UTC().Format("2006-01-02 15:04:05 MST")})
	}
	if r.SetupFailed > 0 {
		facts = append(facts, Fact{"Setup failed", fmt.Sprintf("%d workers", r.SetupFailed)})
	}
	if r.SizingRatio > 0 {
		s := strconv.FormatFloat(r.SizingRatio, 'f', 2, 64) + "% failures"
		if r.SizingRate > 0 {
			s += " at " + strconv.FormatFloat(r.SizingRate, 'f', 1, 64) + " starts/s"
		}
		facts = append(facts, Fact{"Sizing stopped at", s})
	}
	return facts
}

// minCover is the shortest last second that gives a rate: a run that
// ended 10 ms into its last second says nothing of its rate there.
const minCover = 0.25

// workers says how many workers the run had, and in the open model how
// many of its pool were busy at once.
func workers(r *result) string {
	if r.PeakBusy > 0 {
		return fmt.Sprintf("%d, at most %d busy at once", r.MaxWorkers, r.PeakBusy)
	}
	return fmt.Sprintf("%d at most", r.MaxWorkers)
}

func timelineOf(r *result, opts *options, open bool) Timeline {
	var tl Timeline
	if r.Started == 0 && r.Scheduled == 0 {
		return tl // nothing ran: nothing to plot
	}
	var anyP90, anyStarted, anyBusy bool
	end := r.Elapsed.Seconds()
	for _, p := range r.Timeline {
		t := float64(p.Second)
		if end > t-1 && end < t { // the last second, partial
			t = end
		}
		perSec := func(n int64) *float64 {
			cover := t - float64(p.Second-1)
			if cover < minCover {
				return nil
			}
			v := sig(float64(n) / cover)
			return &v
		}
		tl.T = append(tl.T, sig(t))
		tl.OK = append(tl.OK, perSec(p.OK))
		tl.Failed = append(tl.Failed, perSec(p.Failed))
		tl.Workers = append(tl.Workers, p.Workers)
		tl.Busy = append(tl.Busy, p.Busy)
		tl.Started = append(tl.Started, perSec(p.Started))
		tl.Dropped = append(tl.Dropped, perSec(p.Dropped))
		var p50, p90, p99, fail *float64
		if n := p.OK + p.Failed; n > 0 {
			p50, p90, p99 = msp(p.P50), msp(p.P90), msp(p.P99)
			f := sig(float64(p.Failed) * 100 / float64(n))
			fail = &f
		}
		tl.P50, tl.P90, tl.P99, tl.FailPct = append(tl.P50, p50), append(tl.P90, p90), append(tl.P99, p99), append(tl.FailPct, fail)
		anyP90 = anyP90 || p.P90 > 0
		anyStarted = anyStarted || p.Started > 0
		anyBusy = anyBusy || p.Busy > 0
	}
	if !anyP90 { // a result written before the timeline had p90
		tl.P90 = nil
	}
	if !open || !anyStarted {
		tl.Started, tl.Dropped = nil, nil
	}
	if !open || !anyBusy { // or a result written before busy workers were counted
		tl.Busy = nil
	}
	if open {
		for _, p := range r.Timeline {
			tl.Target = append(tl.Target, sig(opts.target(float64(p.Second)-0.5)))
		}
	}
	return tl
}

// target returns the open model's rate of starts t seconds after the
// start: the line between stage ends (Runner.Stages), else Rate.
func (o *options) target(t float64) float64 {
	if len(o.Stages) == 0 {
		return o.Rate
	}
	var from float64
	for _, s := range o.Stages {
		d := s.Duration.Seconds()
		if t < d {
			return from + (s.Rate-from)*t/d
		}
		t -= d
		from = s.Rate
	}
	return from
}

// stageEnds returns the seconds at which each stage ended, within the run.
func stageEnds(o *options, elapsed time.Duration) []float64 {
	var ends []float64
	var at time.Duration
	for _, s := range o.Stages {
		at += s.Duration
		if at > elapsed {
			break
		}
		ends = append(ends, at.Seconds())
	}
	return ends
}

func (run *Run) addScenarios(r *result) error {
	for _, name := range sortedKeys(r.Scenarios) {
		s := r.Scenarios[name]
		h, err := snapshotOf(s.Latency)
		if err != nil {
			return fmt.Errorf("%w: scenario %q: %v", ErrFormat, name, err)
		}
		n := s.OK + s.Failed
		sc := Scenario{Name: name, Curve: curveOf(h)}
		sc.Cells = append([]string{count(n), count(s.Failed), pct(s.Failed-s.Interrupted, n-s.Interrupted), rate(n, r.Elapsed)}, latencyCells(s.Latency, n)...)
		if run.Open && s.ServiceTime != nil {
			sh, err := snapshotOf(s.ServiceTime)
			if err != nil {
				return fmt.Errorf("%w: scenario %q: service time: %v", ErrFormat, name, err)
			}
			sc.Service, sc.ServiceCurve = latencyCells(s.ServiceTime, n), curveOf(sh)
		}
		run.Scenarios = append(run.Scenarios, sc)
	}
	return nil
}

func (run *Run) addRequests(r *result) error {
	for _, name := range sortedKeys(r.Requests) {
		q := r.Requests[name]
		if _, err := snapshotOf(q.Latency); err != nil {
			return fmt.Errorf("%w: request %q: %v", ErrFormat, name, err)
		}
		cells := append([]string{count(q.Count), count(q.Errors), rate(q.Count, r.Elapsed)}, latencyCells(q.Latency, q.Count)...)
		run.Requests = append(run.Requests, Request{Name: name, Cells: append(cells, statuses(q.Status))})
	}
	return nil
}

// cells formats p50, p90, p99 and max, or dashes when nothing was measured.
func latencyCells(l *latency, n int64) []string {
	if l == nil || n <= 0 {
		return []string{"-", "-", "-", "-"}
	}
	return []string{dur(l.P50), dur(l.P90), dur(l.P99), dur(l.Max)}
}

// snapshot returns the latency's histogram, nil when it has none.
func snapshotOf(l *latency) (*hist.Snapshot, error) {
	if l == nil || l.Histogram == nil {
		return nil, nil
	}
	j := l.Histogram
	if j.Scheme != resultjson.HistScheme {
		return nil, fmt.Errorf("histogram scheme %q is not %q", j.Scheme, resultjson.HistScheme)
	}
	return hist.FromBuckets(j.Count, j.Sum, j.Min, j.Max, j.Buckets)
}

// optionList lists the options in the order the result wrote them.
func optionList(o *resultjson.Options) ([]Fact, error) {
	if o == nil {
		return nil, nil
	}
	raw, err := json.Marshal(o) // in the order the result writes them
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var facts []Fact
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		name, isDur := strings.CutSuffix(key, "_ns")
		value := optionValue(v, isDur)
		if key == "stages" {
			value = stagesText(v)
		}
		facts = append(facts, Fact{Label: name, Value: value})
	}
	return facts, nil
}

func optionValue(v any, isDur bool) string {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && isDur {
			return dur(time.Duration(n))
		}
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = optionValue(e, isDur)
		}
		return strings.Join(parts, "; ")
	case map[string]any: // a stage
		var parts []string
		for _, k := range sortedKeys(x) {
			name, d := strings.CutSuffix(k, "_ns")
			parts = append(parts, name+" "+optionValue(x[k], d))
		}
		return strings.Join(parts, ", ")
	case nil:
		return "-"
	default:
		return fmt.Sprint(x)
	}
}

// stagesText writes stages as -molotov.stages reads them:
// 30s:10,1m:50 (workers) or 30s:100/s,1m:0/s (rates).
func stagesText(v any) string {
	list, _ := v.([]any)
	stages := make([]map[string]any, len(list))
	rates := false
	for i, e := range list {
		stages[i], _ = e.(map[string]any)
		_, isRate := stages[i]["rate"]
		rates = rates || isRate
	}
	parts := make([]string, len(stages))
	for i, st := range stages {
		n, _ := st["duration_ns"].(json.Number)
		d, _ := n.Int64()
		target, _ := st["workers"].(json.Number)
		if rates {
			target, _ = st["rate"].(json.Number)
		}
		if target == "" {
			target = "0"
		}
		parts[i] = time.Duration(d).String() + ":" + target.String()
		if rates {
			parts[i] += "/s"
		}
	}
	return strings.Join(parts, ",")
}

func statuses(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	codes := sortedKeys(m)
	sort.SliceStable(codes, func(i, j int) bool { return len(codes[i]) < len(codes[j]) })
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = c + ": " + count(m[c])
	}
	return strings.Join(parts, " · ")
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// count formats n with thousands separators: 12,345.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func rate(n int64, d time.Duration) string {
	return strconv.FormatFloat(ratio.PerSecond(n, d), 'f', 1, 64)
}

func pct(part, whole int64) string {
	return strconv.FormatFloat(ratio.Fraction(part, whole)*100, 'g', 3, 64) + "%"
}

func dur(d time.Duration) string { return console.FormatDuration(d) }

// msp returns d in milliseconds, to four significant digits.
func msp(d time.Duration) *float64 {
	ms := sig(float64(d) / 1e6)
	return &ms
}

// sig rounds x to four significant digits, which is all a chart or a
// reader needs, and keeps the embedded data small and stable.
func sig(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
