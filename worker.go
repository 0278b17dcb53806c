package molotov

import (
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// A worker runs on two goroutines, one after the other. The first sets the
// worker up (its ramp-up delay, Setup, its session, SetupSession) and runs
// its first scenario; the second, started as the first ends, runs the
// loop of scenario runs and then the teardowns.
//
// Why two: a goroutine's stack grows to fit the deepest call it ever made
// and shrinks only once less than a quarter of it is in use, which a
// worker waiting on the target never reaches. The set-up and the first
// request go deepest (the fixtures' own work; dialling and the transport's
// first use). Left on one goroutine, they would size the stack of every
// worker for the whole run: twice what the loop needs for a small
// scenario, and every GC cycle scans those stacks. The loop's goroutine
// starts with a small stack that grows only as far as the loop goes.
// The same reason keeps the loop's state here, on the heap, rather than
// in its frame.
type worker struct {
	rs    *runState
	id    int
	delay time.Duration // ramp-up: the wait before setting up
	s     *Session
	timer *time.Timer // the delay between runs
	rng   *rand.Rand
	step  int  // the closed loop's last step
	over  bool // the loop returned: only the teardowns are left

	// What exit undoes, marked as each is set up.
	active          bool // counted in the active workers
	teardown        bool // the Teardown fixture is due
	teardownSession bool // the TeardownSession fixture is due
}

// User code that calls runtime.Goexit (t.FailNow, testify's require) ends
// the goroutine it runs on, and nothing can stop that once it started.
// The fixtures therefore run on goroutines of their own (callFixture),
// which turns a Goexit into an error. Scenarios, the ScenarioPicker and
// event handlers run on the worker's goroutine, where a goroutine per
// call would cost every request: each counts its own Goexit where it
// happens (endRun, pickWith, emit), and end carries the worker on, with
// the same session, on a fresh goroutine.

// start is the body of the worker's first goroutine: set-up and the first
// run. When the loop goes on, it hands the worker to a fresh goroutine and
// returns; otherwise (stopped, a failed set-up, a last run) it tears the
// worker down itself.
func (w *worker) start() {
	if w.rs.open != nil {
		defer w.rs.setups.Done() // last: set up and waiting for starts, or torn down
	}
	handOff := false
	defer func() {
		if !handOff {
			w.end()
		}
	}()
	if !w.begin() {
		w.over = true
		return
	}
	handOff = true
	w.goLoop() // nothing here touches w after this: it belongs to the loop's goroutine now
}

// goLoop runs the worker's loop on a fresh goroutine, from its next step.
// The goroutine's function is a closure without arguments, so the go
// statement adds no wrapper frame under it.
func (w *worker) goLoop() {
	if w.rs.open != nil {
		go func() {
			defer w.end()
			w.rs.openLoop(w.rs.ctx, w.s, w.rs.open)
			w.over = true
		}()
		return
	}
	go func() {
		defer w.end()
		for w.pick() {
			w.rs.runScenario(w.s)
			if !w.pause() {
				break
			}
		}
		w.over = true
	}()
}

// end runs as the worker's goroutine ends. When the loop is over, it tears
// the worker down; when user code ended the goroutine with runtime.Goexit
// (counted where it happened), the worker goes on, after its pause, on a
// fresh goroutine.
func (w *worker) end() {
	if !w.over && (w.rs.open != nil || w.pause()) {
		w.goLoop()
		return
	}
	w.exit()
}

// begin sets the worker up and, in the closed model, runs its first step.
// It reports whether the loop goes on, on a fresh goroutine.
func (w *worker) begin() bool {
	rs := w.rs
	if !rs.sleep(&w.timer, w.delay) || rs.stopping() || rs.ctx.Err() != nil {
		return false // stopped during ramp-up: this worker never started
	}
	rs.stats.active.add()
	w.active = true
	fx := &rs.snap.fixtures
	w.teardown = fx.teardown != nil
	s := rs.setupWorker(w.id)
	if s == nil {
		return false
	}
	w.s = s
	w.teardownSession = fx.teardownSession != nil
	if fx.setupSession != nil && !rs.setupSession(s) {
		return false
	}
	if rs.open != nil {
		return true // the open model's loop waits for starts from the first
	}
	w.rng = rand.New(rand.NewPCG(rs.seed, uint64(s.Worker)))
	if !w.pick() {
		return false
	}
	rs.runScenario(s)
	return w.pause()
}

// pause waits the delay after a run of the closed loop; false: that was
// the worker's last run, and the loop is over without a delay, which
// would only hold back teardown.
func (w *worker) pause() bool {
	rs, r, cfg := w.rs, &w.s.run, &w.rs.cfg
	if (cfg.MaxRuns > 0 && w.step == cfg.MaxRuns) || (cfg.SingleRun && w.step == len(rs.snap.scenarios)) {
		return false
	}
	d := cfg.Delay
	if r.ok && r.sc != nil {
		d += r.sc.delay
	}
	rs.sleep(&w.timer, d)
	return true
}

// exit tears the worker down, in the reverse order of its set-up:
// TeardownSession, the session, Teardown.
func (w *worker) exit() {
	rs := w.rs
	defer rs.wg.Done()
	if w.active {
		defer rs.stats.active.done()
	}
	if w.teardown {
		defer rs.teardownWorker(w.id)
	}
	if w.s != nil {
		defer w.s.close()
	}
	if w.teardownSession {
		rs.teardownSession(w.s)
	}
}

// setupWorker runs the Setup fixture, if any, and makes the worker's
// session from its SessionConfig. It returns nil when either failed,
// counted as a failed setup. The session is made under callFixture too,
// as it calls the SessionConfig's ConfigureTransport.
func (rs *runState) setupWorker(id int) *Session {
	var sc *SessionConfig
	if setup := rs.snap.fixtures.setup; setup != nil {
		err := callFixture("Setup", id, func() error {
			c := rs.cfg
			var err error
			sc, err = setup(rs.ctx, id, &c)
			return err
		})
		if err != nil {
			rs.setupFailed(err)
			return nil
		}
	}
	var s *Session
	err := callFixture("Setup", id, func() error {
		var err error
		s, err = newSession(rs, id, sc)
		return err
	})
	if err != nil {
		rs.setupFailed(err)
		return nil
	}
	return s
}

// setupSession runs the SetupSession fixture on s; false: it failed,
// counted as a failed setup.
func (rs *runState) setupSession(s *Session) bool {
	err := callFixture("SetupSession", s.Worker, func() error { return rs.snap.fixtures.setupSession(rs.ctx, s) })
	s.endScenario()
	if err != nil {
		rs.setupFailed(err)
		return false
	}
	return true
}

// teardownSession runs the TeardownSession fixture on s, for exit, then
// drains what it left open.
func (rs *runState) teardownSession(s *Session) {
	ctx, cancel := rs.teardownContext()
	defer cancel()
	if err := callFixture("TeardownSession", s.Worker, func() error { return rs.snap.fixtures.teardownSession(ctx, s) }); err != nil {
		rs.logger.Error("fixture failed", zap.Error(err))
	}
	s.endScenario()
}

// teardownWorker runs the Teardown fixture, deferred by exit.
func (rs *runState) teardownWorker(id int) {
	ctx, cancel := rs.teardownContext()
	defer cancel()
	if err := callFixture("Teardown", id, func() error { rs.snap.fixtures.teardown(ctx, id); return nil }); err != nil {
		rs.logger.Error("fixture failed", zap.Error(err))
	}
}

// setupFailed counts a worker whose Setup or SetupSession failed. Its
// error is counted without the worker's number, so that a cause that
// fails a hundred workers is one line of Result.Errors, counted 100
// times; the log names the workers: at the error level the first with
// each error, under Verbose 1 the others too.
func (rs *runState) setupFailed(err error) {
	rs.stats.setupFailed.Add(1)
	grouped := anyWorker(err)
	rs.stats.errs.add(grouped)
	rs.refused.note(err)
	if _, seen := rs.setupSeen.LoadOrStore(rs.stats.errs.normalise(grouped), true); seen {
		rs.logger.Debug("fixture failed", zap.Error(err))
		return
	}
	rs.logger.Error("fixture failed", zap.Error(err))
}

// anyWorker returns err, a per-worker fixture's *FixtureError, without
// the worker's number: "Setup failed: x" whichever worker it failed on.
func anyWorker(err error) error {
	if fe, ok := err.(*FixtureError); ok && fe.Worker >= 0 {
		c := *fe
		c.Worker = -1
		return &c
	}
	return err
}
