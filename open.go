package molotov

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/tick"
)

// The open model (Runner.Rate): a scheduler computes each start's
// intended time from the run's start (start i at i/Rate, so there is no
// drift) and hands it to a free worker, or queues it until one comes
// free. A start that finds no free worker within MaxLag is dropped and
// counted: scheduled == started + dropped, always. A run's latency is
// measured from its intended start, which is what a user arriving on
// schedule would see (no coordinated omission: a stall shows in the
// figures even if few requests saw it); its service time, from the actual
// start, is kept beside it, and how late each start began is StartLag.
// The run ends at Duration once every start due before it was released:
// the starts released then still begin, within MaxLag of their time like
// any other, so a run that kept its schedule drops none at its end. A stop
// before that (Run.Stop, a cancel, ThresholdAbort) drops the starts still
// queued.
//
// The free workers wait on a stack: a start goes to the worker that came
// free last. A rate that needs five workers at a time then keeps the same
// five busy, with their connections and stacks warm in the caches,
// instead of passing every start round all of MaxWorkers.

// openSchedule hands the open model's starts, as offsets from the run's
// start, from the scheduler to the workers.
type openSchedule struct {
	mu      sync.Mutex
	idle    []*openWaiter // the free workers, the last to come free on top
	pending startQueue    // the starts that found no free worker, oldest first
	done    chan struct{} // closed when the scheduler returns
}

// openWaiter is a free worker of the open model, waiting for a start.
type openWaiter struct {
	start chan time.Duration // one start at most: sent under openSchedule.mu when popped from idle
}

func (rs *runState) newOpenSchedule() *openSchedule {
	// The queue holds more than MaxLag's worth of starts: when it is full,
	// its oldest start is already more than MaxLag late.
	n := int(math.Min(math.Ceil(rs.cfg.Rate*rs.cfg.MaxLag.Seconds()), 1<<20)) + rs.cfg.Workers + 16
	return &openSchedule{pending: startQueue{limit: n}, done: make(chan struct{})}
}

// release gives the start at off to the worker that came free last, or
// queues it; it reports whether a queued start was dropped to make room.
func (o *openSchedule) release(off time.Duration) (dropped bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if w, ok := popLast(&o.idle); ok {
		w.start <- off // never blocks: w's channel is empty while it is idle
		return false
	}
	return o.pending.push(off)
}

// take returns the oldest queued start, or waits for one as w; false when
// the run stopped (or its context ended) first. Once the run reached its
// Duration, the scheduler has released its last start: take returns the
// starts still queued, and false when there are none.
func (o *openSchedule) take(rs *runState, ctx context.Context, w *openWaiter) (time.Duration, bool) {
	o.mu.Lock()
	if rs.cutShort() {
		o.mu.Unlock()
		return 0, false // the starts still queued are dropped (drain)
	}
	if off, ok := o.pending.pop(); ok {
		o.mu.Unlock()
		return off, true
	}
	if rs.stopping() { // at Duration, with none queued: the scheduler released its last
		o.mu.Unlock()
		return 0, false
	}
	o.idle = append(o.idle, w)
	o.mu.Unlock()
	select {
	case off := <-w.start:
		return off, true
	case <-rs.stopCh:
	case <-ctx.Done():
	}
	return o.leave(w)
}

// leave takes w, which stopped waiting, off the stack of free workers;
// it returns the start handed to w meanwhile, if one was.
func (o *openSchedule) leave(w *openWaiter) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, x := range o.idle {
		if x == w {
			o.idle = slices.Delete(o.idle, i, i+1)
			return 0, false
		}
	}
	return <-w.start, true // popped: its start was sent under the lock
}

// startQueue is a FIFO of starts, a ring that grows as needed up to
// limit; pushing onto a full queue drops its oldest start.
type startQueue struct {
	buf        []time.Duration
	head, size int
	limit      int
}

func (q *startQueue) push(off time.Duration) (dropped bool) {
	if q.size == len(q.buf) {
		if q.size < q.limit {
			q.grow()
		} else {
			q.pop()
			dropped = true
		}
	}
	q.buf[(q.head+q.size)%len(q.buf)] = off
	q.size++
	return dropped
}

func (q *startQueue) pop() (time.Duration, bool) {
	if q.size == 0 {
		return 0, false
	}
	off := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return off, true
}

func (q *startQueue) grow() {
	buf := make([]time.Duration, min(max(2*len(q.buf), 64), q.limit))
	for i := 0; i < q.size; i++ {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
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
//
// It sleeps until a start is due, then queues every start that is due by
// then, so that at high rates one wake releases several starts: it sleeps
// a batch window past the next start's intended time (batchWindow), and
// never releases a start before its time. Each start keeps its own
// intended time, from which its latency is measured.
func (rs *runState) schedule(o *openSchedule) {
	defer close(o.done)
	due := rs.cfg.openDue()
	sl := tick.NewSleeper()
	defer sl.Close()
	go func() { // a stop ends the sleep in progress
		select {
		case <-rs.stopCh:
			sl.Close()
		case <-o.done:
		}
	}()
	if rs.stopping() {
		return // stopped before the run's time zero (during its set-up, or waiting for StartAt): nothing was due
	}
	end := rs.start.Add(rs.cfg.Duration)
	var prev time.Duration // the previous start's offset
	for k := rs.share.seg.I; ; k += rs.share.seg.Step() {
		off, ok := due(k)
		if !ok {
			break
		}
		if wait := time.Until(rs.start.Add(off)); wait > 0 {
			sleep := wait + batchWindow(off-prev)
			if rs.cfg.Duration > 0 {
				sleep = max(wait, min(sleep, time.Until(end))) // the last batch goes at the run's end, not past it
			}
			if !sl.Sleep(sleep) {
				rs.dropDue(due, k)
				return
			}
		} else if rs.stopping() {
			rs.dropDue(due, k)
			return
		}
		prev = off
		rs.stats.scheduled.Add(1)
		if h := rs.cfg.onSchedule; h != nil {
			h(rs.start.Add(off))
		}
		if o.release(off) {
			rs.stats.dropped.Add(1) // the queue was full: its oldest start was past MaxLag
			rs.observeSizing(true)
		}
	}
	// Every start due before Duration is out: the run ends at Duration.
	// The scheduler stops it, not the clock, so that a batch released at
	// the end is taken rather than dropped by a stop that overtook it.
	if rs.cfg.Duration > 0 {
		if wait := time.Until(end); wait > 0 && !sl.Sleep(wait) {
			return // stopped first
		}
		rs.stop(StopDuration)
	}
}

// dropDue counts the starts from k on that were due when the run stopped
// as scheduled and dropped: the stop came while they waited for their
// batch, and they never begin.
func (rs *runState) dropDue(due func(int) (time.Duration, bool), k int) {
	now := time.Since(rs.start)
	for ; ; k += rs.share.seg.Step() {
		off, ok := due(k)
		if !ok || off > now {
			return
		}
		rs.stats.scheduled.Add(1)
		rs.stats.dropped.Add(1)
	}
}

// maxBatchWindow is the longest that schedule lets a due start wait so
// that the starts due after it go with it, and batchStarts how many starts
// it aims to release at a wake; batchBelow is the interval between starts
// from which it batches at all. A wider window costs fewer wakes (at
// 15,000/s, 1 ms windows measured 0.87-0.93× the CPU per request of 500 µs
// ones) and adds up to its width to the start lag: 750 µs leaves a start
// lag p99 under 1 ms within reach of a generator with CPU to spare.
const (
	maxBatchWindow = 750 * time.Microsecond
	batchStarts    = 12
	batchBelow     = 250 * time.Microsecond
)

// batchWindow is how long schedule waits past a start's intended time,
// given the interval since the previous start, so that the starts due
// meanwhile are released with it at one wake. Nothing at low rates, where
// a wake per start is cheap and a start on time matters more; at high
// rates about batchStarts intervals, at most maxBatchWindow.
func batchWindow(interval time.Duration) time.Duration {
	if interval >= batchBelow || interval <= 0 {
		return 0
	}
	return min(batchStarts*interval, maxBatchWindow)
}

// cutShort reports whether a stop other than Duration's (Run.Stop, a
// cancel, ThresholdAbort) came: the open model then begins no more starts.
// At Duration the starts released before it still begin.
func (rs *runState) cutShort() bool {
	return rs.stopping() && rs.reason() != StopDuration
}

// drain counts the starts still queued when the run ended as dropped: those
// of a run that was stopped before its Duration.
func (o *openSchedule) drain(rs *runState) {
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	rs.stats.dropped.Add(int64(o.pending.size))
	o.pending = startQueue{}
}

// openLoop is a worker of the open model: it runs a scenario for each
// start it takes, on time or up to MaxLag late.
func (rs *runState) openLoop(ctx context.Context, s *Session, o *openSchedule) {
	cfg := &rs.cfg
	// After a Goexit in user code the worker's loop starts again from its
	// next step (worker.end), with a generator of its own.
	rng := rand.New(rand.NewPCG(rs.seed+uint64(s.step), uint64(s.Worker)))
	w := &openWaiter{start: make(chan time.Duration, 1)}
	for step := s.step + 1; ; step++ {
		off, ok := o.take(rs, ctx, w)
		if !ok {
			return
		}
		if ctx.Err() != nil || rs.cutShort() {
			rs.stats.dropped.Add(1) // taken as the run stopped: it never starts
			return
		}
		intended, now := rs.start.Add(off), time.Now()
		rs.catchUp(clockSince(now))
		lag := now.Sub(intended)
		if lag > cfg.MaxLag {
			rs.stats.dropped.Add(1)
			rs.observeSizing(true) // a start the target's pace could not take
			step--
			continue
		}
		rs.stats.startLag.Record(lag)
		s.step = step
		s.iter = rs.stats.started.Add(1)
		sc, pickErr := rs.choose(s, rng)
		s.run = scenarioRun{ctx: ctx, s: s, sc: sc, err: pickErr, picked: pickErr == nil, open: true, intended: intended.Sub(s.t0)}
		rs.runBusy(s)
	}
}

// runBusy runs s's scenario counted among the pool's busy workers, until
// it ends or user code calls runtime.Goexit.
func (rs *runState) runBusy(s *Session) {
	rs.stats.busy.add()
	defer rs.stats.busy.done()
	rs.runScenario(s)
}
