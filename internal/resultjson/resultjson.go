// Package resultjson is the codec of the JSON result (schema
// "molotov-go/result", documented in docs/result-schema.md): its types,
// field by field, and how they are written and read. The root package
// converts a Result to and from a File; the HTML report reads a File.
package resultjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Schema and Version identify the format. A reader refuses a newer
// version; a change that old readers would misread bumps it.
const (
	Schema  = "molotov-go/result"
	Version = 1
	// HistScheme names the histogram bucket layout of internal/hist: 256
	// one-nanosecond buckets, then 128 sub-buckets per power of two.
	HistScheme = "log-linear-128/v1"
)

// File is a JSON result.
type File struct {
	Schema     string        `json:"schema"`
	Version    int           `json:"version"`
	Segment    string        `json:"segment,omitempty"`
	Partial    bool          `json:"partial,omitempty"`
	Options    *Options      `json:"options,omitempty"`
	Start      time.Time     `json:"start"`
	End        time.Time     `json:"end"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	StopReason string        `json:"stop_reason"`
	Outcome    string        `json:"outcome"`
	Passed     bool          `json:"passed"`
	// OverBudget says whether the failures are more than the run allows
	// (Result.Outcome's rule), for readers that explain the verdict.
	OverBudget  bool                `json:"failures_over_budget"`
	Started     int64               `json:"started"`
	OK          int64               `json:"ok"`
	Failed      int64               `json:"failed"`
	Interrupted int64               `json:"interrupted"`
	Scheduled   int64               `json:"scheduled,omitempty"`
	Dropped     int64               `json:"dropped,omitempty"`
	SetupFailed int                 `json:"setup_failed"`
	MaxWorkers  int                 `json:"max_workers"`
	PeakBusy    int                 `json:"peak_busy,omitempty"` // the open model only
	CPU         time.Duration       `json:"cpu_ns,omitempty"`    // the process's, from time zero to the end
	Procs       int                 `json:"procs,omitempty"`     // GOMAXPROCS
	Connections int64               `json:"connections,omitempty"`
	SizingRatio float64             `json:"sizing_ratio,omitempty"`
	SizingRate  float64             `json:"sizing_rate,omitempty"`
	MaxFailures int                 `json:"max_failures_allowed,omitempty"`
	Latency     *Latency            `json:"latency,omitempty"`
	StartLag    *Latency            `json:"start_lag,omitempty"` // the open model only
	Thresholds  []Threshold         `json:"thresholds,omitempty"`
	Errors      []Error             `json:"errors,omitempty"`
	Scenarios   map[string]Scenario `json:"scenarios"`
	Requests    map[string]Request  `json:"requests"`
	Timeline    []Point             `json:"timeline,omitempty"`
	Shares      []Share             `json:"shares,omitempty"` // a merge's, one row per share
}

// Options are the Runner options a result records.
type Options struct {
	Workers          int           `json:"workers"`
	Duration         time.Duration `json:"duration_ns,omitempty"`
	MaxRuns          int           `json:"max_runs,omitempty"`
	RampUp           time.Duration `json:"ramp_up_ns,omitempty"`
	Delay            time.Duration `json:"delay_ns,omitempty"`
	ExitOnFailure    bool          `json:"exit_on_failure,omitempty"`
	MaxFailures      int           `json:"max_failures,omitempty"`
	SingleMode       string        `json:"single_mode,omitempty"`
	SingleRun        bool          `json:"single_run,omitempty"`
	Sizing           bool          `json:"sizing,omitempty"`
	SizingTolerance  float64       `json:"sizing_tolerance,omitempty"`
	ForceShutdown    bool          `json:"force_shutdown,omitempty"`
	RequestTimeout   time.Duration `json:"request_timeout_ns"`
	MaxResponseBytes int64         `json:"max_response_bytes"`
	Seed             int64         `json:"seed,omitempty"`
	BaseURL          string        `json:"base_url,omitempty"` // passwords redacted
	Thresholds       []string      `json:"thresholds,omitempty"`
	Rate             float64       `json:"rate,omitempty"`
	MaxWorkers       int           `json:"max_workers,omitempty"`
	MaxLag           time.Duration `json:"max_lag_ns,omitempty"`
	Stages           []Stage       `json:"stages,omitempty"`
	// StartAt is Runner.StartAt (RFC 3339, UTC): the shares of one run
	// share it, so it tells their results from those of another run.
	StartAt string `json:"start_at,omitempty"`
}

// Stage is a stage of Options.Stages.
type Stage struct {
	Duration time.Duration `json:"duration_ns"`
	Workers  int           `json:"workers,omitempty"`
	Rate     float64       `json:"rate,omitempty"`
}

// String writes a stage as -molotov.stages does: "30s:10", "1m0s:100/s".
func (s Stage) String() string {
	if s.Rate > 0 {
		return s.Duration.String() + ":" + strconv.FormatFloat(s.Rate, 'f', -1, 64) + "/s"
	}
	return s.Duration.String() + ":" + strconv.Itoa(s.Workers)
}

// Threshold is a threshold's verdict.
type Threshold struct {
	Expr  string   `json:"expr"`
	Value *float64 `json:"value"` // null when nothing was measured
	Pass  bool     `json:"pass"`
}

// Error is one error message and how many times it came.
type Error struct {
	Error string
	Count int64
}

// Scenario is a scenario's figures.
type Scenario struct {
	OK          int64    `json:"ok"`
	Failed      int64    `json:"failed"`
	Interrupted int64    `json:"interrupted,omitempty"`
	Latency     *Latency `json:"latency"`
	ServiceTime *Latency `json:"service_time,omitempty"` // the open model only
}

// Request is a request name's figures.
type Request struct {
	Count   int64            `json:"count"`
	Errors  int64            `json:"errors"`
	Status  map[string]int64 `json:"status"`
	Latency *Latency         `json:"latency"`
}

// Latency is a latency summary and the histogram it was read from.
type Latency struct {
	Min       time.Duration `json:"min_ns"`
	Mean      time.Duration `json:"mean_ns"`
	P50       time.Duration `json:"p50_ns"`
	P90       time.Duration `json:"p90_ns"`
	P95       time.Duration `json:"p95_ns"`
	P99       time.Duration `json:"p99_ns"`
	P999      time.Duration `json:"p999_ns"`
	Max       time.Duration `json:"max_ns"`
	Histogram *Hist         `json:"histogram,omitempty"`
}

// Hist is a histogram, lossless: its non-empty buckets as [index, count]
// pairs.
type Hist struct {
	Scheme  string        `json:"scheme"`
	Count   int64         `json:"count"`
	Sum     int64         `json:"sum_ns"`
	Min     time.Duration `json:"min_ns"`
	Max     time.Duration `json:"max_ns"`
	Buckets Buckets       `json:"buckets"`
}

// Buckets are a histogram's non-empty buckets as [index, count]
// pairs. They are most of a result's bytes, so they are read and written
// by hand rather than through reflection.
type Buckets [][2]int64

func (b Buckets) MarshalJSON() ([]byte, error) {
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

func (b *Buckets) UnmarshalJSON(data []byte) error {
	p := scanner{data: data}
	if p.literal("null") {
		*b = nil
		return nil
	}
	out := make(Buckets, 0, bytes.Count(data, []byte("],")))
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

// scanner reads the tokens of a JSON value by hand.
type scanner struct {
	data []byte
	i    int
}

func (p *scanner) skipSpace() {
	for p.i < len(p.data) && (p.data[p.i] == ' ' || p.data[p.i] == '\n' || p.data[p.i] == '\t' || p.data[p.i] == '\r') {
		p.i++
	}
}

// expect consumes c, after any space, if it comes next.
func (p *scanner) expect(c byte) bool {
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) literal(s string) bool {
	p.skipSpace()
	if bytes.HasPrefix(p.data[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// int reads an integer, after any space.
func (p *scanner) int() (int64, bool) {
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

func (p *scanner) fail() error {
	return fmt.Errorf("histogram buckets: unexpected %q at byte %d; want [[index, count], ...]", p.data[p.i:min(p.i+10, len(p.data))], p.i)
}

// Point is a second of the timeline.
type Point struct {
	Second      int           `json:"t"`
	OK          int64         `json:"ok"`
	Failed      int64         `json:"failed"`
	P50         time.Duration `json:"p50_ns"`
	P90         time.Duration `json:"p90_ns"`
	P99         time.Duration `json:"p99_ns"`
	Workers     int           `json:"workers"`
	Busy        int           `json:"busy,omitempty"` // the open model only
	Started     int64         `json:"started"`
	Dropped     int64         `json:"dropped,omitempty"`
	Connections int64         `json:"connections,omitempty"`
}

// Share is one share of a merged run as the share's own result had it: a
// row of the merged result's table of shares. A row is a few dozen bytes:
// a merge of a thousand shares keeps a thousand.
type Share struct {
	Segment     string        `json:"segment"` // "i/n"
	Start       time.Time     `json:"start"`
	End         time.Time     `json:"end"`
	Started     int64         `json:"started"`
	OK          int64         `json:"ok"`
	Failed      int64         `json:"failed"`
	Interrupted int64         `json:"interrupted"`
	Scheduled   int64         `json:"scheduled,omitempty"`
	Dropped     int64         `json:"dropped,omitempty"`
	MaxWorkers  int           `json:"max_workers"`
	PeakBusy    int           `json:"peak_busy,omitempty"`
	CPU         time.Duration `json:"cpu_ns,omitempty"`
	Procs       int           `json:"procs,omitempty"`
	StopReason  string        `json:"stop_reason"`
	Outcome     string        `json:"outcome"` // as the share judged itself
}

// Encode writes f, indented, with arrays of numbers (a histogram's
// buckets) kept on one line, and without HTML escaping: a threshold reads
// "p99 < 200ms" as written.
func Encode(w io.Writer, f *File) error {
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return err
	}
	return indentJSON(bufio.NewWriter(w), compact.Bytes())
}

// Decode reads a File and checks that it is a result this package reads:
// its schema, and a version it knows.
func Decode(r io.Reader) (*File, error) {
	var f File
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, err
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("schema %q, want %q (write results with Result.WriteJSON or -molotov.json)", f.Schema, Schema)
	}
	if f.Version < 1 || f.Version > Version {
		return nil, fmt.Errorf("version %d; this molotov-go reads versions 1 to %d, upgrade it to read this result", f.Version, Version)
	}
	return &f, nil
}
