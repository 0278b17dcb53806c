package molotov

import (
	"errors"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/redact"
)

// StopReason says why a run stopped.
type StopReason string

// The reasons a run stops.
const (
	StopDuration    StopReason = "duration"     // Runner.Duration elapsed
	StopMaxRuns     StopReason = "max-runs"     // every worker did Runner.MaxRuns runs
	StopSingleRun   StopReason = "single-run"   // every worker ran every scenario once
	StopFailure     StopReason = "failure"      // Runner.ExitOnFailure and a failure
	StopMaxFailures StopReason = "max-failures" // Runner.MaxFailures reached
	StopSizing      StopReason = "sizing"       // Runner.Sizing found the failure tolerance
	StopStopped     StopReason = "stopped"      // Run.Stop was called
	StopCancelled   StopReason = "cancelled"    // the run's context was cancelled (or a signal under Runner.Test)
	StopSetupFailed StopReason = "setup-failed" // every worker ended because its Setup or SetupSession failed
	StopThreshold   StopReason = "threshold"    // Runner.ThresholdAbort and a threshold broke during the run
)

// Result is what a run measured. Counting is exact: every scenario run that
// started is counted once, as OK or Failed, whatever stopped the run.
type Result struct {
	Started, OK, Failed int64                     // Started == OK + Failed once the run ended
	SetupFailed         int                       // workers whose Setup or SetupSession failed
	MaxWorkers          int                       // most workers active at once (with Sizing: the count when the tolerance was passed)
	Elapsed             time.Duration             // from the first worker's start to the end of the last
	StopReason          StopReason                // empty while the run goes on
	Scenarios           map[string]*ScenarioStats // every registered scenario, even one that never ran
	Requests            map[string]*RequestStats  // keyed by request name, "GET /items"
	Errors              []ErrorCount              // distinct failure errors, most frequent first, at most 100
	// SizingRatio is the failure ratio, in percent of successes (Molotov's
	// FAILED/OK×100 over the last minute), that stopped a Sizing run.
	SizingRatio float64
	// SizingRate is the rate of starts, per second, at which a Sizing run
	// in the open model (Sizing with Rate) passed its tolerance; zero
	// otherwise.
	SizingRate float64
	// Interrupted counts the failed runs that failed because the run
	// cancelled them: at a cancel, at a stop with ForceShutdown, or when
	// the RequestTimeout of grace after a stop ran out. They
	// are part of Failed; Runner.Test does not hold them against the
	// target.
	Interrupted int64
	// Scheduled and Dropped count the open model's starts (Runner.Rate):
	// Scheduled == Started + Dropped once the run ended. A start is
	// dropped when no worker could take it within Runner.MaxLag of its
	// intended time, or when a stop cut the run short (Run.Stop, a cancel,
	// ThresholdAbort) before it began. Both are zero in the closed model.
	Scheduled, Dropped int64
	// PeakBusy is the open model's most workers running a start at once:
	// how much of its pool (MaxWorkers) the load needed, stalls included.
	// Far below MaxWorkers, a pool a little above it serves the same load
	// with fewer sessions. Zero in the closed model.
	PeakBusy int
	// StartLag is how late each start of the open model began against its
	// intended time: the scheduler's and the worker pool's own delay,
	// which every scenario's Latency includes and its ServiceTime leaves
	// out. A p99 of a few hundred microseconds is the generator keeping
	// its promise; milliseconds mean it is short of CPU or of workers.
	// The zero value in the closed model.
	StartLag Latency
	// CPU is the CPU time, user and system, that the whole process used
	// from the run's time zero to its end: the load generator, and
	// whatever else the process runs (an httptest server, other tests).
	// Procs is GOMAXPROCS at time zero. CPUBusy relates the two. Both
	// are zero while the run goes on, and where the platform does not
	// tell (Windows).
	CPU   time.Duration
	Procs int
	// Connections counts the connections that the sessions opened by the
	// end of the run, set-up fixtures included: dials that succeeded, one
	// per TCP connection (to the proxy, through one; a TLS handshake rides
	// on its dial; HTTP/2 shares one connection among requests). With
	// keep-alive a session opens one per host and reuses it. About one per
	// request costs the generator and the target a dial (and a handshake)
	// each: the target closes its connections (Connection: close),
	// scenarios close bodies before reading them to their end, or a
	// session sends more requests at once than its transport keeps open.
	// Sessions on a SessionConfig.Transport of their own are not counted.
	Connections int64
	// Thresholds lists every Runner.Threshold with its measured value and
	// verdict, in the order given; empty while the run goes on.
	Thresholds []ThresholdResult
	// Start and End are when the first worker started and the last one
	// ended (End is zero while the run goes on), in UTC.
	Start, End time.Time
	// Timeline has one point per second of the run (the last may cover
	// less), for plotting; empty in snapshots of a run in progress. Second
	// k covers [Start+(k-1)s, Start+k s).
	Timeline []TimelinePoint
	// Segment is the share of the run that the result covers: "i/n" for
	// share i of n (Runner.Segment), "a-b,c/n" for a partial merge of
	// shares a to b and c; "" for the whole run, run at once or merged
	// from all its shares (see Merge).
	Segment string
	// Partial marks a merge that lacked some of the run's shares
	// (MergePartial): its figures are those of the shares in Segment only.
	Partial bool

	latency     Latency        // of every scenario run, all scenarios merged
	all         *hist.Snapshot // the histogram behind latency
	startLag    *hist.Snapshot // the histogram behind StartLag; nil in the closed model
	maxFailures int            // Runner.MaxFailures, for Passed
	opts        *runOptions    // the options the run ran with, for the JSON result
	shares      []shareRow     // a merge's: one row per share merged, by share; nil otherwise
	// refused counts the failures (runs and setups) from refused
	// connections, and refusedHosts names where they went (see refusals).
	refused      int64
	refusedHosts []string
}

// TimelinePoint is one second of a run: the scenario runs that started and
// ended in it, the latency of those that ended, and the workers active at
// its end.
type TimelinePoint struct {
	Second        int           // 1 for the first second of the run
	OK            int64         // scenario runs that succeeded in this second
	Failed        int64         // scenario runs that failed in this second
	P50, P90, P99 time.Duration // latency of the scenario runs that ended in this second
	Workers       int           // workers active at the end of the second
	Busy          int           // the open model: most workers running a start at once in the second
	Started       int64         // scenario runs that started in this second
	// Dropped counts the open model's starts dropped in this second for
	// want of a free worker; starts still waiting when a stop cut the run
	// short count in Result.Dropped only.
	Dropped int64
	// Connections counts the connections opened in this second (the first
	// second also has those opened while the workers were set up).
	Connections int64
}

// requestCount returns the requests of all names.
func (r *Result) requestCount() int64 {
	var n int64
	for _, q := range r.Requests {
		n += q.Count
	}
	return n
}

// ErrorCount is one distinct error and how many scenario runs failed with
// it. Addresses' ephemeral ports are normalised so that the same cause is
// counted once.
type ErrorCount struct {
	Error string
	Count int64
}

// ScenarioStats is what one scenario measured.
type ScenarioStats struct {
	OK, Failed  int64
	Interrupted int64   // failed runs that the run itself cancelled (part of Failed), as Result.Interrupted
	Latency     Latency // of every run, successful or not; in the open model from its intended start
	// ServiceTime is the latency from each run's actual start: in the
	// open model it leaves out the time a run waited for a free worker
	// (Latency minus ServiceTime is the queueing); Latency itself in the
	// closed model.
	ServiceTime Latency

	hist        *hist.Snapshot // the histogram behind Latency, kept for the JSON result
	serviceHist *hist.Snapshot // the histogram behind ServiceTime in the open model; nil in the closed one
}

// RequestStats is what one request name measured. A request is counted
// when its response body is read to its end or closed, or when it failed
// without a response.
type RequestStats struct {
	Count   int64         // requests made
	Errors  int64         // requests without a complete response: connection errors, timeouts, body read errors
	Status  map[int]int64 // responses by status code
	Latency Latency       // from sending the request to the end of its body

	hist *hist.Snapshot // the histogram behind Latency, kept for the JSON result
}

// Latency summarises a latency histogram. Percentiles are within 0.4% of
// the exact order statistic.
type Latency struct {
	Min, Mean, P50, P90, P95, P99, P999, Max time.Duration
}

// FailureRate returns Failed / (OK + Failed), or 0 when nothing ran.
func (r *Result) FailureRate() float64 {
	if n := r.OK + r.Failed; n > 0 {
		return float64(r.Failed) / float64(n)
	}
	return 0
}

func latencyOf(s *hist.Snapshot) Latency {
	if s.Count == 0 {
		return Latency{}
	}
	return Latency{
		Min: s.Min, Mean: s.Mean(), Max: s.Max,
		P50: s.Quantile(0.5), P90: s.Quantile(0.9), P95: s.Quantile(0.95),
		P99: s.Quantile(0.99), P999: s.Quantile(0.999),
	}
}

// maxRequestNames bounds the distinct request names of a run; further
// names are counted under otherRequests.
const (
	maxRequestNames = 1000
	otherRequests   = "other"
	maxErrorKinds   = 1000
	maxErrorsShown  = 100
)

// runStats is the live record of a run. Counters are atomics; latencies go
// to lock-free histograms shared by all workers, one per scenario and one
// per request name, so memory grows with names, never with workers.
type runStats struct {
	started, ok, failed atomic.Int64
	scheduled, dropped  atomic.Int64 // the open model's starts
	open                bool         // Runner.Rate: latencies from the intended start, service times beside
	active              gauge        // workers set up and running (or waiting for a start)
	busy                gauge        // the open model's workers running a start
	setupFailed         atomic.Int64
	interrupted         atomic.Int64
	conns               atomic.Int64 // connections the sessions' own transports opened (countDials)

	startLag hist.Histogram // the open model's starts: how late each began

	scenarios []*scenarioStats // indexed like registrySnapshot.scenarios
	picker    scenarioStats    // the steps the ScenarioPicker failed, as PickerScenario
	names     []string

	reqs         sync.Map // name → *requestStats
	reqMu        sync.Mutex
	reqCount     int
	onOther      func()                             // called once when names overflow into "other"
	onNewRequest func(name string, r *requestStats) // called under reqMu for each new name

	errs errorCounter

	sink *statsdSink // Runner.Statsd; nil: none
}

type scenarioStats struct {
	ok, failed, interrupted atomic.Int64
	lat                     hist.Histogram
	service                 hist.Histogram // the open model only: from the actual start
}

type requestStats struct {
	name   string
	sink   *statsdSink // nil: no statsd
	statsd atomic.Pointer[requestNames]
	errors atomic.Int64
	status [600]atomic.Int64 // by code, 100 to 599
	lat    hist.Histogram

	oddMu sync.Mutex
	odd   map[int]int64 // statuses outside 100-599 that servers sent (rare)
}

// newRunStats returns the figures of a run of these scenarios, whose
// errors are kept with the secrets that rules name hidden.
func newRunStats(scenarios []*scenario, rules *redact.Rules) *runStats {
	st := &runStats{scenarios: make([]*scenarioStats, len(scenarios)), names: make([]string, len(scenarios))}
	st.errs.rules = rules
	for i, s := range scenarios {
		st.scenarios[i] = &scenarioStats{}
		st.names[i] = s.name
	}
	return st
}

// request returns the stats for a request name, creating them on first use.
func (st *runStats) request(name string) *requestStats {
	if v, ok := st.reqs.Load(name); ok {
		return v.(*requestStats)
	}
	st.reqMu.Lock()
	defer st.reqMu.Unlock()
	if v, ok := st.reqs.Load(name); ok {
		return v.(*requestStats)
	}
	if st.reqCount >= maxRequestNames {
		if st.onOther != nil {
			st.onOther()
			st.onOther = nil
		}
		name = otherRequests
		if v, ok := st.reqs.Load(name); ok {
			return v.(*requestStats)
		}
	}
	r := &requestStats{name: name, sink: st.sink}
	st.reqs.Store(name, r)
	st.reqCount++
	if st.onNewRequest != nil {
		st.onNewRequest(name, r)
	}
	return r
}

// record counts one request. Its count is the latency histogram's, and the
// run's total is summed over names when read: two atomics fewer per request.
func (r *requestStats) record(d time.Duration, status int, failed bool) {
	if r.sink != nil {
		r.sink.request(r, d, status)
	}
	if failed {
		r.errors.Add(1)
	}
	switch {
	case status >= 100 && status < len(r.status):
		r.status[status].Add(1)
	case status != 0:
		r.addOdd(status)
	}
	r.lat.Record(d)
}

// recordOdd records a response whose status is outside 100-599, as the
// server sent it (0 for "000"): an error of the request.
func (r *requestStats) recordOdd(d time.Duration, status int) {
	r.addOdd(status)
	r.record(d, 0, true)
}

func (r *requestStats) addOdd(status int) {
	r.oddMu.Lock()
	defer r.oddMu.Unlock()
	if r.odd == nil {
		r.odd = map[int]int64{}
	}
	r.odd[status]++
}

func (r *requestStats) result() *RequestStats {
	h := r.lat.Snapshot()
	out := &RequestStats{Count: h.Count, Errors: r.errors.Load(), Status: map[int]int64{}, hist: h}
	for code := range r.status {
		if n := r.status[code].Load(); n > 0 {
			out.Status[code] = n
		}
	}
	r.oddMu.Lock()
	for code, n := range r.odd {
		out.Status[code] += n
	}
	r.oddMu.Unlock()
	out.Latency = latencyOf(h)
	return out
}

// gauge counts what is in use, and keeps the most in use at once: over
// the run, and since the timeline's last point.
type gauge struct {
	n, peak, second atomic.Int64
}

// add counts one more in use.
func (g *gauge) add() {
	n := g.n.Add(1)
	raise(&g.peak, n)
	raise(&g.second, n)
}

// done counts one less in use.
func (g *gauge) done() { g.n.Add(-1) }

// load returns how many are in use.
func (g *gauge) load() int64 { return g.n.Load() }

// nextSecond returns the most in use at once since its last call, and
// starts the next second's count from those in use now.
func (g *gauge) nextSecond() int64 { return g.second.Swap(g.n.Load()) }

// raise sets m to n if n is more.
func raise(m *atomic.Int64, n int64) {
	for {
		v := m.Load()
		if n <= v || m.CompareAndSwap(v, n) {
			return
		}
	}
}

// requestTotal returns the number of requests of the run so far, summed
// over request names.
func (st *runStats) requestTotal() int64 {
	var n int64
	st.reqs.Range(func(_, v any) bool {
		n += v.(*requestStats).lat.Count()
		return true
	})
	return n
}

// resultWith builds a Result from the live figures; it is safe while the
// run goes on (a snapshot) and exact once it ended. It gives the latency
// of only the request names that withLatency accepts (nil: every name);
// the others have their counts only.
// Reading a histogram copies its 38 KB, which a live check every second
// of a run with many request names should not pay for names it ignores.
func (st *runStats) resultWith(withLatency func(name string) bool) *Result {
	res := &Result{
		OK:          st.ok.Load(),
		Failed:      st.failed.Load(),
		SetupFailed: int(st.setupFailed.Load()),
		Interrupted: st.interrupted.Load(),
		MaxWorkers:  int(st.active.peak.Load()),
		PeakBusy:    int(st.busy.peak.Load()),
		Connections: st.conns.Load(),
		Scenarios:   make(map[string]*ScenarioStats, len(st.scenarios)),
		Requests:    map[string]*RequestStats{},
	}
	res.Dropped = st.dropped.Load()
	res.Scheduled = st.scheduled.Load()
	// Started is read after OK and Failed: a run in flight is then counted
	// in Started but not yet in OK or Failed, never the other way round.
	res.Started = st.started.Load()
	all := &hist.Snapshot{}
	for i, s := range st.scenarios {
		snap := s.lat.Snapshot()
		all.Merge(snap)
		sc := &ScenarioStats{OK: s.ok.Load(), Failed: s.failed.Load(), Interrupted: s.interrupted.Load(), Latency: latencyOf(snap), hist: snap}
		sc.ServiceTime = sc.Latency
		if st.open {
			sc.serviceHist = s.service.Snapshot()
			sc.ServiceTime = latencyOf(sc.serviceHist)
		}
		res.Scenarios[st.names[i]] = sc
	}
	if n := st.picker.failed.Load(); n > 0 {
		res.Scenarios[PickerScenario] = &ScenarioStats{Failed: n}
	}
	res.latency, res.all = latencyOf(all), all
	if st.open {
		res.startLag = st.startLag.Snapshot()
		res.StartLag = latencyOf(res.startLag)
	}
	st.reqs.Range(func(k, v any) bool {
		r := v.(*requestStats)
		if withLatency == nil || withLatency(k.(string)) {
			res.Requests[k.(string)] = r.result()
		} else {
			res.Requests[k.(string)] = &RequestStats{Count: r.lat.Count(), Errors: r.errors.Load()}
		}
		return true
	})
	res.Errors = st.errs.top(maxErrorsShown)
	return res
}

// errorCounter counts distinct failure errors. Failures are the rare path,
// so a mutex is fine here.
// errorCounter counts errors by message, with the secrets of the URLs in
// them hidden by rules (nil: redact's default words), so that no query
// token reaches the summary or the JSON result.
type errorCounter struct {
	rules  *redact.Rules
	mu     sync.Mutex
	counts map[string]int64
	other  int64
}

// ephemeral matches the local end of a connection in net errors
// ("read tcp 127.0.0.1:53412->127.0.0.1:8080"), which differs per
// connection and would split one cause into many.
var ephemeral = regexp.MustCompile(`(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.%a-z]+\]):\d+->`)

// query matches the query of a URL in an error's message, whose values
// differ per request (a search term, a page, a cache buster) where its
// path does not: a request's stats name leaves the query out. It ends at
// a space, a quote, a fragment, or the ": " that follows the URL in a
// message.
var query = regexp.MustCompile(`\bhttps?://[^\s"?#]*\?(?:[^\s"#:]|:[^\s"])*`)

// elideQueryValues writes each value of the query of the URL u as "…":
// "/search?q=shoes&page=2" becomes "/search?q=…&page=…", which still
// says which parameters the request had.
func elideQueryValues(u string) string {
	path, q, _ := strings.Cut(u, "?")
	params := strings.Split(q, "&")
	for i, p := range params {
		if k, _, ok := strings.Cut(p, "="); ok {
			params[i] = k + "=…"
		}
	}
	return path + "?" + strings.Join(params, "&")
}

// normalise returns the line that counts err: a named request's errors
// under its name (WithRequestName), every URL without its query's values
// (?q=…), and no connection's local port, so that one cause is one line.
func (c *errorCounter) normalise(err error) string {
	msg := err.Error()
	var ue *url.Error
	var ne *namedError
	if errors.As(err, &ue) && errors.As(ue.Err, &ne) {
		// Get "http://h/items/7": cause → GET /items/{id}: cause
		msg = strings.Replace(msg, ue.Op+" "+strconv.Quote(ue.URL), ne.name, 1)
	}
	msg = query.ReplaceAllStringFunc(msg, elideQueryValues)
	return c.rules.Text(ephemeral.ReplaceAllString(msg, ""))
}

func (c *errorCounter) add(err error) {
	msg := c.normalise(err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[string]int64)
	}
	if _, ok := c.counts[msg]; !ok && len(c.counts) >= maxErrorKinds {
		c.other++
		return
	}
	c.counts[msg]++
}

func (c *errorCounter) top(n int) []ErrorCount {
	c.mu.Lock()
	out := make([]ErrorCount, 0, len(c.counts)+1)
	for msg, k := range c.counts {
		out = append(out, ErrorCount{Error: msg, Count: k})
	}
	if c.other > 0 {
		out = append(out, ErrorCount{Error: "(other errors)", Count: c.other})
	}
	c.mu.Unlock()
	return mostFrequent(out, n)
}

// mostFrequent sorts errors most frequent first, then by message, and
// keeps the first n.
func mostFrequent(out []ErrorCount, n int) []ErrorCount {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Error < out[j].Error
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
