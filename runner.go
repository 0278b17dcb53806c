package molotov

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	"go.uber.org/zap"
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
	// Workers of another size beside it is refused (a ConfigError).
	// The pool is set up (Setup, SetupSession) before the schedule's
	// first start: the run's clock, and Duration, start once it is, or at
	// StartAt.
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
	// --statsd does (names in docs/metrics.md). Sending never
	// slows the load: what the server cannot take is dropped and counted.
	// Flag: -molotov.statsd.
	Statsd           string
	MaxResponseBytes int64 // bodies beyond it fail with a clear error; zero: 64 MiB
	// MaxBufferedBytes bounds the bytes of response bodies read by all the
	// scenario runs in flight at once; a run whose body would pass it fails
	// with a *BufferLimitError. Zero: a quarter of the machine's memory.
	MaxBufferedBytes int64
	Seed             int64            // scenario picking is reproducible for a given seed; zero: random
	ConsoleUpdate    time.Duration    // live console refresh; zero: 200ms on a terminal, 5s otherwise
	Quiet            bool             // print nothing
	Verbose          int              // 1: each failure with its error, each distinct panic stack once at the end; 2: also requests and responses (secrets redacted)
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
	// Redact adds names to those whose values are hidden in the verbose
	// dumps and in the errors a run keeps (headers, URL query parameters,
	// JSON and form fields): a name is secret when it contains one of
	// these, or of key, token, secret, password, passwd, auth, session,
	// signature and credential, in any case. Flag: -molotov.redact (a
	// comma-separated list).
	Redact []string
	// ResultFile, when set, is where Run (or Run.Wait) writes the JSON
	// result at the end (see Result.WriteJSON). -molotov.json sets it.
	ResultFile string
	// Segment runs one share of a run split over n instances with no
	// coordinator: "i/n" is share i (from 0) of n; "auto" takes i from
	// JOB_COMPLETION_INDEX (set in each pod of a Kubernetes Indexed Job)
	// and n from MOLOTOV_SEGMENTS; empty: the whole run. Every other
	// option is the whole run's, and item k of the whole run (a worker,
	// the open model's start k) belongs to share k mod n, so the shares
	// add up to the run exactly: the workers (or MaxWorkers) split within
	// one of each other; MaxRuns and SingleRun stay per worker, so the
	// runs split with the workers; a load shape's workers split at every
	// moment; the open model's starts interleave into the whole run's
	// schedule. Worker numbers (Session.Worker, the fixtures' worker) are
	// the whole run's: share i has workers i, i+n, i+2n, …, on the whole
	// run's RampUp schedule. Scenario picking draws from a seed derived
	// from Seed and i. A share stops on its own share of MaxFailures (at
	// least 1), though its Result keeps the whole run's budget, and
	// decides Sizing on its own figures: the run's verdict comes from
	// merging the shares' results (docs/distributed.md). A share with
	// nothing to run (share 3 of 4 of a run of 2 workers) returns at once
	// with StopEmptySegment. Flag: -molotov.segment.
	Segment string
	// StartAt, when set, is when the run starts: GlobalSetup runs, then
	// the run waits until StartAt (or a stop or cancellation), and
	// Duration, the load shape and the open model's schedule count from
	// it, so that instances started apart start their load together. A
	// StartAt more than a second in the past, before GlobalSetup or
	// after it, is a *ConfigError. Result.Start is StartAt. Flag:
	// -molotov.start-at=2025-01-02T15:04:05Z (RFC 3339).
	StartAt time.Time

	summaryOff bool   // set by Test, which logs the summary itself
	list       bool   // -molotov.list: Test lists the scenarios instead of running them
	sizingRate bool   // Sizing with Rate: the Stages are the sizing ramp
	prometheus string // -molotov.prometheus: the address of a /metrics endpoint while the run lasts
	htmlFile   string // -molotov.html: where Wait writes the HTML report
	// globals, when set, holds the global fixtures of several runs (the
	// rounds of one Benchmark): GlobalSetup runs in the first run only,
	// and GlobalTeardown is left to the owner.
	globals *globalFixtures

	// onSchedule, for tests, is called with the intended time of each
	// start the open model schedules.
	onSchedule func(intended time.Time)
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
	if c.Sizing && c.SizingTolerance == 0 { // without Sizing it means nothing, and results do not record it
		c.SizingTolerance = DefaultSizingTolerance
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = defaultMaxBufferedBytes()
	}
	if c.Output == nil {
		c.Output = os.Stdout
	}
	return c
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
	if err := r.validatePool(); err != nil {
		return nil, err
	}
	cfg := r.withDefaults()
	snap := cfg.Registry.snapshot()
	if err := cfg.validate(&snap); err != nil {
		return nil, err
	}
	ts, err := parseThresholds(cfg.Thresholds, &snap, cfg.Rate > 0)
	if err != nil {
		return nil, err
	}
	sh, err := cfg.share()
	if err != nil {
		return nil, err
	}
	rs := newRunState(ctx, cfg, snap)
	rs.share, rs.seed = sh, sh.seg.Seed(rs.seed)
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
		rs.stats.sink = newStatsdSink(c, rs.stats.names, sh.seg)
	}
	if fx := snap.fixtures.globalSetup; fx != nil && !sh.empty() && !cfg.globals.isReady() {
		setupCtx := rs.ctx
		if g := cfg.globals; g != nil {
			setupCtx = g.context(ctx)
		}
		err := callFixture("GlobalSetup", -1, func() error { c := rs.cfg; return fx(setupCtx, &c) })
		if err != nil {
			if ctx.Err() != nil {
				return nil, &FixtureError{Fixture: "GlobalSetup", Worker: -1, Err: fmt.Errorf("%w (%w)", ErrSetupInterrupted, errors.Unwrap(err))}
			}
			return nil, err
		}
		cfg.globals.ready(rs)
		if err := cfg.validateStartAt(" once GlobalSetup ended"); err != nil {
			rs.globalTeardown()
			return nil, err
		}
	}
	if !sh.empty() {
		cfg.globals.ready(rs)
	}
	if snap.fixtures.globalSetup != nil && ctx.Err() != nil { // cancelled as GlobalSetup ended: no worker starts
		rs.globalTeardown()
		return nil, fmt.Errorf("molotov: %w: %w", ErrSetupInterrupted, context.Cause(ctx))
	}
	for _, out := range []struct{ path, field, set string }{ // GlobalSetup may have made their directories
		{cfg.ResultFile, "ResultFile", "Runner.ResultFile, -molotov.json"}, {cfg.htmlFile, "-molotov.html", "-molotov.html"},
	} {
		if out.path == "" {
			continue
		}
		if err := checkOutputDir(out.path); err != nil {
			rs.globalTeardown()
			return nil, configErr(out.field, "%v (%s)", err, out.set)
		}
	}
	rs.registerMetrics()
	rs.start = rs.startTime()
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

// wrote says on the run's console where the file of what (the JSON result,
// the HTML report) went, as an absolute path: under go test a relative
// one is the package's directory, not where the command was run. It
// returns err, and says nothing when the file was not written.
func (r *Run) wrote(what, path string, err error) error {
	if err == nil && !r.rs.cfg.Quiet {
		if abs, aerr := filepath.Abs(path); aerr == nil {
			path = abs
		}
		r.rs.console.Println("molotov: wrote the " + what + " to " + path)
	}
	return err
}

// Wait blocks until the run ended and returns its Result. With
// Runner.ResultFile set, it writes the JSON result there first, and with
// -molotov.html the HTML report; an error writing it is returned with the
// Result.
func (r *Run) Wait() (*Result, error) {
	<-r.done
	r.writeOnce.Do(func() {
		var errs []error
		if f := r.rs.cfg.ResultFile; f != "" {
			errs = append(errs, r.wrote("JSON result", f, writeResultFile(f, r.res)))
		}
		if f := r.rs.cfg.htmlFile; f != "" {
			errs = append(errs, r.wrote("HTML report", f, writeHTMLFile(f, r.res)))
		}
		r.writeErr = errors.Join(errs...)
	})
	return r.res, r.writeErr
}
