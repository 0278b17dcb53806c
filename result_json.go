package molotov

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"time"

	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/resultjson"
	"github.com/molotov-go/molotov/internal/segment"
)

// The JSON result: a versioned, self-describing record of a run that can
// be kept beside the code, compared with another run (Compare, and the
// molotov compare command) and re-analysed: it holds every latency
// histogram itself, not only percentiles. internal/resultjson holds its
// codec; docs/result-schema.md documents it field by field. This file
// converts a Result to and from it.

// runOptions are the Runner options a result records; a merge compares
// them field by field.
type runOptions = resultjson.Options

func optionsOf(c *Runner) *runOptions {
	base := c.BaseURL
	if u, err := url.Parse(base); err == nil {
		base = u.Redacted()
	}
	o := &runOptions{
		Workers: c.Workers, Duration: c.Duration, MaxRuns: c.MaxRuns, RampUp: c.RampUp, Delay: c.Delay,
		ExitOnFailure: c.ExitOnFailure, MaxFailures: c.MaxFailures, SingleMode: c.SingleMode,
		SingleRun: c.SingleRun, Sizing: c.Sizing, SizingTolerance: c.SizingTolerance,
		ForceShutdown: c.ForceShutdown, RequestTimeout: c.RequestTimeout,
		MaxResponseBytes: c.MaxResponseBytes, Seed: c.Seed, BaseURL: base,
		Thresholds: append([]string(nil), c.Thresholds...),
		Rate:       c.Rate, MaxWorkers: c.MaxWorkers, MaxLag: c.MaxLag,
		Stages: stagesJSON(c.Stages),
	}
	if !c.StartAt.IsZero() {
		o.StartAt = c.StartAt.UTC().Format(time.RFC3339Nano)
	}
	return o
}

func stagesJSON(stages []Stage) []resultjson.Stage {
	var out []resultjson.Stage
	for _, s := range stages {
		out = append(out, resultjson.Stage{Duration: s.Duration, Workers: s.Workers, Rate: s.Rate})
	}
	return out
}

func toJSONLatency(l Latency, h *hist.Snapshot) *resultjson.Latency {
	j := &resultjson.Latency{Min: l.Min, Mean: l.Mean, P50: l.P50, P90: l.P90, P95: l.P95, P99: l.P99, P999: l.P999, Max: l.Max}
	if h != nil {
		jh := &resultjson.Hist{Scheme: resultjson.HistScheme, Count: h.Count, Sum: h.Sum, Min: h.Min, Max: h.Max, Buckets: [][2]int64{}}
		for i, c := range h.Counts {
			if c != 0 {
				jh.Buckets = append(jh.Buckets, [2]int64{int64(i), c})
			}
		}
		j.Histogram = jh
	}
	return j
}

// latencyOfJSON converts a JSON latency back, with its histogram.
func latencyOfJSON(j *resultjson.Latency) (Latency, *hist.Snapshot, error) {
	if j == nil {
		return Latency{}, nil, nil
	}
	l := Latency{Min: j.Min, Mean: j.Mean, P50: j.P50, P90: j.P90, P95: j.P95, P99: j.P99, P999: j.P999, Max: j.Max}
	if j.Histogram == nil {
		return l, nil, nil
	}
	jh := j.Histogram
	if jh.Scheme != resultjson.HistScheme {
		return l, nil, fmt.Errorf("histogram scheme %q is not %q; this result was written by another version of molotov-go", jh.Scheme, resultjson.HistScheme)
	}
	h, err := hist.FromBuckets(jh.Count, jh.Sum, jh.Min, jh.Max, jh.Buckets)
	if err != nil {
		return l, nil, err
	}
	return l, h, nil
}

// WriteJSON writes the result as versioned JSON (schema
// "molotov-go/result", documented in docs/result-schema.md): options,
// times, counts, stop reason, thresholds, and per scenario and per request
// the latency percentiles and the histogram itself, so that results can be
// merged and re-analysed later; ReadResult reads it back.
func (r *Result) WriteJSON(w io.Writer) error {
	j := resultjson.File{
		Schema: resultjson.Schema, Version: resultjson.Version, Segment: r.Segment, Partial: r.Partial, Options: r.opts,
		Start: r.Start, End: r.End, Elapsed: r.Elapsed, StopReason: string(r.StopReason), Outcome: string(r.Outcome()), Passed: r.Passed(), OverBudget: r.overBudget(),
		Started: r.Started, OK: r.OK, Failed: r.Failed, Interrupted: r.Interrupted,
		Scheduled: r.Scheduled, Dropped: r.Dropped,
		SetupFailed: r.SetupFailed, MaxWorkers: r.MaxWorkers, PeakBusy: r.PeakBusy, SizingRatio: r.SizingRatio, SizingRate: r.SizingRate,
		CPU: r.CPU, Procs: r.Procs, Connections: r.Connections, MaxFailures: r.maxFailures, Shares: r.shares,
		Scenarios: map[string]resultjson.Scenario{}, Requests: map[string]resultjson.Request{},
	}
	for _, e := range r.Errors {
		j.Errors = append(j.Errors, resultjson.Error(e))
	}
	if r.all != nil {
		j.Latency = toJSONLatency(r.latency, r.all)
	}
	if r.startLag != nil {
		j.StartLag = toJSONLatency(r.StartLag, r.startLag)
	}
	for _, t := range r.Thresholds {
		jt := resultjson.Threshold{Expr: t.Expr, Pass: t.Pass}
		if !math.IsNaN(t.Value) && !math.IsInf(t.Value, 0) {
			v := t.Value
			jt.Value = &v
		}
		j.Thresholds = append(j.Thresholds, jt)
	}
	for name, s := range r.Scenarios {
		js := resultjson.Scenario{OK: s.OK, Failed: s.Failed, Interrupted: s.Interrupted, Latency: toJSONLatency(s.Latency, s.hist)}
		if s.serviceHist != nil {
			js.ServiceTime = toJSONLatency(s.ServiceTime, s.serviceHist)
		}
		j.Scenarios[name] = js
	}
	for name, q := range r.Requests {
		status := map[string]int64{}
		for code, n := range q.Status {
			status[fmt.Sprint(code)] = n
		}
		j.Requests[name] = resultjson.Request{Count: q.Count, Errors: q.Errors, Status: status, Latency: toJSONLatency(q.Latency, q.hist)}
	}
	for _, p := range r.Timeline {
		j.Timeline = append(j.Timeline, resultjson.Point{Second: p.Second, OK: p.OK, Failed: p.Failed, P50: p.P50, P90: p.P90, P99: p.P99, Workers: p.Workers, Busy: p.Busy,
			Started: p.Started, Dropped: p.Dropped, Connections: p.Connections})
	}
	return resultjson.Encode(w, &j)
}

// ErrResultFormat reports a JSON result that ReadResult cannot read: not a
// molotov-go result, a newer version, or inconsistent figures.
var ErrResultFormat = errors.New("molotov: not a readable molotov-go result")

// ReadResult reads a result written by WriteJSON. Everything WriteJSON
// wrote comes back, histograms included.
func ReadResult(r io.Reader) (*Result, error) {
	j, err := resultjson.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResultFormat, err)
	}
	if _, err := segment.ParseCoverage(j.Segment); err != nil {
		return nil, fmt.Errorf("%w: segment %v", ErrResultFormat, err)
	}
	if j.Partial && j.Segment == "" {
		return nil, fmt.Errorf("%w: partial is true but segment is empty: a partial merge says which shares it covers", ErrResultFormat)
	}
	if err := checkShareRows(j.Shares, j.Segment); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResultFormat, err)
	}
	if o := j.Options; o != nil && !o.Sizing {
		o.SizingTolerance = 0 // older results recorded the default without Sizing: compare and merge them with newer ones alike
	}
	res := &Result{
		Segment: j.Segment, Partial: j.Partial,
		Started: j.Started, OK: j.OK, Failed: j.Failed, Interrupted: j.Interrupted,
		Scheduled: j.Scheduled, Dropped: j.Dropped,
		SetupFailed: j.SetupFailed, MaxWorkers: j.MaxWorkers, PeakBusy: j.PeakBusy, Elapsed: j.Elapsed,
		CPU: j.CPU, Procs: j.Procs, Connections: j.Connections,
		StopReason: StopReason(j.StopReason), SizingRatio: j.SizingRatio, SizingRate: j.SizingRate,
		Start: j.Start, End: j.End, maxFailures: j.MaxFailures, opts: j.Options, shares: j.Shares,
		Scenarios: make(map[string]*ScenarioStats, len(j.Scenarios)),
		Requests:  make(map[string]*RequestStats, len(j.Requests)),
	}
	for _, e := range j.Errors {
		res.Errors = append(res.Errors, ErrorCount(e))
	}
	if j.Latency != nil {
		if res.latency, res.all, err = latencyOfJSON(j.Latency); err != nil {
			return nil, fmt.Errorf("%w: run latency: %v", ErrResultFormat, err)
		}
	}
	if res.StartLag, res.startLag, err = latencyOfJSON(j.StartLag); err != nil {
		return nil, fmt.Errorf("%w: start lag: %v", ErrResultFormat, err)
	}
	for _, t := range j.Thresholds {
		v := math.NaN()
		if t.Value != nil {
			v = *t.Value
		}
		res.Thresholds = append(res.Thresholds, ThresholdResult{Expr: t.Expr, Value: v, Pass: t.Pass})
	}
	for name, s := range j.Scenarios {
		st := &ScenarioStats{OK: s.OK, Failed: s.Failed, Interrupted: s.Interrupted}
		if st.Latency, st.hist, err = latencyOfJSON(s.Latency); err != nil {
			return nil, fmt.Errorf("%w: scenario %q: %v", ErrResultFormat, name, err)
		}
		st.ServiceTime = st.Latency
		if s.ServiceTime != nil {
			if st.ServiceTime, st.serviceHist, err = latencyOfJSON(s.ServiceTime); err != nil {
				return nil, fmt.Errorf("%w: scenario %q: service time: %v", ErrResultFormat, name, err)
			}
		}
		res.Scenarios[name] = st
	}
	for name, q := range j.Requests {
		st := &RequestStats{Count: q.Count, Errors: q.Errors, Status: make(map[int]int64, len(q.Status))}
		for code, n := range q.Status {
			var c int
			if _, err := fmt.Sscan(code, &c); err != nil {
				return nil, fmt.Errorf("%w: request %q: status %q is not a number", ErrResultFormat, name, code)
			}
			st.Status[c] = n
		}
		if st.Latency, st.hist, err = latencyOfJSON(q.Latency); err != nil {
			return nil, fmt.Errorf("%w: request %q: %v", ErrResultFormat, name, err)
		}
		res.Requests[name] = st
	}
	for _, p := range j.Timeline {
		res.Timeline = append(res.Timeline, TimelinePoint{Second: p.Second, OK: p.OK, Failed: p.Failed, P50: p.P50, P90: p.P90, P99: p.P99, Workers: p.Workers, Busy: p.Busy,
			Started: p.Started, Dropped: p.Dropped, Connections: p.Connections})
	}
	return res, nil
}

// writeResultFile writes res as JSON to path, replacing the file.
func writeResultFile(path string, res *Result) error {
	if err := writeFileAtomic(path, res.WriteJSON); err != nil {
		return fmt.Errorf("molotov: writing the JSON result to %s (Runner.ResultFile, -molotov.json): %w", path, err)
	}
	return nil
}
