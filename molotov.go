package molotov

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
)

// ScenarioFunc is one scenario: a unit of user behaviour that a worker runs
// again and again. Returning nil counts the run as a success; returning an
// error (or panicking) counts it as a failure. The context is cancelled when
// the run is cancelled, or at a stop with Runner.ForceShutdown.
type ScenarioFunc func(ctx context.Context, s *Session) error

// ScenarioOption configures one scenario at registration. See [Delay].
type ScenarioOption interface {
	apply(*scenario)
}

type optionFunc func(*scenario)

func (f optionFunc) apply(s *scenario) { f(s) }

// Delay makes a worker pause for d after each successful run of the
// scenario, on top of Runner.Delay, as Molotov's scenario delay does.
// A negative d panics at registration.
func Delay(d time.Duration) ScenarioOption {
	return optionFunc(func(s *scenario) {
		if d < 0 {
			panic(fmt.Sprintf("molotov: scenario %q: negative Delay %v; use a duration >= 0", s.name, d))
		}
		s.delay = d
	})
}

type scenario struct {
	name   string
	weight int
	fn     ScenarioFunc
	delay  time.Duration
	index  int // position in the run's name-sorted list
}

// maxWeight and maxTotalWeight keep the sum of weights from overflowing an
// int, even a 32-bit one.
const (
	maxWeight      = 1 << 30
	maxTotalWeight = math.MaxInt32
)

// Registry holds what a load test registers: scenarios, fixtures, event
// handlers and shared variables. A run reads it and never changes it.
// DefaultRegistry is the one the package-level functions use; tests that
// want isolation create their own with [NewRegistry] and set Runner.Registry.
// A Registry is safe for concurrent use.
type Registry struct {
	mu        sync.Mutex
	scenarios map[string]*scenario
	weights   int // the scenarios' total weight
	picker    func(worker, step int) string
	fixtures  fixtures
	handlers  []func(Event)

	vars sync.Map
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{scenarios: make(map[string]*scenario)}
}

// DefaultRegistry is the registry used by the package-level functions and
// by a Runner whose Registry field is nil.
var DefaultRegistry = NewRegistry()

// Scenario registers fn under name with a weight: at each step a worker
// picks a scenario with probability weight/sum(weights). Weight 0 registers
// a scenario that weighted picking never chooses but Runner.SingleMode and
// Runner.SingleRun can still run.
//
// Registration mistakes are programming errors and panic with a message
// naming the scenario: an empty or duplicate name, a name with leading or
// trailing spaces or control characters, a negative weight, a weight above
// 2^30 (or weights summing past 2^31-1), a nil func.
func (r *Registry) Scenario(name string, weight int, fn ScenarioFunc, opts ...ScenarioOption) {
	switch {
	case name == "":
		panic("molotov: Scenario with an empty name; give every scenario a unique name")
	case strings.TrimSpace(name) == "":
		panic(fmt.Sprintf("molotov: Scenario with an empty name (%q, only spaces); give every scenario a unique name", name))
	case strings.TrimSpace(name) != name:
		panic(fmt.Sprintf("molotov: scenario %q has leading or trailing spaces; remove them (a threshold's scenario(...) trims them and could not name it)", name))
	case strings.ContainsFunc(name, unicode.IsControl):
		panic(fmt.Sprintf("molotov: scenario %q has a control character in its name; use printable characters", name))
	case weight < 0:
		panic(fmt.Sprintf("molotov: scenario %q has negative weight %d; use 0 to disable it or a positive weight", name, weight))
	case weight > maxWeight:
		panic(fmt.Sprintf("molotov: scenario %q has weight %d, above %d; weights are relative, use smaller numbers", name, weight, maxWeight))
	case fn == nil:
		panic(fmt.Sprintf("molotov: scenario %q has a nil func", name))
	case name == PickerScenario:
		panic(fmt.Sprintf("molotov: scenario name %q is reserved for the ScenarioPicker's failures; choose another name", name))
	}
	s := &scenario{name: name, weight: weight, fn: fn}
	for _, o := range opts {
		if o != nil {
			o.apply(s)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scenarios == nil {
		r.scenarios = make(map[string]*scenario)
	}
	if _, dup := r.scenarios[name]; dup {
		panic(fmt.Sprintf("molotov: scenario %q registered twice; scenario names must be unique", name))
	}
	total := r.weights + weight
	if total > maxTotalWeight {
		panic(fmt.Sprintf("molotov: scenario %q with weight %d brings the registry's weights to %d, above %d; weights are relative, use smaller numbers", name, weight, total, maxTotalWeight))
	}
	r.scenarios[name] = s
	r.weights = total
}

// PickerScenario is the name under which Result.Scenarios counts the
// steps that the ScenarioPicker failed (a panic, an unknown name, a
// runtime.Goexit), so that the scenarios' figures add up to the run's.
// It appears only when the picker failed.
const PickerScenario = "(picker)"

// ScenarioPicker replaces weighted picking with fn, as Molotov's
// scenario_picker does: before each step, fn receives the worker number
// (from 0) and the worker's step (from 1) and returns the name of the
// scenario to run. An unknown name makes that step a counted failure that
// names it. SingleMode and SingleRun take precedence over the picker.
// Registering a second picker panics.
func (r *Registry) ScenarioPicker(fn func(worker, step int) string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fn == nil {
		panic("molotov: ScenarioPicker with a nil func")
	}
	if r.picker != nil {
		panic("molotov: ScenarioPicker registered twice; a registry has one picker")
	}
	r.picker = fn
}

// SetVar stores a value shared by all workers, like Molotov's set_var.
// Vars live in the registry: a run does not reset them.
func (r *Registry) SetVar(key string, value any) { r.vars.Store(key, value) }

// Var returns the value stored under key by SetVar.
func (r *Registry) Var(key string) (any, bool) { return r.vars.Load(key) }

// snapshot copies what a run needs, so registrations made while it runs
// cannot race with it.
func (r *Registry) snapshot() registrySnapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap := registrySnapshot{
		picker:   r.picker,
		fixtures: r.fixtures,
		handlers: slices.Clone(r.handlers),
		byName:   make(map[string]*scenario, len(r.scenarios)),
	}
	for _, s := range r.scenarios {
		c := *s
		snap.scenarios = append(snap.scenarios, &c)
	}
	sort.Slice(snap.scenarios, func(i, j int) bool { return snap.scenarios[i].name < snap.scenarios[j].name })
	for i, s := range snap.scenarios {
		s.index = i
		snap.byName[s.name] = s
		snap.totalWeight += s.weight
	}
	return snap
}

type registrySnapshot struct {
	scenarios   []*scenario // sorted by name
	byName      map[string]*scenario
	totalWeight int
	picker      func(worker, step int) string
	fixtures    fixtures
	handlers    []func(Event)
}

// Scenario registers a scenario on DefaultRegistry. See [Registry.Scenario].
func Scenario(name string, weight int, fn ScenarioFunc, opts ...ScenarioOption) {
	DefaultRegistry.Scenario(name, weight, fn, opts...)
}

// ScenarioPicker sets DefaultRegistry's picker. See [Registry.ScenarioPicker].
func ScenarioPicker(fn func(worker, step int) string) { DefaultRegistry.ScenarioPicker(fn) }

// SetVar stores a shared value in DefaultRegistry. See [Registry.SetVar].
func SetVar(key string, value any) { DefaultRegistry.SetVar(key, value) }

// Var reads a shared value from DefaultRegistry. See [Registry.Var].
func Var(key string) (any, bool) { return DefaultRegistry.Var(key) }
