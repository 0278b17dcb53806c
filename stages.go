package molotov

import (
	"math"
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/parse"
	"github.com/molotov-go/molotov/internal/tick"
)

// Stage is one step of a load shape (Runner.Stages): over Duration, the
// number of workers (closed model) or the rate of starts (open model)
// moves in a straight line from where the previous stage ended (zero for
// the first) to Workers or Rate. A stage whose target equals the previous
// one holds it. Stages use Workers or Rate, not both. The run lasts the
// stages' total, unless Runner.Duration says otherwise: shorter cuts the
// shape, longer holds its last value.
type Stage struct {
	Duration time.Duration
	Workers  int     // closed model target at the end of the stage
	Rate     float64 // open model target at the end of the stage
}

// ParseStages reads stages as the -molotov.stages flag writes them:
// "30s:10,1m:50,30s:0" (workers) or "30s:100/s,1m:500/s" (rates).
func ParseStages(s string) ([]Stage, error) {
	ps, err := parse.Stages(s, maxWorkers, maxRate)
	if err != nil {
		return nil, err
	}
	out := make([]Stage, len(ps))
	for i, p := range ps {
		out[i] = Stage(p)
	}
	return out, nil
}

// stageMax returns the shape's highest target: workers or rate.
func stageMax(stages []Stage) float64 {
	var top float64
	for _, s := range stages {
		top = max(top, float64(s.Workers), s.Rate)
	}
	return top
}

// stagesOpen reports whether the stages shape a rate (open model).
func stagesOpen(stages []Stage) bool {
	for _, s := range stages {
		if s.Rate > 0 {
			return true
		}
	}
	return false
}

// validateStages checks Runner.Stages and returns their total duration.
func validateStages(stages []Stage) (time.Duration, error) {
	var total time.Duration
	open := stagesOpen(stages)
	for i, s := range stages {
		switch {
		case s.Duration <= 0:
			return 0, configErr("Stages", "stage %d has Duration %v; every stage needs a Duration > 0", i+1, s.Duration)
		case s.Workers < 0 || s.Workers > maxWorkers:
			return 0, configErr("Stages", "stage %d has Workers %d; use 0 to %d", i+1, s.Workers, maxWorkers)
		case math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) || s.Rate < 0 || s.Rate > maxRate:
			return 0, configErr("Stages", "stage %d has Rate %v; use 0 to %g starts per second", i+1, s.Rate, float64(maxRate))
		case open && s.Workers > 0:
			return 0, configErr("Stages", "stage %d sets Workers, others Rate; shape workers (closed model) or a rate (open model), not both", i+1)
		case total > maxDuration-s.Duration:
			return 0, configErr("Stages", "the stages last more than %v", maxDuration)
		}
		total += s.Duration
	}
	return total, nil
}

// stageTarget returns the shape's value at t after the start: the workers
// (closed) or the rate (open), on the line between stage ends.
func stageTarget(stages []Stage, t time.Duration, open bool) float64 {
	var from float64
	for _, s := range stages {
		to := float64(s.Workers)
		if open {
			to = s.Rate
		}
		if t < s.Duration {
			return from + (to-from)*float64(t)/float64(s.Duration)
		}
		t -= s.Duration
		from = to
	}
	return from
}

// stageClock says when the open shape's start i is due: the time at which
// the integral of the rate reaches i, stage by stage (a linear rate
// integrates to a quadratic). After the last stage the last rate holds
// (until Runner.Duration, when it is longer than the stages); ok is false
// when that rate is zero.
type stageClock struct {
	stages []Stage
	k      int           // current stage
	base   time.Duration // when stage k begins
	done   float64       // starts due before stage k
	from   float64       // rate at the start of stage k
}

func (c *stageClock) due(i int) (time.Duration, bool) {
	n := float64(i)
	for c.k < len(c.stages) {
		s := c.stages[c.k]
		d := s.Duration.Seconds()
		to := s.Rate
		inStage := (c.from + to) / 2 * d // starts due during the stage
		if n < c.done+inStage {
			x := n - c.done // starts into the stage
			a := (to - c.from) / d
			var tau float64
			if math.Abs(a) < 1e-12 {
				tau = x / c.from
			} else {
				tau = (-c.from + math.Sqrt(math.Max(c.from*c.from+2*a*x, 0))) / a
			}
			return c.base + time.Duration(tau*float64(time.Second)), true
		}
		c.done += inStage
		c.base += s.Duration
		c.from = to
		c.k++
	}
	if c.from <= 0 {
		return 0, false
	}
	return c.base + time.Duration((n-c.done)/c.from*float64(time.Second)), true
}

// workerGate lets a closed-model worker run only while the shape's target
// is above its number: worker i runs when the target exceeds i.
type workerGate struct {
	mu      sync.Mutex
	target  int
	changed chan struct{} // closed and replaced when target changes
}

func newWorkerGate() *workerGate { return &workerGate{changed: make(chan struct{})} }

func (g *workerGate) set(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n != g.target {
		g.target = n
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// allowed reports whether worker id may run now.
func (g *workerGate) allowed(id int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return id < g.target
}

// shapeWorkers moves the closed model's worker target along the stages,
// every 50ms, until the returned func is called.
func (rs *runState) shapeWorkers() func() {
	update := func() {
		rs.gate.set(int(math.Round(stageTarget(rs.cfg.Stages, time.Since(rs.start), false))))
	}
	update()
	return tick.Start(50*time.Millisecond, update) // no runtime timer pending (see internal/tick)
}

// wait blocks until worker id may run, or stop closes; it reports whether
// the worker may run.
func (g *workerGate) wait(id int, stop <-chan struct{}) bool {
	for {
		g.mu.Lock()
		ok, ch := id < g.target, g.changed
		g.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-stop:
			return false
		}
	}
}
