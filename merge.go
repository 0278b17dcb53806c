package molotov

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/segment"
	"github.com/molotov-go/molotov/internal/threshold"
)

// Merge merges the results of the shares of one run (Runner.Segment "0/n"
// to "n-1/n", or partial merges of them) into the result of the whole run.
//
// The merge is exact: counts are summed and latency histograms added
// bucket by bucket, so every latency figure of the merged result, of the
// run, of each scenario and of each request, is the one a single run that
// recorded every share's values would report. Errors are merged by
// message, status counts by code, and the open model's Scheduled, Dropped
// and service times likewise, as are Connections. The run's window spans
// from the earliest Start to the latest End; MaxWorkers and PeakBusy are
// the sums of the shares' (for PeakBusy an upper bound: the shares' peaks
// need not have come at once), and so are CPU and Procs (CPUBusy is then
// the shares' busy share averaged with their GOMAXPROCS as weights, over
// the merged window: a lower bound when they did not run at once). The
// timeline is aligned by wall clock: each share's seconds are placed by
// its Start, to the nearest second after the earliest one; a merged
// second's P50, P90 and P99 are the shares', averaged with their runs as
// weights (a timeline point keeps no histogram), and its runs, workers
// and busy workers are summed.
//
// MaxFailures and Sizing apply to the whole run and are judged at merge
// time: the merged failures are held against MaxFailures, and in a Sizing
// run the merged timeline is searched, second by second and over
// one-minute windows, for where the failure ratio passed SizingTolerance
// (MaxWorkers, SizingRatio and SizingRate then say where). The run's
// thresholds, read from the results' options, are checked again on the
// merged figures, so Thresholds, Outcome and Passed give the verdict on
// the whole run, not the shares'.
//
// Merge refuses, with a *MergeError that names the result (results[i])
// and the field at fault: results of different runs (options other than
// the segment, or scenarios, that differ), two results that cover the same
// share, shares of different splits (0/4 with 1/3), a share missing (see
// MergePartial), and results without the histograms an exact merge needs.
// Merge never changes its inputs. Merging the one result of a whole run
// returns an equal result. The merged result of shares keeps, one row per
// share, each share's own counts, times and verdict, in the JSON result's
// "shares" (docs/result-schema.md), whatever the merges in between.
func Merge(results ...*Result) (*Result, error) {
	var m Merger
	return m.merge(results)
}

// MergePartial is Merge for a run some of whose shares are missing: it
// merges the results there are, sets Partial when shares are missing, and
// Segment to the shares covered ("0-2,5/8"). Its verdict is on those
// shares only. A partial result can be merged again with the missing
// shares' results into the whole run.
func MergePartial(results ...*Result) (*Result, error) {
	m := Merger{Partial: true}
	return m.merge(results)
}

// Merger merges results one at a time, as Merge does, keeping only the
// merged figures, each result's timeline and a row of each share's own
// figures (the JSON result's "shares"): results read one by one from
// files need not all be in memory at once. The zero Merger merges like
// Merge. A Merger is not safe for concurrent use, and must not be copied
// after its first Add.
type Merger struct {
	// Partial merges the shares added even when some are missing, as
	// MergePartial does.
	Partial bool

	names   []string // of the results added
	covered []coveredRange

	// Of the first result: what every other must match.
	opts        *runOptions
	maxFailures int
	exprs       []string // the thresholds to judge
	thresholds  []*threshold.Threshold
	scenarios   []string                      // sorted
	open        bool                          // the scenarios have service times
	n           int                           // the number of shares of the run
	segment     string                        // the first result's, for errors
	sizing      struct{ ratio, rate float64 } // the first result's, kept when it is the only one

	// The merged figures.
	started, ok, failed, interrupted  int64
	scheduled, dropped, conns         int64
	setupFailed, maxWorkers, peakBusy int
	cpu                               time.Duration
	procs                             int
	stop                              StopReason
	start, end                        time.Time
	all                               *hist.Snapshot
	startLag                          *hist.Snapshot // the open model's; nil in the closed one
	scenarioStats                     map[string]*ScenarioStats
	requests                          map[string]*RequestStats
	errors                            map[string]int64
	timelines                         []shareTimeline
	shares                            []shareRow
}

// coveredRange is shares that the result named covers.
type coveredRange struct {
	segment.Range
	name string
}

// shareTimeline is one result's timeline, kept until every result is in:
// the earliest start, which places them all, is known only then.
type shareTimeline struct {
	start  time.Time
	points []TimelinePoint
}

// MergeError reports a result that Merge cannot take, or results that do
// not make up a run.
type MergeError struct {
	// Result names the result at fault: the name given to Merger.Add, or
	// "results[i]" for Merge's i-th; "" when the results as a whole are at
	// fault (a share missing, none at all).
	Result string
	// Field is the field at fault, as the JSON result names it:
	// "segment", "options.workers", "scenarios".
	Field string
	Msg   string // what is wrong, and what to do
}

func (e *MergeError) Error() string {
	s := "molotov: merge: "
	if e.Result != "" {
		s += e.Result + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

func (m *Merger) merge(results []*Result) (*Result, error) {
	for _, r := range results {
		if err := m.Add("", r); err != nil {
			return nil, err
		}
	}
	return m.Result()
}

// Add adds r to the merge. name names r in errors (a file name); ""
// stands for "results[i]", i counting the results added from 0. A result
// that Add refuses, with a *MergeError, leaves m as it was. Add keeps
// nothing of r: r may change afterwards.
func (m *Merger) Add(name string, r *Result) error {
	if name == "" {
		name = "results[" + strconv.Itoa(len(m.names)) + "]"
	}
	cov, err := m.check(name, r)
	if err != nil {
		return err
	}
	if len(m.names) == 0 {
		m.init(r, cov)
	}
	m.fold(r)
	for _, sr := range cov.Ranges {
		m.covered = append(m.covered, coveredRange{sr, name})
	}
	m.names = append(m.names, name)
	return nil
}

// check returns why r cannot join the merge, or r's coverage.
func (m *Merger) check(name string, r *Result) (segment.Coverage, error) {
	bad := func(field, format string, args ...any) (segment.Coverage, error) {
		return segment.Coverage{}, &MergeError{Result: name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	const (
		notFinished   = "; merge the results of finished runs (Result.WriteJSON, -molotov.json)"
		differentRuns = "these are results of different runs; merge the shares of one run"
	)
	switch {
	case r == nil:
		return bad("", "is nil")
	case r.StopReason == "":
		return bad("stop_reason", "is empty: the result of a run in progress"+notFinished)
	case r.Start.IsZero():
		return bad("start", "is missing"+notFinished)
	case r.End.Before(r.Start) || r.End.IsZero():
		return bad("end", "is missing or before start"+notFinished)
	}
	cov, err := segment.ParseCoverage(r.Segment)
	if err != nil {
		return bad("segment", "%v", err)
	}
	if r.Partial && r.Segment == "" {
		return bad("partial", "is true but segment is empty: a partial merge says which shares it covers")
	}
	if field, msg := missingHistogram(r); field != "" {
		return bad(field, "%s", msg)
	}
	if len(m.names) == 0 {
		if err := checkThresholdExprs(thresholdExprs(r)); err != nil {
			return bad("options.thresholds", "%v", err)
		}
		return cov, nil
	}
	first := m.names[0]
	if field, here, there := diffOptions(r.opts, m.opts); field != "" {
		return bad(field, "%s here, %s in %s: "+differentRuns, here, there, first)
	}
	if r.opts == nil {
		if r.maxFailures != m.maxFailures {
			return bad("max_failures_allowed", "%d here, %d in %s: "+differentRuns, r.maxFailures, m.maxFailures, first)
		}
		if exprs := thresholdExprs(r); !slices.Equal(exprs, m.exprs) {
			return bad("thresholds", "%q here, %q in %s: "+differentRuns, exprs, m.exprs, first)
		}
	}
	if names := sortedKeys(r.Scenarios); !slices.Equal(names, m.scenarios) {
		for _, s := range names {
			if _, ok := slices.BinarySearch(m.scenarios, s); !ok {
				return bad("scenarios", "has scenario %q, which %s has not: "+differentRuns, s, first)
			}
		}
		for _, s := range m.scenarios {
			if r.Scenarios[s] == nil {
				return bad("scenarios", "lacks scenario %q, which %s has: "+differentRuns, s, first)
			}
		}
	}
	if cov.N != m.n {
		return bad("segment", "%q splits the run in %d, but %s's %q splits it in %d: merge the shares of one split of the run",
			r.Segment, cov.N, first, m.segment, m.n)
	}
	if m.open {
		for _, s := range m.scenarios {
			if sc := r.Scenarios[s]; sc.serviceHist == nil && sc.OK+sc.Failed > 0 {
				return bad("scenarios."+s+".service_time.histogram", "is missing, but %s has service times: "+differentRuns, first)
			}
		}
	}
	for _, sr := range cov.Ranges {
		for _, c := range m.covered {
			if sr.Lo <= c.Hi && c.Lo <= sr.Hi {
				x := max(sr.Lo, c.Lo)
				share := segment.Coverage{N: cov.N, Ranges: []segment.Range{{Lo: x, Hi: x}}}.SharesName()
				return bad("segment", "%s is also in %s: give each share once", share, c.name)
			}
		}
	}
	return cov, nil
}

// missingHistogram names the first histogram that r lacks although it
// has values, and says why that matters.
func missingHistogram(r *Result) (field, msg string) {
	const why = "is missing, so percentiles cannot be merged exactly; merge results as Result.WriteJSON or -molotov.json write them"
	if r.all == nil && r.OK+r.Failed > 0 {
		return "latency.histogram", why
	}
	for _, name := range sortedKeys(r.Scenarios) {
		if s := r.Scenarios[name]; s.hist == nil && s.OK+s.Failed > 0 {
			return "scenarios." + name + ".latency.histogram", why
		}
	}
	for _, name := range sortedKeys(r.Requests) {
		if q := r.Requests[name]; q.hist == nil && q.Count > 0 {
			return "requests." + name + ".latency.histogram", why
		}
	}
	return "", ""
}

// thresholdExprs returns the thresholds of r's run: its options', or,
// without options, those it was judged by.
func thresholdExprs(r *Result) []string {
	if r.opts != nil {
		return r.opts.Thresholds
	}
	var out []string
	for _, t := range r.Thresholds {
		out = append(out, t.Expr)
	}
	return out
}

func checkThresholdExprs(exprs []string) error {
	for _, e := range exprs {
		if _, err := parseThreshold(e); err != nil {
			return err
		}
	}
	return nil
}

// diffOptions returns the first option in which a and b differ, as the
// JSON result names it, with a's and b's values. Every option of the
// JSON result is the whole run's, so the shares of one run agree on all.
func diffOptions(a, b *runOptions) (field, va, vb string) {
	switch {
	case a == nil && b == nil:
		return "", "", ""
	case a == nil:
		return "options", "missing", "present"
	case b == nil:
		return "options", "present", "missing"
	}
	if d := optionDiffs(a, b); len(d) > 0 {
		return "options." + d[0].name, d[0].a, d[0].b
	}
	return "", "", ""
}

func optionValue(v reflect.Value) string {
	if v.Kind() == reflect.String || v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
		return fmt.Sprintf("%q", v.Interface())
	}
	return fmt.Sprintf("%v", v.Interface())
}

// init takes from the first result what the others must match.
func (m *Merger) init(r *Result, cov segment.Coverage) {
	if r.opts != nil {
		o := *r.opts
		o.Thresholds, o.Stages = slices.Clone(o.Thresholds), slices.Clone(o.Stages)
		m.opts = &o
	}
	m.maxFailures, m.n, m.segment = r.maxFailures, cov.N, r.Segment
	m.exprs = slices.Clone(thresholdExprs(r))
	for _, e := range m.exprs {
		t, _ := parseThreshold(e) // checked
		m.thresholds = append(m.thresholds, t)
	}
	m.scenarios = sortedKeys(r.Scenarios)
	m.scenarioStats = make(map[string]*ScenarioStats, len(r.Scenarios))
	for name, s := range r.Scenarios {
		acc := &ScenarioStats{hist: newSnapshot()}
		if s.serviceHist != nil {
			m.open, acc.serviceHist = true, newSnapshot()
		}
		m.scenarioStats[name] = acc
	}
	m.requests, m.errors, m.all = map[string]*RequestStats{}, map[string]int64{}, newSnapshot()
	m.sizing.ratio, m.sizing.rate = r.SizingRatio, r.SizingRate
	m.start, m.end = r.Start, r.End
}

func newSnapshot() *hist.Snapshot { return &hist.Snapshot{} }

func cloneSnapshot(s *hist.Snapshot) *hist.Snapshot {
	if s == nil {
		return nil
	}
	c := *s
	c.Counts = slices.Clone(s.Counts)
	return &c
}

// fold adds r's figures to the merged ones.
func (m *Merger) fold(r *Result) {
	m.started += r.Started
	m.ok += r.OK
	m.failed += r.Failed
	m.interrupted += r.Interrupted
	m.scheduled += r.Scheduled
	m.dropped += r.Dropped
	m.setupFailed += r.SetupFailed
	m.maxWorkers += r.MaxWorkers
	m.peakBusy += r.PeakBusy
	m.cpu += r.CPU
	m.procs += r.Procs
	m.conns += r.Connections
	m.stop = moreTelling(m.stop, r.StopReason)
	if r.Start.Before(m.start) {
		m.start = r.Start
	}
	if r.End.After(m.end) {
		m.end = r.End
	}
	m.all.Merge(r.all)
	if r.startLag != nil {
		if m.startLag == nil {
			m.startLag = newSnapshot()
		}
		m.startLag.Merge(r.startLag)
	}
	for name, s := range r.Scenarios {
		acc := m.scenarioStats[name]
		acc.OK += s.OK
		acc.Failed += s.Failed
		acc.Interrupted += s.Interrupted
		acc.hist.Merge(s.hist)
		if acc.serviceHist != nil {
			acc.serviceHist.Merge(s.serviceHist)
		}
	}
	for _, name := range sortedKeys(r.Requests) {
		q := r.Requests[name]
		acc := m.requests[name]
		if acc == nil {
			if len(m.requests) >= maxRequestNames {
				name = otherRequests
				acc = m.requests[name]
			}
			if acc == nil {
				acc = &RequestStats{Status: map[int]int64{}, hist: newSnapshot()}
				m.requests[name] = acc
			}
		}
		acc.Count += q.Count
		acc.Errors += q.Errors
		for code, n := range q.Status {
			acc.Status[code] += n
		}
		acc.hist.Merge(q.hist)
	}
	for _, e := range r.Errors {
		m.errors[e.Error] += e.Count
	}
	m.timelines = append(m.timelines, shareTimeline{r.Start, slices.Clone(r.Timeline)})
	m.shares = append(m.shares, shareRowsOf(r)...)
}

// stopRanks orders the stop reasons, the most telling first: a merged
// run stopped for the most telling of its shares' reasons.
var stopRanks = []StopReason{StopCancelled, StopSetupFailed, StopThreshold, StopFailure, StopMaxFailures,
	StopSizing, StopStopped, StopDuration, StopMaxRuns, StopSingleRun}

func moreTelling(a, b StopReason) StopReason {
	rank := func(r StopReason) int {
		if i := slices.Index(stopRanks, r); i >= 0 {
			return i
		}
		return len(stopRanks)
	}
	if a == "" || rank(b) < rank(a) {
		return b
	}
	return a
}

// Result returns the merged result of the results added so far; it
// fails, with a *MergeError, when none were, or when shares are missing
// and m is not Partial. Result may be called again after more Adds.
func (m *Merger) Result() (*Result, error) {
	if len(m.names) == 0 {
		return nil, &MergeError{Msg: "no results to merge; give the results of the run's shares"}
	}
	sorted := slices.Clone(m.covered)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Lo < sorted[j].Lo })
	cov := segment.Coverage{N: m.n}
	for _, c := range sorted {
		cov.Add(c.Range)
	}
	if miss := cov.Missing(); len(miss.Ranges) > 0 && !m.Partial {
		return nil, &MergeError{Field: "segment", Msg: fmt.Sprintf(
			"no result covers %s: the results given (%s) cover %s; add the results of the missing shares, or merge partially (MergePartial, molotov merge -partial)",
			miss.SharesName(), listNames(m.names), cov.String())}
	}
	res := &Result{
		Started: m.started, OK: m.ok, Failed: m.failed, Interrupted: m.interrupted,
		Scheduled: m.scheduled, Dropped: m.dropped,
		SetupFailed: m.setupFailed, MaxWorkers: m.maxWorkers, PeakBusy: m.peakBusy, StopReason: m.stop,
		CPU: m.cpu, Procs: m.procs, Connections: m.conns,
		Start: m.start, End: m.end, Elapsed: m.end.Sub(m.start),
		Segment: cov.String(), Partial: !cov.Complete(),
		Scenarios: make(map[string]*ScenarioStats, len(m.scenarioStats)),
		Requests:  make(map[string]*RequestStats, len(m.requests)),
		all:       cloneSnapshot(m.all), maxFailures: m.maxFailures,
	}
	res.latency = latencyOf(res.all)
	if m.startLag != nil {
		res.startLag = cloneSnapshot(m.startLag)
		res.StartLag = latencyOf(res.startLag)
	}
	if m.opts != nil {
		o := *m.opts
		o.Thresholds, o.Stages = slices.Clone(o.Thresholds), slices.Clone(o.Stages)
		res.opts = &o
	}
	for name, acc := range m.scenarioStats {
		s := *acc
		s.hist, s.serviceHist = cloneSnapshot(acc.hist), cloneSnapshot(acc.serviceHist)
		s.Latency = latencyOf(s.hist)
		s.ServiceTime = s.Latency
		if s.serviceHist != nil {
			s.ServiceTime = latencyOf(s.serviceHist)
		}
		res.Scenarios[name] = &s
	}
	for name, acc := range m.requests {
		q := *acc
		q.hist, q.Status = cloneSnapshot(acc.hist), make(map[int]int64, len(acc.Status))
		for code, n := range acc.Status {
			q.Status[code] = n
		}
		q.Latency = latencyOf(q.hist)
		res.Requests[name] = &q
	}
	errs := make([]ErrorCount, 0, len(m.errors))
	for msg, n := range m.errors {
		errs = append(errs, ErrorCount{Error: msg, Count: n})
	}
	res.Errors = mostFrequent(errs, maxErrorsShown)
	res.Timeline = m.timeline()
	sortShareRows(m.shares)
	res.shares = slices.Clone(m.shares)
	m.judgeSizing(res)
	res.Thresholds = checkThresholds(m.thresholds, res)
	return res, nil
}

// listNames lists the results' names, the middle ones elided when many.
func listNames(names []string) string {
	if len(names) > 4 {
		return fmt.Sprintf("%s, %s, … %s: %d results", names[0], names[1], names[len(names)-1], len(names))
	}
	return strings.Join(names, ", ")
}

// timeline aligns the shares' timelines by wall clock: a share's seconds
// start at its Start, rounded to the nearest second after the earliest.
func (m *Merger) timeline() []TimelinePoint {
	type second struct {
		p             TimelinePoint
		runs          int64
		p50, p90, p99 float64 // the runs-weighted means of the shares'
	}
	var out []second
	for _, sh := range m.timelines {
		off := int(sh.start.Sub(m.start).Round(time.Second) / time.Second)
		if need := off + len(sh.points); need > len(out) {
			out = append(out, make([]second, need-len(out))...)
		}
		for k, p := range sh.points {
			s := &out[off+k]
			s.p.OK += p.OK
			s.p.Failed += p.Failed
			s.p.Workers += p.Workers
			s.p.Busy += p.Busy
			s.p.Started += p.Started
			s.p.Dropped += p.Dropped
			s.p.Connections += p.Connections
			if w := p.OK + p.Failed; w > 0 {
				s.runs += w
				f := float64(w) / float64(s.runs)
				s.p50 += (float64(p.P50) - s.p50) * f
				s.p90 += (float64(p.P90) - s.p90) * f
				s.p99 += (float64(p.P99) - s.p99) * f
			}
		}
	}
	points := make([]TimelinePoint, len(out))
	for i, s := range out {
		points[i] = s.p
		points[i].Second = i + 1
		points[i].P50, points[i].P90, points[i].P99 = time.Duration(math.Round(s.p50)), time.Duration(math.Round(s.p90)), time.Duration(math.Round(s.p99))
	}
	return points
}

// judgeSizing sets res's sizing figures. One result keeps its own; a
// merge of several is judged on the merged timeline as one instance
// judges a run (see sizer): over one-minute windows, once 100 runs are
// in, at the first second where failures per success pass the tolerance.
func (m *Merger) judgeSizing(res *Result) {
	if len(m.names) == 1 {
		res.SizingRatio, res.SizingRate = m.sizing.ratio, m.sizing.rate
		return
	}
	if m.opts == nil || !m.opts.Sizing {
		return
	}
	tolerance := m.opts.SizingTolerance
	if tolerance == 0 {
		tolerance = DefaultSizingTolerance
	}
	window, ok, failed := -1, int64(0), int64(0)
	for i, p := range res.Timeline {
		if window < 0 && p.OK+p.Failed == 0 {
			continue
		}
		if window < 0 || i-window >= 60 {
			window, ok, failed = i, 0, 0
		}
		ok += p.OK
		failed += p.Failed
		if ok+failed < 100 {
			continue
		}
		ratio := float64(failed) * 100
		if ok > 0 {
			ratio = float64(failed) / float64(ok) * 100
		}
		if ratio > tolerance {
			res.MaxWorkers, res.SizingRatio = p.Workers, ratio
			if m.opts.Rate > 0 {
				stages := make([]Stage, len(m.opts.Stages))
				for j, s := range m.opts.Stages {
					stages[j] = Stage{Duration: s.Duration, Workers: s.Workers, Rate: s.Rate}
				}
				res.SizingRate = stageTarget(stages, time.Duration(i+1)*time.Second, true)
			}
			return
		}
	}
}
