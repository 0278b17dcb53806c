package molotov

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/molotov-go/molotov/internal/hist"
)

// The JSON result: a versioned, self-describing record of a run that can
// be kept beside the code, compared with another run (Compare, and the
// molotov compare command) and re-analysed: it holds every latency
// histogram itself, not only percentiles. docs/result-schema.md documents
// it field by field.

// resultSchema and resultVersion identify the format. A reader refuses a
// newer version; a change that old readers would misread bumps it.
const (
	resultSchema  = "molotov-go/result"
	resultVersion = 1
	// histScheme names the histogram bucket layout of internal/hist: 256
	// one-nanosecond buckets, then 128 sub-buckets per power of two.
	histScheme = "log-linear-128/v1"
)

// runOptions are the Runner options a result records.
type runOptions struct {
	Workers          int         `json:"workers"`
	Duration         jsonDur     `json:"duration_ns,omitempty"`
	MaxRuns          int         `json:"max_runs,omitempty"`
	RampUp           jsonDur     `json:"ramp_up_ns,omitempty"`
	Delay            jsonDur     `json:"delay_ns,omitempty"`
	ExitOnFailure    bool        `json:"exit_on_failure,omitempty"`
	MaxFailures      int         `json:"max_failures,omitempty"`
	SingleMode       string      `json:"single_mode,omitempty"`
	SingleRun        bool        `json:"single_run,omitempty"`
	Sizing           bool        `json:"sizing,omitempty"`
	SizingTolerance  float64     `json:"sizing_tolerance,omitempty"`
	ForceShutdown    bool        `json:"force_shutdown,omitempty"`
	RequestTimeout   jsonDur     `json:"request_timeout_ns"`
	MaxResponseBytes int64       `json:"max_response_bytes"`
	Seed             int64       `json:"seed,omitempty"`
	BaseURL          string      `json:"base_url,omitempty"` // passwords redacted
	Thresholds       []string    `json:"thresholds,omitempty"`
	Rate             float64     `json:"rate,omitempty"`
	MaxWorkers       int         `json:"max_workers,omitempty"`
	MaxLag           jsonDur     `json:"max_lag_ns,omitempty"`
	Stages           []jsonStage `json:"stages,omitempty"`
	// StartAt is Runner.StartAt (RFC 3339, UTC): the shares of one run
	// share it, so it tells their results from those of another run.
	StartAt string `json:"start_at,omitempty"`
}

type jsonStage struct {
	Duration jsonDur `json:"duration_ns"`
	Workers  int     `json:"workers,omitempty"`
	Rate     float64 `json:"rate,omitempty"`
}

// jsonDur is a duration written as integer nanoseconds.
type jsonDur = time.Duration

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

func stagesJSON(stages []Stage) []jsonStage {
	var out []jsonStage
	for _, s := range stages {
		out = append(out, jsonStage{Duration: s.Duration, Workers: s.Workers, Rate: s.Rate})
	}
	return out
}

type jsonResult struct {
	Schema     string      `json:"schema"`
	Version    int         `json:"version"`
	Segment    string      `json:"segment,omitempty"`
	Partial    bool        `json:"partial,omitempty"`
	Options    *runOptions `json:"options,omitempty"`
	Start      time.Time   `json:"start"`
	End        time.Time   `json:"end"`
	Elapsed    jsonDur     `json:"elapsed_ns"`
	StopReason StopReason  `json:"stop_reason"`
	Outcome    Outcome     `json:"outcome"`
	Passed     bool        `json:"passed"`
	// OverBudget says whether the failures are more than the run allows
	// (Result.Outcome's rule), for readers that explain the verdict.
	OverBudget  bool                    `json:"failures_over_budget"`
	Started     int64                   `json:"started"`
	OK          int64                   `json:"ok"`
	Failed      int64                   `json:"failed"`
	Interrupted int64                   `json:"interrupted"`
	Scheduled   int64                   `json:"scheduled,omitempty"`
	Dropped     int64                   `json:"dropped,omitempty"`
	SetupFailed int                     `json:"setup_failed"`
	MaxWorkers  int                     `json:"max_workers"`
	SizingRatio float64                 `json:"sizing_ratio,omitempty"`
	SizingRate  float64                 `json:"sizing_rate,omitempty"`
	MaxFailures int                     `json:"max_failures_allowed,omitempty"`
	Latency     *jsonLatency            `json:"latency,omitempty"`
	Thresholds  []jsonThreshold         `json:"thresholds,omitempty"`
	Errors      []ErrorCount            `json:"errors,omitempty"`
	Scenarios   map[string]jsonScenario `json:"scenarios"`
	Requests    map[string]jsonRequest  `json:"requests"`
	Timeline    []jsonPoint             `json:"timeline,omitempty"`
}

type jsonThreshold struct {
	Expr  string   `json:"expr"`
	Value *float64 `json:"value"` // null when nothing was measured
	Pass  bool     `json:"pass"`
}

type jsonScenario struct {
	OK          int64        `json:"ok"`
	Failed      int64        `json:"failed"`
	Interrupted int64        `json:"interrupted,omitempty"`
	Latency     *jsonLatency `json:"latency"`
	ServiceTime *jsonLatency `json:"service_time,omitempty"` // the open model only
}

type jsonRequest struct {
	Count   int64            `json:"count"`
	Errors  int64            `json:"errors"`
	Status  map[string]int64 `json:"status"`
	Latency *jsonLatency     `json:"latency"`
}

// jsonLatency is a latency summary and the histogram it was read from.
type jsonLatency struct {
	Min       jsonDur   `json:"min_ns"`
	Mean      jsonDur   `json:"mean_ns"`
	P50       jsonDur   `json:"p50_ns"`
	P90       jsonDur   `json:"p90_ns"`
	P95       jsonDur   `json:"p95_ns"`
	P99       jsonDur   `json:"p99_ns"`
	P999      jsonDur   `json:"p999_ns"`
	Max       jsonDur   `json:"max_ns"`
	Histogram *jsonHist `json:"histogram,omitempty"`
}

// jsonHist is a histogram, lossless: its non-empty buckets as
// [index, count] pairs.
type jsonHist struct {
	Scheme  string      `json:"scheme"`
	Count   int64       `json:"count"`
	Sum     int64       `json:"sum_ns"`
	Min     jsonDur     `json:"min_ns"`
	Max     jsonDur     `json:"max_ns"`
	Buckets jsonBuckets `json:"buckets"`
}

// jsonBuckets are a histogram's non-empty buckets as [index, count]
// pairs. They are most of a result's bytes, so they are read and written
// by hand rather than through reflection.
type jsonBuckets [][2]int64

func (b jsonBuckets) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+len(b)*12)
	out = append(out, '[')
	for i, p := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '[')
		out = strconv.AppendInt(out, p[0], 10)
		out = append(out, ',')
		out = strconv.AppendInt(out, p[1], 10)
		out = append(out, ']')
	}
	return append(out, ']'), nil
}

func (b *jsonBuckets) UnmarshalJSON(data []byte) error {
	p := jsonScanner{data: data}
	if p.literal("null") {
		*b = nil
		return nil
	}
	out := make(jsonBuckets, 0, bytes.Count(data, []byte("],")))
	if !p.expect('[') {
		return p.fail()
	}
	for !p.expect(']') {
		if len(out) > 0 && !p.expect(',') {
			return p.fail()
		}
		var pair [2]int64
		var ok bool
		if !p.expect('[') {
			return p.fail()
		}
		if pair[0], ok = p.int(); !ok || !p.expect(',') {
			return p.fail()
		}
		if pair[1], ok = p.int(); !ok || !p.expect(']') {
			return p.fail()
		}
		out = append(out, pair)
	}
	if p.skipSpace(); p.i != len(p.data) {
		return p.fail()
	}
	*b = out
	return nil
}

// jsonScanner reads the tokens of a JSON value by hand.
type jsonScanner struct {
	data []byte
	i    int
}

func (p *jsonScanner) skipSpace() {
	for p.i < len(p.data) && (p.data[p.i] == ' ' || p.data[p.i] == '\n' || p.data[p.i] == '\t' || p.data[p.i] == '\r') {
		p.i++
	}
}

// expect consumes c, after any space, if it comes next.
func (p *jsonScanner) expect(c byte) bool {
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonScanner) literal(s string) bool {
	p.skipSpace()
	if bytes.HasPrefix(p.data[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// int reads an integer, after any space.
func (p *jsonScanner) int() (int64, bool) {
	p.skipSpace()
	neg := p.i < len(p.data) && p.data[p.i] == '-'
	if neg {
		p.i++
	}
	start := p.i
	var n uint64
	for ; p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9'; p.i++ {
		if n > (math.MaxInt64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(p.data[p.i]-'0')
	}
	if p.i == start {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

func (p *jsonScanner) fail() error {
	return fmt.Errorf("histogram buckets: unexpected %q at byte %d; want [[index, count], ...]", p.data[p.i:min(p.i+10, len(p.data))], p.i)
}

type jsonPoint struct {
	Second  int     `json:"t"`
	OK      int64   `json:"ok"`
	Failed  int64   `json:"failed"`
	P50     jsonDur `json:"p50_ns"`
	P90     jsonDur `json:"p90_ns"`
	P99     jsonDur `json:"p99_ns"`
	Workers int     `json:"workers"`
	Started int64   `json:"started"`
	Dropped int64   `json:"dropped,omitempty"`
}

func toJSONLatency(l Latency, h *hist.Snapshot) *jsonLatency {
	j := &jsonLatency{Min: l.Min, Mean: l.Mean, P50: l.P50, P90: l.P90, P95: l.P95, P99: l.P99, P999: l.P999, Max: l.Max}
	if h != nil {
		jh := &jsonHist{Scheme: histScheme, Count: h.Count, Sum: h.Sum, Min: h.Min, Max: h.Max, Buckets: [][2]int64{}}
		for i, c := range h.Counts {
			if c != 0 {
				jh.Buckets = append(jh.Buckets, [2]int64{int64(i), c})
			}
		}
		j.Histogram = jh
	}
	return j
}

func (j *jsonLatency) latency() (Latency, *hist.Snapshot, error) {
	if j == nil {
		return Latency{}, nil, nil
	}
	l := Latency{Min: j.Min, Mean: j.Mean, P50: j.P50, P90: j.P90, P95: j.P95, P99: j.P99, P999: j.P999, Max: j.Max}
	if j.Histogram == nil {
		return l, nil, nil
	}
	jh := j.Histogram
	if jh.Scheme != histScheme {
		return l, nil, fmt.Errorf("histogram scheme %q is not %q; this result was written by another version of molotov-go", jh.Scheme, histScheme)
	}
	h := &hist.Snapshot{Count: jh.Count, Sum: jh.Sum, Min: jh.Min, Max: jh.Max, Counts: make([]int64, hist.NumBuckets)}
	var n int64
	for _, b := range jh.Buckets {
		if b[0] < 0 || b[0] >= hist.NumBuckets || b[1] < 0 {
			return l, nil, fmt.Errorf("histogram bucket [%d, %d] is out of range (index 0..%d, count >= 0)", b[0], b[1], hist.NumBuckets-1)
		}
		h.Counts[b[0]] += b[1]
		n += b[1]
	}
	if n != h.Count {
		return l, nil, fmt.Errorf("histogram count %d is not the sum of its buckets, %d", h.Count, n)
	}
	return l, h, nil
}

// WriteJSON writes the result as versioned JSON (schema
// "molotov-go/result", documented in docs/result-schema.md): options,
// times, counts, stop reason, thresholds, and per scenario and per request
// the latency percentiles and the histogram itself, so that results can be
// merged and re-analysed later; ReadResult reads it back.
func (r *Result) WriteJSON(w io.Writer) error {
	j := jsonResult{
		Schema: resultSchema, Version: resultVersion, Segment: r.Segment, Partial: r.Partial, Options: r.opts,
		Start: r.Start, End: r.End, Elapsed: r.Elapsed, StopReason: r.StopReason, Outcome: r.Outcome(), Passed: r.Passed(), OverBudget: r.overBudget(),
		Started: r.Started, OK: r.OK, Failed: r.Failed, Interrupted: r.Interrupted,
		Scheduled: r.Scheduled, Dropped: r.Dropped,
		SetupFailed: r.SetupFailed, MaxWorkers: r.MaxWorkers, SizingRatio: r.SizingRatio, SizingRate: r.SizingRate,
		MaxFailures: r.maxFailures, Errors: r.Errors,
		Scenarios: map[string]jsonScenario{}, Requests: map[string]jsonRequest{},
	}
	if r.all != nil {
		j.Latency = toJSONLatency(r.latency, r.all)
	}
	for _, t := range r.Thresholds {
		jt := jsonThreshold{Expr: t.Expr, Pass: t.Pass}
		if !math.IsNaN(t.Value) && !math.IsInf(t.Value, 0) {
			v := t.Value
			jt.Value = &v
		}
		j.Thresholds = append(j.Thresholds, jt)
	}
	for name, s := range r.Scenarios {
		js := jsonScenario{OK: s.OK, Failed: s.Failed, Interrupted: s.Interrupted, Latency: toJSONLatency(s.Latency, s.hist)}
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
		j.Requests[name] = jsonRequest{Count: q.Count, Errors: q.Errors, Status: status, Latency: toJSONLatency(q.Latency, q.hist)}
	}
	for _, p := range r.Timeline {
		j.Timeline = append(j.Timeline, jsonPoint{Second: p.Second, OK: p.OK, Failed: p.Failed, P50: p.P50, P90: p.P90, P99: p.P99, Workers: p.Workers,
			Started: p.Started, Dropped: p.Dropped})
	}
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false) // "p99 < 200ms", not "p99 \u003c 200ms": the file is never HTML
	if err := enc.Encode(j); err != nil {
		return err
	}
	return indentJSON(bufio.NewWriter(w), compact.Bytes())
}

// ErrResultFormat reports a JSON result that ReadResult cannot read: not a
// molotov-go result, a newer version, or inconsistent figures.
var ErrResultFormat = errors.New("molotov: not a readable molotov-go result")

// ReadResult reads a result written by WriteJSON. Everything WriteJSON
// wrote comes back, histograms included.
func ReadResult(r io.Reader) (*Result, error) {
	var j jsonResult
	dec := json.NewDecoder(r)
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResultFormat, err)
	}
	if j.Schema != resultSchema {
		return nil, fmt.Errorf("%w: schema %q, want %q (write results with Result.WriteJSON or -molotov.json)", ErrResultFormat, j.Schema, resultSchema)
	}
	if j.Version < 1 || j.Version > resultVersion {
		return nil, fmt.Errorf("%w: version %d; this molotov-go reads versions 1 to %d, upgrade it to read this result", ErrResultFormat, j.Version, resultVersion)
	}
	if _, err := parseCoverage(j.Segment); err != nil {
		return nil, fmt.Errorf("%w: segment %v", ErrResultFormat, err)
	}
	if j.Partial && j.Segment == "" {
		return nil, fmt.Errorf("%w: partial is true but segment is empty: a partial merge says which shares it covers", ErrResultFormat)
	}
	res := &Result{
		Segment: j.Segment, Partial: j.Partial,
		Started: j.Started, OK: j.OK, Failed: j.Failed, Interrupted: j.Interrupted,
		Scheduled: j.Scheduled, Dropped: j.Dropped,
		SetupFailed: j.SetupFailed, MaxWorkers: j.MaxWorkers, Elapsed: j.Elapsed,
		StopReason: j.StopReason, SizingRatio: j.SizingRatio, SizingRate: j.SizingRate, Errors: j.Errors,
		Start: j.Start, End: j.End, maxFailures: j.MaxFailures, opts: j.Options,
		Scenarios: make(map[string]*ScenarioStats, len(j.Scenarios)),
		Requests:  make(map[string]*RequestStats, len(j.Requests)),
	}
	var err error
	if j.Latency != nil {
		if res.latency, res.all, err = j.Latency.latency(); err != nil {
			return nil, fmt.Errorf("%w: run latency: %v", ErrResultFormat, err)
		}
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
		if st.Latency, st.hist, err = s.Latency.latency(); err != nil {
			return nil, fmt.Errorf("%w: scenario %q: %v", ErrResultFormat, name, err)
		}
		st.ServiceTime = st.Latency
		if s.ServiceTime != nil {
			if st.ServiceTime, st.serviceHist, err = s.ServiceTime.latency(); err != nil {
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
		if st.Latency, st.hist, err = q.Latency.latency(); err != nil {
			return nil, fmt.Errorf("%w: request %q: %v", ErrResultFormat, name, err)
		}
		res.Requests[name] = st
	}
	for _, p := range j.Timeline {
		res.Timeline = append(res.Timeline, TimelinePoint{Second: p.Second, OK: p.OK, Failed: p.Failed, P50: p.P50, P90: p.P90, P99: p.P99, Workers: p.Workers,
			Started: p.Started, Dropped: p.Dropped})
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
