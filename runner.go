package molotov

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	"go.uber.org/zap"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/molotov-go/molotov/internal/statsd"
	"github.com/molotov-go/molotov/internal/tick"
)

// Runner runs the scenarios of a registry with a number of workers. Its
// zero value runs one worker over DefaultRegistry until the context is
// cancelled; set Duration or MaxRuns to bound it. Every field maps to a
// Molotov option and to a -molotov.* flag read by [Runner.Test].
//
// A Runner is not changed by running it and may be run again.
type Runner struct {
	Registry *Registry     // nil: DefaultRegistry
	BaseURL  string        // prefix of the paths that scenarios request; empty when they use absolute URLs
	Workers  int           // zero: 1 (Molotov -w)
	Duration time.Duration // zero: until MaxRuns, SingleRun or cancellation (Molotov -d)
	// Rate switches to the open model: scenario runs started per second,
	// across all workers, on a schedule computed from the run's start
	// (no drift). Zero: the closed model, each worker running as fast as
	// the target answers. See the package documentation, "Workload models".
	Rate float64
	// MaxWorkers is the open model's pool of sessions (workers, each with
	// its fixtures); zero: Workers when set, else enough for Rate × 1s.
	MaxWorkers int
	// MaxLag is how late a start may begin in the open model: one that
	// finds no free worker within MaxLag of its intended time is dropped
	// (Result.Dropped); zero: 1s.
	MaxLag time.Duration
	// Stages shape the load over time: workers (closed model) or a rate
	// of starts (open model) moving linearly from stage to stage, from
	// zero, like k6's ramping executors. The run lasts their total
	// (leave Duration zero). Flag: -molotov.stages=30s:10,1m:50,30s:0 or
	// 30s:100/s,1m:100/s.
	Stages          []Stage
	MaxRuns         int           // scenario runs per worker; zero: no limit (Molotov -r)
	RampUp          time.Duration // worker i starts after i×RampUp/Workers (Molotov --ramp-up)
	Delay           time.Duration // pause after every step of a worker (Molotov --delay)
	ExitOnFailure   bool          // stop at the first failure (Molotov -x)
	MaxFailures     int           // N>0: stop at N failures, and Test fails; zero: never stop for failures (Molotov -f)
	SingleMode      string        // run only this scenario (Molotov -s)
	SingleRun       bool          // each worker runs every scenario once, in name order (Molotov --single-run)
	Sizing          bool          // add workers until the failure ratio passes SizingTolerance (Molotov --sizing)
	SizingTolerance float64       // percent of failures per success over the last minute; zero: 5
	ForceShutdown   bool          // at a stop, cancel runs in flight at once (Molotov --force-shutdown)
	RequestTimeout  time.Duration // bounds a whole request, headers and body, to within 10ms; zero: 30s
	// InsecureSkipVerify turns off TLS certificate verification in the
	// sessions' own transports (not in a SessionConfig.Transport), for a
	// target with a self-signed certificate; the run logs a warning.
	// Verification is on by default. Flag: -molotov.insecure.
	InsecureSkipVerify bool
	// Statsd, when set, is a statsd server ("udp://127.0.0.1:8125",
	// "host:port") that receives per request a timing and a status
	// counter, and per scenario run an ok or failed counter, as Molotov's
	// --statsd does (names in the package documentation). Sending never
	// slows the load: what the server cannot take is dropped and counted.
	// Flag: -molotov.statsd.
	Statsd           string
	MaxResponseBytes int64            // bodies beyond it fail with a clear error; zero: 64 MiB
	Seed             int64            // scenario picking is reproducible for a given seed; zero: random
	ConsoleUpdate    time.Duration    // live console refresh; zero: 200ms on a terminal, 5s otherwise
	Quiet            bool             // print nothing
	Verbose          int              // 1: each failure with its error and panic stack; 2: also requests and responses (secrets redacted)
	Output           io.Writer        // console, and logs when Logger is nil; nil: os.Stdout
	Metrics          metrics.Registry // go-metrics registry fed during the run; nil: a fresh registry per run
	Logger           *zap.Logger      // nil: a console logger writing to Output, honouring Verbose
	// Thresholds are pass/fail rules checked at the end of the run, like
	// "p99 < 200ms" or "scenario(checkout).failure_rate < 1%" (see
	// ThresholdResult for the grammar). They are parsed before the run
	// starts: a malformed one is a *ThresholdError pointing at the bad
	// character. Result.Thresholds says how each fared; Test fails the test
	// for each broken one.
	Thresholds []string
	// ThresholdAbort checks the thresholds every second while the run goes
	// on, once 100 scenario runs ended, and stops the run (StopThreshold)
	// at the first that breaks, like k6's abortOnFail. Thresholds that only
	// a longer run can meet (ok > 1000: counts compared with >, >=, == or
	// !=) wait for the end.
	ThresholdAbort bool
	// ResultFile, when set, is where Run (or Run.Wait) writes the JSON
	// result at the end (see Result.WriteJSON). -molotov.json sets it.
	ResultFile string

	summaryOff bool   // set by Test, which logs the summary itself
	list       bool   // -molotov.list: Test lists the scenarios instead of running them
	sizingRate bool   // Sizing with Rate: the Stages are the sizing ramp
	prometheus string // -molotov.prometheus: the address of a /metrics endpoint while the run lasts
	htmlFile   string // -molotov.html: where Wait writes the HTML report
}

// Defaults applied to zero fields.
const (
	DefaultRequestTimeout   = 30 * time.Second
	DefaultMaxLag           = time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultSizingTolerance  = 5.0
	sizingWorkers           = 500             // Molotov's --sizing default for -w
	sizingRampUp            = 5 * time.Minute // Molotov's --sizing default for --ramp-up
)

// ConfigError reports a Runner option that cannot work, naming the field
// and how to fix it. Run returns it before anything starts.
type ConfigError struct {
	Field string // "Workers", "SingleMode", ... or "Registry"
	Msg   string
}

func (e *ConfigError) Error() string {
	return "molotov: bad configuration: " + e.Field + ": " + e.Msg
}

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// PanicError is the failure recorded when a scenario or a fixture panics.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

func newPanicError(v any) *PanicError {
	buf := make([]byte, 16<<10)
	buf = buf[:runtime.Stack(buf, false)]
	return &PanicError{Value: v, Stack: buf}
}

// withDefaults returns a copy with zero fields set to their defaults.
func (r *Runner) withDefaults() Runner {
	c := *r
	if c.Registry == nil {
		c.Registry = DefaultRegistry
	}
	if c.Sizing && c.Rate > 0 && len(c.Stages) == 0 {
		// Sizing by rate: ramp the rate from zero to Rate over RampUp and
		// stop where the failures (and dropped starts) pass the tolerance.
		// The ramp lasts RampUp, else Duration, else Molotov's 5 minutes.
		ramp := c.RampUp
		if ramp == 0 {
			ramp = c.Duration
		}
		if ramp == 0 {
			ramp = sizingRampUp
		}
		c.Stages, c.RampUp, c.sizingRate = []Stage{{Duration: ramp, Rate: c.Rate}}, 0, true
		if c.Duration > ramp { // then hold the top rate
			c.Stages = append(c.Stages, Stage{Duration: c.Duration - ramp, Rate: c.Rate})
		}
	}
	if len(c.Stages) > 0 {
		var total time.Duration
		var top float64
		open := stagesOpen(c.Stages)
		for _, st := range c.Stages {
			total += st.Duration
			if open {
				top = max(top, st.Rate)
			} else {
				top = max(top, float64(st.Workers))
			}
		}
		if c.Duration == 0 {
			c.Duration = total
		}
		if open {
			c.Rate = top // the open model's machinery, at the shape's highest rate
		} else if c.Rate == 0 {
			c.Workers = int(top) // the pool: the shape's most workers, whatever Workers says
		}
	}
	if c.Rate > 0 {
		if c.MaxLag == 0 {
			c.MaxLag = DefaultMaxLag
		}
		if c.MaxWorkers == 0 {
			c.MaxWorkers = c.Workers
			if c.MaxWorkers == 0 && c.Rate <= maxWorkers {
				c.MaxWorkers = max(1, int(math.Ceil(c.Rate))) // enough for Rate × 1s
			}
		}
		c.Workers = c.MaxWorkers // the pool: one worker per session
	}
	if c.Sizing && c.Rate == 0 {
		if c.Workers == 0 {
			c.Workers = sizingWorkers
		}
		if c.RampUp == 0 {
			c.RampUp = sizingRampUp
		}
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.SizingTolerance == 0 {
		c.SizingTolerance = DefaultSizingTolerance
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Output == nil {
		c.Output = os.Stdout
	}
	return c
}

// validate checks a defaulted copy against the registry's scenarios. A
// refusal is a *ConfigError naming the field, its value and what the field
// accepts; the ranges are those of the -molotov.* flags.
func (c *Runner) validate(snap *registrySnapshot) error {
	if err := c.validateOpen(); err != nil {
		return err
	}
	switch {
	case c.Workers < 0:
		return configErr("Workers", "is negative (%d); use 1 to %d workers (zero means 1, or %d with Sizing)", c.Workers, maxWorkers, sizingWorkers)
	case c.Workers > maxWorkers:
		return configErr("Workers", "is %d, above %d; use 1 to %d workers (each is a goroutine with its own HTTP client), or several processes for more", c.Workers, maxWorkers, maxWorkers)
	}
	for _, f := range []struct {
		name string
		v    time.Duration
		zero string // what zero means
	}{
		{"Duration", c.Duration, "zero: no time limit"},
		{"RampUp", c.RampUp, "zero: every worker starts at once; RampUp may be longer than Duration, then the workers due after Duration never start"},
		{"Delay", c.Delay, "zero: no pause"},
		{"RequestTimeout", c.RequestTimeout, fmt.Sprintf("zero means %v", DefaultRequestTimeout)},
		{"ConsoleUpdate", c.ConsoleUpdate, fmt.Sprintf("zero means 200ms on a terminal, 5s otherwise; else at least %v", minConsoleUpdate)},
	} {
		if f.v < 0 {
			return configErr(f.name, "is negative (%v); use a duration >= 0 (%s)", f.v, f.zero)
		}
	}
	for _, f := range []struct {
		name string
		v    int64
		zero string
	}{
		{"MaxRuns", int64(c.MaxRuns), "zero: no limit"},
		{"MaxFailures", int64(c.MaxFailures), "zero: never stop for failures"},
		{"MaxResponseBytes", c.MaxResponseBytes, fmt.Sprintf("zero means %d (64 MiB)", DefaultMaxResponseBytes)},
	} {
		if f.v < 0 {
			return configErr(f.name, "is negative (%d); use a number >= 0 (%s)", f.v, f.zero)
		}
	}
	if c.ConsoleUpdate > 0 && c.ConsoleUpdate < minConsoleUpdate {
		return configErr("ConsoleUpdate", "is %v, below %v; use zero (200ms on a terminal, 5s otherwise) or at least %v", c.ConsoleUpdate, minConsoleUpdate, minConsoleUpdate)
	}
	if c.Verbose < 0 || c.Verbose > maxVerbose {
		return configErr("Verbose", "is %d; use 0 (no detail), 1 (each failure with its error) or 2 (also requests and responses)", c.Verbose)
	}
	if t := c.SizingTolerance; math.IsNaN(t) || t < 0 || t > maxSizingTolerance {
		return configErr("SizingTolerance", "is %v; use a percentage of failures per success above 0 and at most %g (zero means %g)", t, maxSizingTolerance, DefaultSizingTolerance)
	}
	// Worker i starts after RampUp×i/Workers, computed in nanoseconds.
	if c.Workers > 1 && int64(c.RampUp) > math.MaxInt64/int64(c.Workers-1) {
		return configErr("RampUp", "is %v, too long to spread %d workers over; use at most %v", c.RampUp, c.Workers, time.Duration(math.MaxInt64/int64(c.Workers-1)))
	}
	if len(snap.scenarios) == 0 {
		return configErr("Registry", "no scenario registered; register one with molotov.Scenario (or Registry.Scenario and set Runner.Registry)")
	}
	if c.SingleMode != "" {
		if _, ok := snap.byName[c.SingleMode]; !ok {
			return configErr("SingleMode", "unknown scenario %q; registered scenarios: %s", c.SingleMode, strings.Join(scenarioNames(snap), ", "))
		}
		if c.SingleRun {
			return configErr("SingleMode", "cannot be combined with SingleRun; use one or the other")
		}
	}
	if c.SingleMode == "" && !c.SingleRun && snap.picker == nil && snap.totalWeight == 0 {
		return configErr("Registry", "every scenario has weight 0, so none can be picked; give one a positive weight, or use SingleMode or SingleRun")
	}
	// A worker pauses Delay plus the scenario's own Delay after a success.
	for _, s := range snap.scenarios {
		if s.delay > maxDuration-c.Delay {
			return configErr("Delay", "is %v, and with scenario %q's Delay(%v) the pause passes %v; use shorter delays", c.Delay, s.name, s.delay, maxDuration)
		}
	}
	if c.Quiet && c.Verbose > 0 {
		return configErr("Verbose", "Quiet and Verbose exclude each other; set only one")
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			return configErr("BaseURL", "%v", err)
		}
	}
	if c.Statsd != "" {
		if _, err := statsd.ParseAddress(c.Statsd); err != nil {
			return configErr("Statsd", "%v", err)
		}
	}
	if c.ResultFile != "" {
		if err := checkResultFile(c.ResultFile); err != nil {
			return configErr("ResultFile", "%v", err)
		}
	}
	if c.htmlFile != "" {
		if err := checkOutputFile(c.htmlFile, "report.html"); err != nil {
			return configErr("-molotov.html", "%v", err)
		}
	}
	return nil
}

// validateOpen checks the open model's options.
func (c *Runner) validateOpen() error {
	if len(c.Stages) > 0 {
		if _, err := validateStages(c.Stages); err != nil {
			return err
		}
		switch {
		case c.MaxRuns > 0 || c.SingleRun || (c.Sizing && !c.sizingRate) || c.RampUp > 0:
			return configErr("Stages", "shape the run by themselves: drop MaxRuns, SingleRun, Sizing and RampUp")
		case !stagesOpen(c.Stages) && c.Rate > 0:
			return configErr("Stages", "shape workers, but Rate is set too: give the stages rates (30s:100/s) for the open model, or drop Rate")
		case !stagesOpen(c.Stages) && stageMax(c.Stages) < 1:
			return configErr("Stages", "never go above zero workers or zero starts per second; give a stage Workers > 0 or Rate > 0")
		}
	}
	switch r := c.Rate; {
	case math.IsNaN(r) || math.IsInf(r, 0) || r < 0:
		return configErr("Rate", "is %v; use scenario runs started per second (> 0), or zero for the closed model", r)
	case r > maxRate:
		return configErr("Rate", "is %v, above %v; use at most %v starts per second, or several processes", r, float64(maxRate), float64(maxRate))
	case c.MaxWorkers < 0:
		return configErr("MaxWorkers", "is negative (%d); use the number of sessions of the open model, or zero for Workers (or Rate × 1s)", c.MaxWorkers)
	case c.MaxLag < 0:
		return configErr("MaxLag", "is negative (%v); use how late a start may begin, or zero for %v", c.MaxLag, DefaultMaxLag)
	case r == 0:
		return nil
	case c.MaxRuns > 0 || c.SingleRun:
		return configErr("Rate", "runs by Duration: MaxRuns and SingleRun belong to the closed model (Rate zero)")
	case c.RampUp > 0:
		return configErr("RampUp", "spreads worker starts in the closed model; with Rate the schedule sets the pace: drop RampUp")
	}
	return nil
}

// maxRate bounds Rate: far above what one process can start.
const maxRate = 1e6

// checkBaseURL accepts an http or https URL with a host, to which request
// paths are appended: so no query and no fragment.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q does not parse: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q needs an http:// or https:// scheme, for example http://127.0.0.1:8080", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host, for example http://127.0.0.1:8080", s)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#") {
		return fmt.Errorf("%q has a query or a fragment; request paths are appended to a base URL, so put the query in each request's URL", s)
	}
	return nil
}

func scenarioNames(snap *registrySnapshot) []string {
	names := make([]string, len(snap.scenarios))
	for i, s := range snap.scenarios {
		names[i] = s.name
	}
	return names
}

// Run runs the load test and blocks until it ends: when Duration elapsed,
// every worker did MaxRuns (or SingleRun) runs, a failure condition was
// met, sizing concluded, or ctx was cancelled. Teardowns always run.
//
// Run returns an error for a bad configuration (a *ConfigError) and for a
// failing GlobalSetup (a *FixtureError), and then no worker starts.
// Scenario failures, an unreachable target among them, are counted in the
// Result, not returned. Run never handles signals; cancel ctx instead.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	run, err := r.Start(ctx)
	if err != nil {
		return nil, err
	}
	return run.Wait()
}

// Run is a load test running in the background, started by
// [Runner.Start]: for a load phase inside an integration test.
type Run struct {
	rs   *runState
	done chan struct{}
	res  *Result

	writeOnce sync.Once // the JSON result is written by the first Wait
	writeErr  error
}

// Start validates the options, runs GlobalSetup and starts the workers in
// the background. It returns the same errors as Run, before any worker
// starts. Call Wait to collect the Result; cancelling ctx cancels the run.
func (r *Runner) Start(ctx context.Context) (*Run, error) {
	cfg := r.withDefaults()
	snap := cfg.Registry.snapshot()
	if err := cfg.validate(&snap); err != nil {
		return nil, err
	}
	ts, err := parseThresholds(cfg.Thresholds, &snap)
	if err != nil {
		return nil, err
	}
	rs := newRunState(ctx, cfg, snap)
	rs.thresholds = ts
	if cfg.Rate > 0 {
		rs.open = rs.newOpenSchedule()
		rs.stats.open = true
	} else if len(cfg.Stages) > 0 {
		rs.gate = newWorkerGate()
	}
	if cfg.InsecureSkipVerify {
		rs.logger.Warn("TLS certificate verification is OFF (Runner.InsecureSkipVerify, -molotov.insecure): any server can answer for the target; use it only against a target you control")
	}
	run := &Run{rs: rs, done: make(chan struct{})}
	// On any way out other than a started run (an error, or a Goexit in
	// GlobalSetup: t.FailNow), release what was set up.
	stopExporters := func() {}
	started := false
	defer func() {
		if !started {
			stopExporters()
			if rs.statsd != nil {
				rs.statsd.Close(time.Second)
			}
			rs.cancel()
		}
	}()
	// What can fail without the user's code comes before GlobalSetup, so
	// that no failure skips a GlobalTeardown.
	if cfg.Statsd != "" {
		c, err := statsdDial(cfg.Statsd)
		if err != nil {
			return nil, configErr("Statsd", "%v", err)
		}
		rs.statsd = c
		rs.stats.sink = newStatsdSink(c, rs.stats.names)
	}
	if fx := snap.fixtures.globalSetup; fx != nil {
		err := callFixture("GlobalSetup", -1, func() error { c := rs.cfg; return fx(rs.ctx, &c) })
		if err != nil {
			return nil, err
		}
	}
	rs.registerMetrics()
	rs.start = time.Now()
	// Exporters read the run's figures, so they start once its clock has.
	if cfg.prometheus != "" {
		stop, err := startExporters(run, map[string]string{"prometheus": cfg.prometheus})
		if err != nil {
			rs.globalTeardown()
			return nil, err
		}
		stopExporters = stop
	}
	started = true
	go func() {
		defer close(run.done)
		run.res = rs.run()
		stopExporters()
	}()
	return run, nil
}

// Snapshot returns the figures measured so far; safe to call at any time.
func (r *Run) Snapshot() *Result {
	select {
	case <-r.done:
		return r.res
	default:
	}
	return r.rs.result()
}

// Stop stops starting new scenario runs, as when Duration is reached. Runs
// in flight get RequestTimeout to finish before their context is
// cancelled (at once with ForceShutdown). It returns at once; call Wait
// for the Result.
func (r *Run) Stop() { r.rs.stop(StopStopped) }

// Wait blocks until the run ended and returns its Result. With
// Runner.ResultFile set, it writes the JSON result there first, and with
// -molotov.html the HTML report; an error writing it is returned with the
// Result.
func (r *Run) Wait() (*Result, error) {
	<-r.done
	r.writeOnce.Do(func() {
		if f := r.rs.cfg.ResultFile; f != "" {
			r.writeErr = writeResultFile(f, r.res)
		}
		if f := r.rs.cfg.htmlFile; f != "" && r.writeErr == nil {
			r.writeErr = writeHTMLFile(f, r.res)
		}
	})
	return r.res, r.writeErr
}

// runState is one run: options, registry snapshot, live figures and the
// stop controller.
type runState struct {
	cfg         Runner
	snap        registrySnapshot
	stats       *runStats
	logger      *zap.Logger
	console     *console.Console
	metrics     metrics.Registry
	hasHandlers bool
	cumWeights  []int // cumulative weights in name order, for picking
	seed        uint64

	ctx    context.Context // cancelled at a cancel, or at a stop with ForceShutdown
	cancel context.CancelFunc
	parent context.Context // the caller's ctx, for teardown contexts

	stopMu     sync.Mutex
	stopReason StopReason
	stopCh     chan struct{} // closed at the first stop: no new scenario run starts
	grace      *time.Timer   // cancels runs still in flight RequestTimeout after a stop
	sessions   sessionSet    // the workers' sessions, whose requests the run's clock times out

	sizing     *sizer
	thresholds []*threshold
	statsd     *statsd.Client // Runner.Statsd; nil: none
	open       *openSchedule  // Runner.Rate; nil: the closed model
	gate       *workerGate    // closed-model Stages: which workers may run; nil: all
	start      time.Time
	elapsed    atomic.Int64 // nanoseconds, set once every worker ended
	wg         sync.WaitGroup
}

func newRunState(ctx context.Context, cfg Runner, snap registrySnapshot) *runState {
	rctx, cancel := context.WithCancel(ctx)
	rs := &runState{
		cfg: cfg, snap: snap, stats: newRunStats(snap.scenarios),
		ctx: rctx, cancel: cancel, parent: ctx, stopCh: make(chan struct{}),
		hasHandlers: len(snap.handlers) > 0,
	}
	rs.seed = uint64(cfg.Seed)
	if rs.seed == 0 {
		rs.seed = rand.Uint64()
	}
	sum := 0
	for _, s := range snap.scenarios {
		sum += s.weight
		rs.cumWeights = append(rs.cumWeights, sum)
	}
	terminal := console.IsTerminal(cfg.Output)
	out := cfg.Output
	if cfg.Quiet {
		out = io.Discard
	}
	rs.console = console.New(out, terminal)
	rs.logger = newLogger(cfg, rs.console)
	rs.metrics = cfg.Metrics
	if rs.metrics == nil {
		rs.metrics = metrics.NewRegistry()
	}
	rs.stats.onOther = func() {
		rs.logger.Warn("more than 1000 distinct request names; further names are counted under \"other\": name requests with molotov.WithRequestName")
	}
	if cfg.Sizing {
		rs.sizing = &sizer{tolerance: cfg.SizingTolerance}
	}
	return rs
}

// stop closes the gate for new scenario runs, recording the first reason.
// With ForceShutdown it also cancels the runs in flight.
func (rs *runState) stop(reason StopReason) {
	rs.stopMu.Lock()
	defer rs.stopMu.Unlock()
	if rs.stopReason != "" {
		return
	}
	rs.stopReason = reason
	close(rs.stopCh)
	if rs.cfg.ForceShutdown {
		rs.cancel()
	} else {
		// Runs in flight get RequestTimeout to finish, then are cancelled.
		rs.grace = time.AfterFunc(rs.cfg.RequestTimeout, rs.cancel)
	}
}

func (rs *runState) stopping() bool {
	select {
	case <-rs.stopCh:
		return true
	default:
		return false
	}
}

func (rs *runState) reason() StopReason {
	rs.stopMu.Lock()
	defer rs.stopMu.Unlock()
	return rs.stopReason
}

// run drives the whole run after GlobalSetup and returns its Result.
func (rs *runState) run() *Result {
	cfg := &rs.cfg
	defer rs.cancel()

	// A cancel of the caller's ctx is a stop too, with its own reason.
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-rs.ctx.Done():
			if rs.parent.Err() != nil {
				rs.stop(StopCancelled)
			}
		case <-rs.stopCh:
		}
	}()
	defer func() { <-watched }()
	defer rs.cancel()
	stopLive := rs.startConsole()
	stopEvents := rs.startWorkerEvents()
	tl := newTimeline(rs)
	stopClock := rs.startClock(tl)
	defer stopClock() // a second call is a no-op: for a Goexit in between

	if rs.open != nil {
		go rs.schedule(rs.open)
	}
	if rs.gate != nil {
		stopShape := rs.shapeWorkers()
		defer stopShape()
	}
	allDone := make(chan struct{})
	for i := 0; i < cfg.Workers; i++ {
		var delay time.Duration
		if cfg.RampUp > 0 {
			delay = time.Duration(int64(cfg.RampUp) * int64(i) / int64(cfg.Workers))
		}
		rs.wg.Add(1)
		w := &worker{rs: rs, id: i, delay: delay}
		go w.start()
	}
	go func() { rs.wg.Wait(); close(allDone) }()
	<-allDone
	rs.elapsed.Store(int64(time.Since(rs.start)))
	stopClock()
	timeline := tl.finish()
	defer func() {
		rs.stopMu.Lock()
		if rs.grace != nil {
			rs.grace.Stop()
		}
		rs.stopMu.Unlock()
	}()

	// Every worker ended by itself: MaxRuns, SingleRun, or all setups failed.
	if rs.reason() == "" {
		switch {
		case rs.parent.Err() != nil:
			rs.stop(StopCancelled)
		case rs.stats.setupFailed.Load() == int64(cfg.Workers):
			rs.stop(StopSetupFailed)
		case cfg.SingleRun:
			rs.stop(StopSingleRun)
		default:
			rs.stop(StopMaxRuns)
		}
	}
	if rs.open != nil {
		rs.open.drain(rs) // after the stop: the scheduler has returned
	}
	stopEvents()
	stopLive()
	if rs.statsd != nil {
		if err := rs.statsd.Close(time.Second); err != nil {
			rs.logger.Warn("statsd", zap.Error(err))
		} else if n := rs.statsd.Dropped(); n > 0 {
			rs.logger.Warn("statsd: metrics dropped: the statsd server did not keep up", zap.Int64("dropped", n), zap.Int64("sent", rs.statsd.Sent()))
		}
	}

	rs.globalTeardown()
	res := rs.result()
	res.End = res.Start.Add(res.Elapsed)
	res.Timeline = timeline
	res.Thresholds = checkThresholds(rs.thresholds, res)
	if !cfg.Quiet && !cfg.summaryOff {
		console.WriteSummary(rs.console, summaryOf(res))
	}
	return res
}

func (rs *runState) result() *Result { return rs.resultWith(nil) }

// resultWith is result with the request latencies that withLatency
// accepts (see runStats.resultWith).
func (rs *runState) resultWith(withLatency func(name string) bool) *Result {
	res := rs.stats.resultWith(withLatency)
	res.maxFailures = rs.cfg.MaxFailures
	res.opts = optionsOf(&rs.cfg)
	res.Start = rs.start.Round(0).UTC()
	res.StopReason = rs.reason()
	if e := rs.elapsed.Load(); e > 0 {
		res.Elapsed = time.Duration(e)
	} else {
		res.Elapsed = time.Since(rs.start)
	}
	if rs.sizing != nil {
		if w, ratio, ok := rs.sizing.reached(); ok {
			res.MaxWorkers = w
			res.SizingRatio = ratio
			if rs.cfg.sizingRate {
				rs.sizing.mu.Lock()
				res.SizingRate = rs.sizing.rate
				rs.sizing.mu.Unlock()
			}
		}
	}
	return res
}

// globalTeardown runs the GlobalTeardown fixture, if any.
func (rs *runState) globalTeardown() {
	if fx := rs.snap.fixtures.globalTeardown; fx != nil {
		ctx, cancel := rs.teardownContext()
		err := callFixture("GlobalTeardown", -1, func() error { fx(ctx); return nil })
		cancel()
		if err != nil {
			rs.logger.Error("fixture failed", zap.Error(err))
		}
	}
}

// teardownContext returns a context that the run's stop does not cancel,
// bounded so a stuck teardown cannot hold the run forever.
func (rs *runState) teardownContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(rs.parent), rs.cfg.RequestTimeout)
}

// sleep waits d, or less when the run stops. It reports whether the full
// delay passed.
func (rs *runState) sleep(t **time.Timer, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	select {
	case <-(*t).C:
		return true
	case <-rs.stopCh:
		(*t).Stop()
		return false
	case <-rs.ctx.Done():
		(*t).Stop()
		return false
	}
}

// choose picks the scenario of a worker's step: SingleMode's, the
// ScenarioPicker's, or a draw by weight.
func (rs *runState) choose(worker, step int, rng *rand.Rand) (*scenario, error) {
	switch {
	case rs.cfg.SingleMode != "":
		return rs.snap.byName[rs.cfg.SingleMode], nil
	case rs.snap.picker != nil:
		return rs.pickWith(worker, step)
	}
	return rs.pick(rng), nil
}

// pick draws a scenario by weight.
func (rs *runState) pick(rng *rand.Rand) *scenario {
	if len(rs.snap.scenarios) == 1 { // the common load test of one scenario needs no draw
		return rs.snap.scenarios[0]
	}
	x := rng.IntN(rs.snap.totalWeight)
	i := sort.SearchInts(rs.cumWeights, x+1)
	return rs.snap.scenarios[i]
}

// pickWith asks the user's picker; a panic or an unknown name is a
// failure of that step.
func (rs *runState) pickWith(worker, step int) (sc *scenario, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("molotov: ScenarioPicker panicked: %w", newPanicError(p))
		}
	}()
	name := rs.snap.picker(worker, step)
	if sc, ok := rs.snap.byName[name]; ok {
		return sc, nil
	}
	return nil, fmt.Errorf("molotov: ScenarioPicker returned unknown scenario %q; return one of: %s",
		name, strings.Join(scenarioNames(&rs.snap), ", "))
}

// runScenario runs the scenario run that its worker prepared in s.run
// and records it; s.run.ok then reports its success. The latency is
// measured from the run's intended start, in the open model, and the
// service time from its actual start.
//
// The scenario is called from here, under the one deferred call that both
// recovers its panic and counts a runtime.Goexit. This frame stays on the
// worker's stack while the scenario waits for the target, so it is kept
// small: the run's record lives in the session, and what the worker's
// stack holds decides whether it fits the runtime's smallest stack size
// that grows (see worker).
func (rs *runState) runScenario(s *Session) {
	defer s.endRun()
	r := &s.run
	if !r.picked {
		return
	}
	if rs.hasHandlers { // the scenario's name is only read for events
		rs.scenarioStarting(s)
	}
	r.start = time.Since(s.t0)
	r.called = true
	r.err = r.sc.fn(r.ctx, s)
	r.returned = true
}

// endRun is runScenario's deferred call: it recovers a panic of the
// scenario and records the run.
func (s *Session) endRun() {
	s.run.ok = s.rs.endRun(&s.run, recover())
}

// scenarioStarting marks the session's scenario and sends ScenarioStart;
// never inlined, to keep runScenario's frame small.
//
//go:noinline
func (rs *runState) scenarioStarting(s *Session) {
	s.scenario.Store(s.run.sc)
	rs.emitScenario(ScenarioStart, s, s.run.sc.name, nil)
}

// emitScenario sends a ScenarioStart, ScenarioSuccess or ScenarioFailure
// event; never inlined, for the reason emitRequest gives.
//
//go:noinline
func (rs *runState) emitScenario(kind EventKind, s *Session, name string, err error) {
	rs.emit(Event{Kind: kind, Time: time.Now(), Worker: s.Worker, Scenario: name, Err: err})
}

// scenarioRun is one scenario run: prepared by its worker, run by
// runScenario, recorded by endRun.
type scenarioRun struct {
	ctx      context.Context
	s        *Session
	sc       *scenario
	err      error         // the scenario's error, or the picker's
	picked   bool          // sc was picked: no picker error
	start    time.Duration // since the session's t0
	open     bool          // a run of the open model, due at intended
	intended time.Duration // the open model's intended start, since t0 (negative when due before the session existed)
	called   bool          // the scenario function was called
	returned bool          // and returned: not a panic, not a Goexit
	ok       bool          // the run succeeded, as endRun recorded it
}

// endRun records a scenario run and reports its success. It runs deferred
// by runScenario: p is what recover returned there. A run that neither
// returned nor panicked was ended by runtime.Goexit (t.FailNow, require)
// in the scenario or a ScenarioStart handler: it is counted as a failure,
// and the Goexit goes on ending the worker.
func (rs *runState) endRun(r *scenarioRun, p any) bool {
	s, sc, picked := r.s, r.sc, r.picked
	if !r.returned && p == nil && picked {
		if s.gx != nil {
			s.gx.phase = "" // counted here as a failed run, not as a failed worker
		}
		rs.stats.scenarios[sc.index].failed.Add(1)
		rs.stats.failed.Add(1)
		rs.stats.errs.add(errGoexit)
		return false
	}
	if p != nil {
		if !r.called || r.returned {
			panic(p) // not the scenario's but the runner's own bug: re-raised while its frames are still on the stack, so the crash shows where
		}
		r.err = newPanicError(p)
	}
	name, err := "", r.err
	if picked {
		name = sc.name
		d := time.Since(s.t0) - r.start
		s.endScenario()
		if rs.hasHandlers {
			s.scenario.Store(nil)
		}
		st := rs.stats.scenarios[sc.index]
		if r.open {
			st.service.Record(d)
			d = time.Since(s.t0) - r.intended // from when the run was due: coordinated omission corrected
		}
		st.lat.Record(d)
		if err != nil {
			st.failed.Add(1)
		} else {
			st.ok.Add(1)
		}
		if sink := rs.stats.sink; sink != nil {
			sink.scenario(sc.index, err == nil)
		}
	}
	if err == nil {
		rs.stats.ok.Add(1)
		if rs.hasHandlers {
			rs.emitScenario(ScenarioSuccess, s, name, nil)
		}
		rs.observeSizing(false)
		return true
	}
	failed := rs.stats.failed.Add(1)
	interrupted := false
	// Interrupted: the run's context ended, and the error says so, either
	// as its error or as its cause (net/http returns the cause).
	if ce := r.ctx.Err(); ce != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ce) || errors.Is(err, context.Cause(r.ctx))) {
		rs.stats.interrupted.Add(1)
		if picked {
			rs.stats.scenarios[sc.index].interrupted.Add(1)
		}
		interrupted = true
	}
	rs.stats.errs.add(err)
	if rs.hasHandlers {
		rs.emitScenario(ScenarioFailure, s, name, err)
	}
	if rs.cfg.Verbose >= 1 {
		rs.reportFailure(s, name, err)
	}
	if interrupted { // the run cancelled it: not the target's failure
		return false
	}
	switch {
	case rs.cfg.ExitOnFailure:
		rs.stop(StopFailure)
	case rs.cfg.MaxFailures > 0 && failed >= int64(rs.cfg.MaxFailures):
		rs.stop(StopMaxFailures)
	}
	rs.observeSizing(true)
	return false
}

// reportFailure prints a failure under Verbose >= 1: on the console in
// Molotov's style, with the stack of a panic, or to the user's Logger.
func (rs *runState) reportFailure(s *Session, name string, err error) {
	var pe *PanicError
	isPanic := errors.As(err, &pe)
	if rs.cfg.Logger != nil {
		fields := []zap.Field{zap.Int("worker", s.Worker), zap.String("scenario", name), zap.Int("step", s.step), zap.Error(err)}
		if isPanic {
			fields = append(fields, zap.ByteString("stack", pe.Stack))
		}
		rs.logger.Info("scenario failed", fields...)
		return
	}
	line := fmt.Sprintf("[W:%d] Failure! scenario %q, step %d: %v", s.Worker, name, s.step, err)
	if isPanic {
		line += "\n" + strings.TrimRight(string(pe.Stack), "\n")
	}
	rs.console.Println(line)
}

var errGoexitWorker = errors.New("molotov: worker ended by runtime.Goexit (t.FailNow or require in a fixture, an event handler or the ScenarioPicker?); return an error instead")

var errGoexit = errors.New("molotov: scenario run ended by runtime.Goexit (t.FailNow or require in a scenario or event handler?); return an error instead")

// emit sends ev to every handler; a panicking handler is logged, never
// fatal.
func (rs *runState) emit(ev Event) {
	for _, h := range rs.snap.handlers {
		func() {
			defer func() {
				if p := recover(); p != nil {
					rs.logger.Error("event handler panicked", zap.Stringer("event", ev.Kind), zap.Any("panic", p))
				}
			}()
			h(ev)
		}()
	}
}

// startWorkerEvents emits CurrentWorkers every second while handlers
// listen. The returned func stops it and waits for its goroutine.
func (rs *runState) startWorkerEvents() func() {
	if !rs.hasHandlers {
		return func() {}
	}
	return tick.Start(time.Second, func() { // no runtime timer pending (see internal/tick)
		rs.emit(Event{Kind: CurrentWorkers, Time: time.Now(), Worker: -1, Workers: int(rs.stats.active.Load())})
	})
}

// sizer implements Molotov's sizing: over a one-minute window, once at
// least 100 runs are in, a ratio FAILED/OK×100 above the tolerance stops
// the run and records the worker count reached.
type sizer struct {
	tolerance float64

	mu          sync.Mutex
	windowStart time.Time
	ok, failed  int64
	done        bool
	workers     int
	ratio       float64
	rate        float64 // Sizing with Rate: the rate of starts when the tolerance was passed
}

func (rs *runState) observeSizing(failed bool) {
	z := rs.sizing
	if z == nil {
		return
	}
	z.mu.Lock()
	now := time.Now()
	if z.windowStart.IsZero() || now.Sub(z.windowStart) > time.Minute {
		z.windowStart, z.ok, z.failed = now, 0, 0
	}
	if failed {
		z.failed++
	} else {
		z.ok++
	}
	hit := false
	if !z.done && z.ok+z.failed >= 100 {
		ratio := float64(z.failed) * 100 // Molotov divides by zero here; count OK as 1
		if z.ok > 0 {
			ratio = float64(z.failed) / float64(z.ok) * 100
		}
		if ratio > z.tolerance {
			z.done, z.workers, z.ratio, hit = true, int(rs.stats.active.Load()), ratio, true
			if rs.cfg.sizingRate {
				z.rate = stageTarget(rs.cfg.Stages, time.Since(rs.start), true)
			}
		}
	}
	z.mu.Unlock()
	if hit {
		rs.stop(StopSizing)
	}
}

func (z *sizer) reached() (workers int, ratio float64, ok bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.workers, z.ratio, z.done
}
