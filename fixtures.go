package molotov

import (
	"context"
	"fmt"
	"reflect"
)

// Fixtures run around scenarios, in this order (Molotov's order):
//
//	GlobalSetup                                   once, before any worker starts
//	  per worker: Setup → SetupSession → scenario runs → TeardownSession → Teardown
//	GlobalTeardown                                once, after every worker ended
//
// Each kind may be registered once per registry; a second registration panics.
type fixtures struct {
	globalSetup     func(ctx context.Context, r *Runner) error
	setup           func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error)
	setupSession    func(ctx context.Context, s *Session) error
	teardownSession func(ctx context.Context, s *Session) error
	teardown        func(ctx context.Context, worker int)
	globalTeardown  func(ctx context.Context)
}

// setFixture stores fn in its registry's slot, under the registry's lock.
// A nil fn, or a slot already taken, panics: a registration mistake.
func setFixture[F any](r *Registry, kind string, fn F, slot *F) {
	if reflect.ValueOf(fn).IsNil() {
		panic(fmt.Sprintf("molotov: %s with a nil func", kind))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !reflect.ValueOf(*slot).IsNil() {
		panic(fmt.Sprintf("molotov: %s registered twice; a registry has one %s", kind, kind))
	}
	*slot = fn
}

// GlobalSetup registers fn to run once before any worker starts (Molotov's
// global_setup). The *Runner is a copy with flags applied: read it to learn
// the run's options; changes have no effect. An error aborts the run: no
// worker starts, GlobalTeardown does not run, and Run returns the error.
func (r *Registry) GlobalSetup(fn func(ctx context.Context, r *Runner) error) {
	setFixture(r, "GlobalSetup", fn, &r.fixtures.globalSetup)
}

// Setup registers fn to run once per worker before its session exists
// (Molotov's setup). The returned *SessionConfig (nil is fine) shapes the
// worker's session: base URL, headers, timeout, transport. An error stops
// that worker only; it is counted in Result.SetupFailed and its Teardown
// still runs.
func (r *Registry) Setup(fn func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error)) {
	setFixture(r, "Setup", fn, &r.fixtures.setup)
}

// SetupSession registers fn to run once per worker right after its session
// is created (Molotov's setup_session), for example to log in. An error
// stops that worker and is counted in Result.SetupFailed.
func (r *Registry) SetupSession(fn func(ctx context.Context, s *Session) error) {
	setFixture(r, "SetupSession", fn, &r.fixtures.setupSession)
}

// TeardownSession registers fn to run once per worker before its session
// closes (Molotov's teardown_session), even after failures or a
// cancellation; its context is not cancelled by the run's stop. Errors are
// logged and never stop the teardown.
func (r *Registry) TeardownSession(fn func(ctx context.Context, s *Session) error) {
	setFixture(r, "TeardownSession", fn, &r.fixtures.teardownSession)
}

// Teardown registers fn to run once per worker after its session closed
// (Molotov's teardown), even after a failed Setup, failures or a
// cancellation.
func (r *Registry) Teardown(fn func(ctx context.Context, worker int)) {
	setFixture(r, "Teardown", fn, &r.fixtures.teardown)
}

// GlobalTeardown registers fn to run once after every worker ended
// (Molotov's global_teardown), even after failures or a cancellation. It
// does not run when GlobalSetup failed.
func (r *Registry) GlobalTeardown(fn func(ctx context.Context)) {
	setFixture(r, "GlobalTeardown", fn, &r.fixtures.globalTeardown)
}

// OnEvent registers an event handler (Molotov's events). Several handlers
// may be registered; each event goes to every handler in registration
// order, synchronously, on the goroutine where it happened (usually the
// worker's): a slow handler slows the load. With no handler registered no
// event is built.
func (r *Registry) OnEvent(fn func(Event)) {
	if fn == nil {
		panic("molotov: OnEvent with a nil func")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers = append(r.handlers, fn)
}

// GlobalSetup registers a GlobalSetup fixture on DefaultRegistry.
func GlobalSetup(fn func(ctx context.Context, r *Runner) error) { DefaultRegistry.GlobalSetup(fn) }

// Setup registers a Setup fixture on DefaultRegistry.
func Setup(fn func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error)) {
	DefaultRegistry.Setup(fn)
}

// SetupSession registers a SetupSession fixture on DefaultRegistry.
func SetupSession(fn func(ctx context.Context, s *Session) error) { DefaultRegistry.SetupSession(fn) }

// TeardownSession registers a TeardownSession fixture on DefaultRegistry.
func TeardownSession(fn func(ctx context.Context, s *Session) error) {
	DefaultRegistry.TeardownSession(fn)
}

// Teardown registers a Teardown fixture on DefaultRegistry.
func Teardown(fn func(ctx context.Context, worker int)) { DefaultRegistry.Teardown(fn) }

// GlobalTeardown registers a GlobalTeardown fixture on DefaultRegistry.
func GlobalTeardown(fn func(ctx context.Context)) { DefaultRegistry.GlobalTeardown(fn) }

// OnEvent registers an event handler on DefaultRegistry.
func OnEvent(fn func(Event)) { DefaultRegistry.OnEvent(fn) }

// FixtureError reports a fixture that failed or panicked, with the
// fixture's name and, for per-worker fixtures, the worker number.
type FixtureError struct {
	Fixture string // "GlobalSetup", "Setup", "SetupSession", "TeardownSession"...
	Worker  int    // -1 for global fixtures
	Err     error
}

func (e *FixtureError) Error() string {
	if e.Worker < 0 {
		return fmt.Sprintf("molotov: %s failed: %v", e.Fixture, e.Err)
	}
	return fmt.Sprintf("molotov: %s failed on worker %d: %v", e.Fixture, e.Worker, e.Err)
}

func (e *FixtureError) Unwrap() error { return e.Err }

// callFixture runs fn, user code, on a goroutine of its own and returns
// its error as a *FixtureError. A panic becomes an error that carries the
// stack, and a runtime.Goexit (t.FailNow, testify's require) an error
// that says so: neither ends the caller's goroutine. The fixture's
// goroutine also keeps a deep set-up, such as a login's first request,
// off the worker's stack.
func callFixture(name string, worker int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			var err error = errGoexitFixture
			if p := recover(); p != nil {
				err = newPanicError(p)
			}
			done <- &FixtureError{Fixture: name, Worker: worker, Err: err}
		}()
		err := fn()
		returned = true
		if err != nil {
			err = &FixtureError{Fixture: name, Worker: worker, Err: err}
		}
		done <- err
	}()
	return <-done
}
