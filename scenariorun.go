package molotov

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// scenarioRun is one scenario run: prepared by its worker, run by
// runScenario, recorded by endRun.
type scenarioRun struct {
	ctx      context.Context
	s        *Session
	sc       *scenario
	err      error         // the scenario's error, or the picker's
	picked   bool          // sc was picked: no picker error
	start    time.Duration // since the session's t0
	end      time.Duration // since the session's t0: when the run ended, as record saw it
	open     bool          // a run of the open model, due at intended
	intended time.Duration // the open model's intended start, since t0 (negative when due before the session existed)
	called   bool          // the scenario function was called
	returned bool          // and returned: not a panic, not a Goexit
	ok       bool          // the run succeeded, as endRun recorded it
}

// pick prepares the closed loop's next run in the session's record, for
// runScenario; false: the loop is over.
func (w *worker) pick() bool {
	rs, s, cfg := w.rs, w.s, &w.rs.cfg
	if e := s.run.end; e > 0 { // the previous run's end is the time now, near enough
		rs.catchUp(s.t0Clock + e)
	}
	w.step++
	step := w.step
	if rs.stopping() || rs.ctx.Err() != nil || (cfg.MaxRuns > 0 && step > cfg.MaxRuns) {
		return false
	}
	if g := rs.gate; g != nil && !g.allowed(s.Worker) {
		rs.stats.active.done() // resting while the shape is below this worker
		ok := g.wait(s.Worker, rs.stopCh)
		rs.stats.active.add()
		if !ok {
			return false
		}
	}
	if cfg.SingleRun && step > len(rs.snap.scenarios) {
		return false
	}
	s.step = step
	s.iter = rs.stats.started.Add(1) // the run-wide count of started runs is the iteration number
	var sc *scenario
	var pickErr error
	if cfg.SingleRun {
		sc = rs.snap.scenarios[step-1]
	} else {
		sc, pickErr = rs.choose(s, w.rng)
	}
	s.run = scenarioRun{ctx: rs.ctx, s: s, sc: sc, err: pickErr, picked: pickErr == nil}
	return true
}

// choose picks the scenario of the session's step: SingleMode's, the
// ScenarioPicker's, or a draw by weight.
func (rs *runState) choose(s *Session, rng *rand.Rand) (*scenario, error) {
	switch {
	case rs.cfg.SingleMode != "":
		return rs.snap.byName[rs.cfg.SingleMode], nil
	case rs.snap.picker != nil:
		return rs.pickWith(s)
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

// pickWith asks the user's picker for the session's step, already counted
// as started; a panic or an unknown name is a failure of that step. A
// runtime.Goexit in the picker ends the worker's goroutine: the step is
// counted as failed on the way out, and the worker goes on (worker.end).
func (rs *runState) pickWith(s *Session) (sc *scenario, err error) {
	returned := false
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("molotov: ScenarioPicker panicked: %w", newPanicError(p))
		} else if !returned {
			s.run = scenarioRun{ctx: rs.ctx, s: s, err: errGoexitPicker}
			rs.endRun(&s.run, nil)
		}
	}()
	name := rs.snap.picker(s.Worker, s.step)
	returned = true
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

// endRun is the one place where a scenario run ends: it records the run
// and reports its success. It runs deferred by runScenario: p is what
// recover returned there. A run that neither returned nor panicked was
// ended by runtime.Goexit (t.FailNow, require) in the scenario or a
// ScenarioStart handler: it is counted as a failure, and the Goexit goes
// on ending the worker.
//
// The run is recorded (record), then a success or a failure is told to
// whoever listens (succeeded, failed), which also applies the stop policy.
func (rs *runState) endRun(r *scenarioRun, p any) bool {
	if !r.returned && p == nil && r.picked {
		rs.endedByGoexit(r)
		return false
	}
	if p != nil {
		if !r.called || r.returned {
			panic(p) // not the scenario's but the runner's own bug: re-raised while its frames are still on the stack, so the crash shows where
		}
		r.err = newPanicError(p)
	}
	if r.picked {
		rs.record(r)
	}
	if r.err == nil {
		rs.succeeded(r)
		return true
	}
	rs.failed(r)
	return false
}

// endedByGoexit counts a scenario run ended by runtime.Goexit as failed.
func (rs *runState) endedByGoexit(r *scenarioRun) {
	rs.stats.scenarios[r.sc.index].failed.Add(1)
	rs.stats.failed.Add(1)
	rs.stats.errs.add(errGoexit)
}

// record closes what the scenario left open and records the run in its
// scenario's figures: latency (from the intended start in the open model,
// corrected for coordinated omission, with the service time beside it),
// ok or failed, and the statsd counter.
func (rs *runState) record(r *scenarioRun) {
	s, sc := r.s, r.sc
	r.end = time.Since(s.t0)
	d := r.end - r.start
	s.endScenario()
	if rs.hasHandlers {
		s.scenario.Store(nil)
	}
	st := rs.stats.scenarios[sc.index]
	if r.open {
		st.service.Record(d)
		d = time.Since(s.t0) - r.intended
	}
	st.lat.Record(d)
	if r.err != nil {
		st.failed.Add(1)
	} else {
		st.ok.Add(1)
	}
	if sink := rs.stats.sink; sink != nil {
		sink.scenario(sc.index, r.err == nil)
	}
}

// succeeded counts a successful run and tells the listeners.
func (rs *runState) succeeded(r *scenarioRun) {
	rs.stats.ok.Add(1)
	rs.observeSizing(false)
	if rs.hasHandlers {
		rs.emitScenario(ScenarioSuccess, r.s, r.name(), nil)
	}
}

// failed counts a failed run, with its error, stops the run when the
// failure policy says so, and tells the listeners. A run the run itself
// cancelled is counted as interrupted, and is no failure of the target.
// A failure of the ScenarioPicker counts under PickerScenario.
func (rs *runState) failed(r *scenarioRun) {
	failed := rs.stats.failed.Add(1)
	interrupted := r.interrupted()
	if interrupted {
		rs.stats.interrupted.Add(1)
		if r.picked {
			rs.stats.scenarios[r.sc.index].interrupted.Add(1)
		}
	}
	if !r.picked {
		rs.stats.picker.failed.Add(1)
	}
	rs.stats.errs.add(r.err)
	rs.refused.note(r.err)
	if !interrupted {
		switch {
		case rs.cfg.ExitOnFailure:
			rs.stop(StopFailure)
		case rs.share.maxFailures > 0 && failed >= int64(rs.share.maxFailures):
			rs.stop(StopMaxFailures)
		}
		rs.observeSizing(true)
	}
	if rs.hasHandlers {
		rs.emitScenario(ScenarioFailure, r.s, r.name(), r.err)
	}
	if rs.cfg.Verbose >= 1 {
		rs.reportFailure(r.s, r.name(), r.err)
	}
}

// interrupted reports whether the run failed because its context ended:
// the error says so, either as its error or as its cause (net/http
// returns the cause).
func (r *scenarioRun) interrupted() bool {
	ce := r.ctx.Err()
	return ce != nil && (errors.Is(r.err, context.Canceled) || errors.Is(r.err, ce) || errors.Is(r.err, context.Cause(r.ctx)))
}

// name is the run's scenario name; PickerScenario when the picker failed.
func (r *scenarioRun) name() string {
	if r.picked {
		return r.sc.name
	}
	return PickerScenario
}

// reportFailure prints a failure under Verbose >= 1: on the console in
// Molotov's style, or to the user's Logger. A panic's stack is kept to be
// printed once at the end of the run, with the other failures it caused
// (see reportPanics).
func (rs *runState) reportFailure(s *Session, name string, err error) {
	msg := rs.stats.errs.rules.Text(err.Error())
	if pe := asPanic(err); pe != nil {
		rs.panics.add(msg, pe)
	}
	if rs.cfg.Logger != nil {
		rs.logger.Info("scenario failed", zap.Int("worker", s.Worker), zap.String("scenario", name), zap.Int("step", s.step), zap.String("error", msg))
		return
	}
	rs.console.Println(fmt.Sprintf("[W:%d] Failure! scenario %q, step %d: %s", s.Worker, name, s.step, msg))
}
