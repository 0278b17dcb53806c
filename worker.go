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
	gx    goexitGuard
	timer *time.Timer // the delay between runs
	rng   *rand.Rand
	step  int // the closed loop's last step

	// What exit undoes, marked as each is set up.
	active          bool // counted in the active workers
	teardown        bool // the Teardown fixture is due
	teardownSession bool // the TeardownSession fixture is due
}

// goexitGuard tracks what user code a worker is in: a runtime.Goexit
// (t.FailNow, require) in a fixture or an event handler ends the worker's
// goroutine where it is, and exit then counts the worker as failed rather
// than let it vanish. A Goexit in a scenario is counted by endRun, which
// clears the phase.
type goexitGuard struct {
	phase    string // the fixture or handler running; "" after a scenario's Goexit
	inCall   bool   // user code of phase is running: a teardown met while unwinding keeps the phase
	returned bool   // the worker's body returned, so a Goexit can only have come from a teardown
}

// bodyReturned marks the worker's body as ended by returning, not by a
// Goexit: out of user code, with only the teardowns left.
func (g *goexitGuard) bodyReturned() {
	g.inCall, g.returned = false, true
}

// start is the body of the worker's first goroutine: set-up and the first
// run. When the loop goes on, it hands the worker to a fresh goroutine and
// returns; otherwise (stopped, a failed set-up, a last run) it tears the
// worker down itself.
func (w *worker) start() {
	handOff := false
	defer func() {
		if !handOff {
			w.exit()
		}
	}()
	handOff = w.begin()
	if !handOff {
		w.gx.bodyReturned()
		return
	}
	// The loop's goroutine: a closure without arguments, so the go
	// statement adds no wrapper frame under it. Nothing here touches w
	// after this: it belongs to that goroutine now.
	if w.rs.open != nil {
		go func() {
			defer w.exit()
			w.rs.openLoop(w.rs.ctx, w.s, w.rs.open)
			w.gx.bodyReturned()
		}()
		return
	}
	go func() {
		defer w.exit()
		for w.pick() {
			w.rs.runScenario(w.s)
			if !w.pause() {
				break
			}
		}
		w.gx.bodyReturned()
	}()
}

// begin sets the worker up and, in the closed model, runs its first step.
// It reports whether the loop goes on, on a fresh goroutine.
func (w *worker) begin() bool {
	rs := w.rs
	if !rs.sleep(&w.timer, w.delay) || rs.stopping() {
		return false // stopped during ramp-up: this worker never started
	}
	rs.stats.addActive()
	w.active = true
	w.gx.phase = "Setup"
	fx := &rs.snap.fixtures
	w.teardown = fx.teardown != nil
	s := rs.setupWorker(w.id, &w.gx)
	if s == nil {
		return false
	}
	w.s = s
	s.gx = &w.gx
	w.teardownSession = fx.teardownSession != nil
	if fx.setupSession != nil && !rs.setupSession(s, &w.gx) {
		return false
	}
	w.gx.phase, w.gx.inCall = "OnEvent or ScenarioPicker", true
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
// TeardownSession, the session, Teardown. Each step is deferred, so a
// Goexit in one fixture still runs the rest, and a Goexit anywhere but in
// a scenario is counted as the worker's failure.
func (w *worker) exit() {
	rs := w.rs
	defer rs.wg.Done()
	tornDown := false
	defer func() {
		if w.gx.phase != "" && !(w.gx.returned && tornDown) {
			rs.setupFailed(&FixtureError{Fixture: w.gx.phase, Worker: w.id, Err: errGoexitWorker})
		}
	}()
	w.teardowns()
	tornDown = true
}

// teardowns undoes the worker's set-up, for exit.
func (w *worker) teardowns() {
	rs := w.rs
	if w.active {
		defer rs.stats.active.Add(-1)
	}
	if w.teardown {
		defer rs.teardownWorker(w.id, &w.gx)
	}
	if w.s != nil {
		defer w.s.close()
	}
	if w.teardownSession {
		rs.teardownSession(w.s, &w.gx)
	}
}

// setupWorker runs the Setup fixture, if any, and makes the worker's
// session from its SessionConfig. It returns nil when either failed,
// counted as a failed setup.
func (rs *runState) setupWorker(id int, gx *goexitGuard) *Session {
	var sc *SessionConfig
	if setup := rs.snap.fixtures.setup; setup != nil {
		gx.inCall = true
		err := callFixture("Setup", id, func() error {
			c := rs.cfg
			var err error
			sc, err = setup(rs.ctx, id, &c)
			return err
		})
		gx.inCall = false
		if err != nil {
			rs.setupFailed(err)
			return nil
		}
	}
	s, err := newSession(rs, id, sc)
	if err != nil {
		rs.setupFailed(&FixtureError{Fixture: "Setup", Worker: id, Err: err})
		return nil
	}
	return s
}

// setupSession runs the SetupSession fixture on s; false: it failed,
// counted as a failed setup.
func (rs *runState) setupSession(s *Session, gx *goexitGuard) bool {
	gx.phase, gx.inCall = "SetupSession", true
	err := callFixture("SetupSession", s.Worker, func() error { return rs.snap.fixtures.setupSession(rs.ctx, s) })
	gx.inCall = false
	s.endScenario()
	if err != nil {
		rs.setupFailed(err)
		return false
	}
	return true
}

// teardownSession runs the TeardownSession fixture on s, for teardowns,
// then drains what it left open.
func (rs *runState) teardownSession(s *Session, gx *goexitGuard) {
	if gx.phase != "" && !gx.inCall { // else a Goexit is unwinding: keep where it happened
		gx.phase = "TeardownSession"
	}
	ctx, cancel := rs.teardownContext()
	defer cancel()
	was := gx.inCall
	gx.inCall = true // a Goexit in it keeps its name through Teardown
	err := callFixture("TeardownSession", s.Worker, func() error { return rs.snap.fixtures.teardownSession(ctx, s) })
	gx.inCall = was // unwinding from a Goexit in a handler: Teardown keeps that name too
	if err != nil {
		rs.logger.Error("fixture failed", zap.Error(err))
	}
	s.endScenario()
}

// teardownWorker runs the Teardown fixture, deferred by teardowns.
func (rs *runState) teardownWorker(id int, gx *goexitGuard) {
	if gx.phase != "" && !gx.inCall {
		gx.phase = "Teardown"
	}
	ctx, cancel := rs.teardownContext()
	defer cancel()
	if err := callFixture("Teardown", id, func() error { rs.snap.fixtures.teardown(ctx, id); return nil }); err != nil {
		rs.logger.Error("fixture failed", zap.Error(err))
	}
}

func (rs *runState) setupFailed(err error) {
	rs.stats.setupFailed.Add(1)
	rs.stats.errs.add(err)
	rs.logger.Error("fixture failed", zap.Error(err))
}
