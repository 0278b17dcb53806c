package molotov

import (
	"github.com/molotov-go/molotov/internal/redact"
	"github.com/molotov-go/molotov/internal/threshold"

	"context"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/molotov-go/molotov/internal/statsd"
	"github.com/molotov-go/molotov/internal/tick"
	metrics "github.com/rcrowley/go-metrics"
	"go.uber.org/zap"
)

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
	share       share // Runner.Segment: what this instance runs

	ctx    context.Context // cancelled at a cancel, or at a stop with ForceShutdown
	cancel context.CancelFunc
	parent context.Context // the caller's ctx, for teardown contexts

	stopMu     sync.Mutex
	stopReason StopReason
	stopCh     chan struct{} // closed at the first stop: no new scenario run starts
	grace      *time.Timer   // cancels runs still in flight RequestTimeout after a stop
	sessions   sessionSet    // the workers' sessions, whose requests the run's clock times out
	clock      runClock      // the run's clock (see startClock)
	buffers    bufferBudget  // Runner.MaxBufferedBytes

	sizing     *sizer
	thresholds []*threshold.Threshold
	statsd     *statsd.Client // Runner.Statsd; nil: none
	open       *openSchedule  // Runner.Rate; nil: the closed model
	gate       *workerGate    // closed-model Stages: which workers may run; nil: all
	start      time.Time      // the run's time zero; moved once (setStart) while a Snapshot may read it
	startMu    sync.Mutex     // guards start against Snapshot while setStart moves it
	elapsed    atomic.Int64   // nanoseconds, set once every worker ended
	cpu        cpuMeter       // the process's CPU time from time zero to the end
	wg         sync.WaitGroup // the workers
	setups     sync.WaitGroup // the open model's workers still setting up

	refused   refusals    // failures from refused connections, to tell a target that is down
	panics    panicStacks // distinct panic stacks, printed once at the end under Verbose 1
	setupSeen sync.Map    // setup errors logged once already, by message
}

func newRunState(ctx context.Context, cfg Runner, snap registrySnapshot) *runState {
	rctx, cancel := context.WithCancel(ctx)
	rs := &runState{
		cfg: cfg, snap: snap, stats: newRunStats(snap.scenarios, redact.New(cfg.Redact...)),
		ctx: rctx, cancel: cancel, parent: ctx, stopCh: make(chan struct{}),
		hasHandlers: len(snap.handlers) > 0,
	}
	rs.buffers.limit = cfg.MaxBufferedBytes
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

// startWorkers starts the share's workers, each after its ramp-up delay.
func (rs *runState) startWorkers() {
	for j := 0; j < rs.share.workers; j++ {
		id := rs.share.seg.Item(j) // the whole run's worker number
		var delay time.Duration
		if rs.cfg.RampUp > 0 {
			delay = time.Duration(int64(rs.cfg.RampUp) * int64(id) / int64(rs.cfg.Workers))
		}
		rs.wg.Add(1)
		if rs.open != nil {
			rs.setups.Add(1)
		}
		w := &worker{rs: rs, id: id, delay: delay}
		go w.start()
	}
}

// setStart moves the run's time zero to t. Only the goroutines started
// after it read rs.start without startMu.
func (rs *runState) setStart(t time.Time) {
	rs.startMu.Lock()
	defer rs.startMu.Unlock()
	rs.start = t
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
	if rs.open != nil {
		// The open model's workers are set up before its time zero, so
		// that the schedule's first starts find them ready rather than
		// queue behind the set-ups (as k6's pre-allocated VUs). Without
		// StartAt the run's clock starts once they are.
		rs.startWorkers()
		rs.setups.Wait()
		if cfg.StartAt.IsZero() {
			rs.setStart(time.Now())
		}
	}
	rs.await() // Runner.StartAt; an empty share stops here
	rs.cpu.begin()
	stopLive := rs.startConsole()
	stopEvents := rs.startWorkerEvents()
	tl := newTimeline(rs)
	stopClock := rs.startClock(tl)
	defer stopClock() // a second call is a no-op: for a Goexit in between

	if rs.open != nil {
		go rs.schedule(rs.open)
	} else {
		rs.startWorkers()
	}
	if rs.gate != nil {
		stopShape := rs.shapeWorkers()
		defer stopShape()
	}
	allDone := make(chan struct{})
	go func() { rs.wg.Wait(); close(allDone) }()
	<-allDone
	rs.elapsed.Store(int64(time.Since(rs.start)))
	rs.cpu.end()
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
		case rs.stats.setupFailed.Load() == int64(rs.share.workers):
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
	if cfg.Verbose >= 1 {
		rs.reportPanics()
	}
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
	res.CPU, res.Procs = rs.cpu.used()
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
	res.maxFailures = rs.cfg.MaxFailures // the whole run's budget: the share only stops on its own
	res.opts = optionsOf(&rs.cfg)
	if !rs.share.seg.Whole() {
		res.Segment = rs.share.seg.String()
	}
	rs.startMu.Lock()
	start := rs.start
	rs.startMu.Unlock()
	res.Start = start.Round(0).UTC()
	res.refused, res.refusedHosts = rs.refused.figures()
	res.StopReason = rs.reason()
	if e := rs.elapsed.Load(); e > 0 {
		res.Elapsed = time.Duration(e)
	} else {
		res.Elapsed = max(time.Since(start), 0) // zero while waiting for StartAt
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

// globalTeardown runs the GlobalTeardown fixture, if any, unless the
// run's share was empty (and GlobalSetup did not run).
func (rs *runState) globalTeardown() {
	if rs.cfg.globals != nil {
		return // the owner of the shared fixtures tears them down after its last run
	}
	if fx := rs.snap.fixtures.globalTeardown; fx != nil && !rs.share.empty() {
		callGlobalTeardown(fx, rs.parent, rs.cfg.RequestTimeout, rs.logger)
	}
}

// callGlobalTeardown runs fx, a GlobalTeardown, with a context that the
// cancellation of parent does not reach, bounded by timeout so that a
// stuck teardown cannot hold on forever, and logs its failure.
func callGlobalTeardown(fx func(context.Context), parent context.Context, timeout time.Duration, logger *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), timeout)
	defer cancel()
	if err := callFixture("GlobalTeardown", -1, func() error { fx(ctx); return nil }); err != nil {
		logger.Error("fixture failed", zap.Error(err))
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

// emit sends ev to every handler; a panicking handler is logged, never
// fatal. A handler that calls runtime.Goexit ends the goroutine it runs
// on, and is logged on the way out: on a worker's goroutine the worker
// goes on (worker.end), and a Goexit during a scenario run fails that run.
func (rs *runState) emit(ev Event) {
	for _, h := range rs.snap.handlers {
		func() {
			returned := false
			defer func() {
				if p := recover(); p != nil {
					rs.logger.Error("event handler panicked", zap.Stringer("event", ev.Kind), zap.Any("panic", p))
				} else if !returned {
					rs.logger.Error("event handler ended by runtime.Goexit (t.FailNow or require?); return instead", zap.Stringer("event", ev.Kind))
				}
			}()
			h(ev)
			returned = true
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
		rs.emit(Event{Kind: CurrentWorkers, Time: time.Now(), Worker: -1, Workers: int(rs.stats.active.load())})
	})
}
