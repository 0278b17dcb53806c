package molotov

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// The open model (Runner.Rate): a scheduler computes each start's
// intended time from the run's start (start i at i/Rate, so there is no
// drift) and queues it; the pool's workers take the oldest waiting start
// as they come free. A start that finds no free worker within MaxLag is
// dropped and counted: scheduled == started + dropped, always. A run's
// latency is measured from its intended start, which is what a user
// arriving on schedule would see (no coordinated omission: a stall shows
// in the figures even if few requests saw it); its service time, from the
// actual start, is kept beside it.

// openSchedule is the open model's queue of intended starts, as offsets
// from the run's start.
type openSchedule struct {
	starts chan time.Duration
	done   chan struct{} // closed when the scheduler returns
}

func (rs *runState) newOpenSchedule() *openSchedule {
	// The queue holds more than MaxLag's worth of starts: when it is full,
	// its oldest start is already more than MaxLag late.
	n := int(math.Min(math.Ceil(rs.cfg.Rate*rs.cfg.MaxLag.Seconds()), 1<<20)) + rs.cfg.Workers + 16
	return &openSchedule{starts: make(chan time.Duration, n), done: make(chan struct{})}
}

// openDue returns the whole run's schedule: when its start k is due, as
// an offset from the run's start (k/Rate, or along the Stages); false
// from the first start at or past Duration (or when the shape's last rate
// is zero). The returned func takes k in increasing order.
func (c *Runner) openDue() func(k int) (time.Duration, bool) {
	interval := float64(time.Second) / c.Rate
	var clock *stageClock // the rate's shape, with Stages
	if len(c.Stages) > 0 {
		clock = &stageClock{stages: c.Stages}
	}
	return func(k int) (time.Duration, bool) {
		off := time.Duration(float64(k) * interval)
		if clock != nil {
			var ok bool
			if off, ok = clock.due(k); !ok {
				return 0, false
			}
		}
		return off, c.Duration == 0 || off < c.Duration
	}
}

// schedule queues the starts until Duration (or the stop): the whole
// run's, or with Runner.Segment the share's, starts k ≡ i (mod n).
func (rs *runState) schedule(o *openSchedule) {
	defer close(o.done)
	due := rs.cfg.openDue()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for k := rs.share.seg.I; ; k += rs.share.seg.Step() {
		off, ok := due(k)
		if !ok {
			return
		}
		if wait := time.Until(rs.start.Add(off)); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-rs.stopCh:
				return
			}
		} else if rs.stopping() {
			return
		}
		rs.stats.scheduled.Add(1)
		if h := rs.cfg.onSchedule; h != nil {
			h(rs.start.Add(off))
		}
		select {
		case o.starts <- off:
		default:
			// The queue is full: its oldest start is past MaxLag. Drop it
			// to make room (only this goroutine adds to the queue).
			select {
			case <-o.starts:
				rs.stats.dropped.Add(1)
				rs.observeSizing(true)
			default:
			}
			o.starts <- off
		}
	}
}

// drain counts the starts still queued when the run ended as dropped.
func (o *openSchedule) drain(rs *runState) {
	<-o.done
	for {
		select {
		case <-o.starts:
			rs.stats.dropped.Add(1)
		default:
			return
		}
	}
}

// openLoop is a worker of the open model: it runs a scenario for each
// start it takes, on time or up to MaxLag late.
func (rs *runState) openLoop(ctx context.Context, s *Session, o *openSchedule) {
	cfg := &rs.cfg
	// After a Goexit in user code the worker's loop starts again from its
	// next step (worker.end), with a generator of its own.
	rng := rand.New(rand.NewPCG(rs.seed+uint64(s.step), uint64(s.Worker)))
	for step := s.step + 1; ; step++ {
		var off time.Duration
		select {
		case off = <-o.starts:
		case <-rs.stopCh:
			return
		case <-ctx.Done():
			return
		}
		if rs.stopping() || ctx.Err() != nil {
			rs.stats.dropped.Add(1) // taken as the run stopped: it never starts
			return
		}
		intended, now := rs.start.Add(off), time.Now()
		rs.catchUp(clockSince(now))
		if now.Sub(intended) > cfg.MaxLag {
			rs.stats.dropped.Add(1)
			rs.observeSizing(true) // a start the target's pace could not take
			step--
			continue
		}
		s.step = step
		s.iter = rs.stats.started.Add(1)
		sc, pickErr := rs.choose(s, rng)
		s.run = scenarioRun{ctx: ctx, s: s, sc: sc, err: pickErr, picked: pickErr == nil, open: true, intended: intended.Sub(s.t0)}
		rs.runScenario(s)
	}
}
