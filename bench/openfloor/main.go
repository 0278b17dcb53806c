// Command openfloor is the thinnest open-model load generator on net/http:
// what evenly spaced starts cost without a library. It is to the open model
// what the harness's floor is to the closed loop, a yardstick for
// bench/loadgen -rate.
//
// One goroutine releases start k at k/rate after time zero, waking for
// each on the sleeper the library's scheduler uses (a Linux timerfd, which
// wakes within microseconds where a runtime timer in an idle process wakes
// within a millisecond). With -window it sleeps that long past a start's
// time instead and releases every start due by then at one wake, as the
// library does above 4,000 starts a second with a window of 12 intervals,
// at most 750 µs. A fixed pool of workers, each with its own http.Client,
// takes the starts: each goes to the worker that came free last, as in the
// library, or waits in a queue as deep as the pool; a start that finds the
// queue full is dropped. Each start's lag is the time from its intended
// start to the moment a worker began it. Nothing else is counted: no
// timeout, no cancellation, no histogram (the lags are
// kept and sorted at the end).
//
//	openfloor -url http://127.0.0.1:18080/ -rate 15000 -workers 200 -duration 6s
//
// It prints one JSON line with the keys of bench/loadgen's open model (ok,
// failed, scheduled, dropped, elapsed_s, start_lag_p50_ns,
// start_lag_p99_ns, start_lag_max_ns), plus start_lag_p99_steady_ns: the
// p99 of the starts due after the first 500 ms, which leaves out the pool
// opening its connections. With -warm every worker makes one request before
// time zero, so that none opens its connection during the run.
//
// Load goes to loopback only.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/molotov-go/molotov/internal/loopback"
	"github.com/molotov-go/molotov/internal/tick"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "openfloor:", err)
		os.Exit(2)
	}
}

// steadyAfter is where the steady state begins: starts due before it are
// left out of start_lag_p99_steady_ns.
const steadyAfter = 500 * time.Millisecond

type options struct {
	url      string
	rate     float64
	workers  int
	duration time.Duration
	warm     bool
	window   time.Duration
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("openfloor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.url, "url", "", "URL to GET; its host must be loopback (127.0.0.0/8, ::1, localhost)")
	fs.Float64Var(&o.rate, "rate", 0, "starts per second")
	fs.IntVar(&o.workers, "workers", 200, "workers, each with its own client")
	fs.DurationVar(&o.duration, "duration", 0, "how long to release starts")
	fs.DurationVar(&o.window, "window", 0, "sleep this long past a start's time, releasing every start due by then at one wake (at most 1ms)")
	fs.BoolVar(&o.warm, "warm", false, "each worker makes one request before time zero")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q; every option is a flag", fs.Args())
	case o.rate <= 0:
		return nil, fmt.Errorf("-rate %v: give the starts per second, for example -rate 1000", o.rate)
	case o.duration <= 0:
		return nil, fmt.Errorf("-duration %v: give how long to run, for example -duration 5s", o.duration)
	case o.workers < 1:
		return nil, fmt.Errorf("-workers %d: need at least 1", o.workers)
	case o.window < 0 || o.window > time.Millisecond:
		return nil, fmt.Errorf("-window %v: give 0 (a wake per start) up to 1ms", o.window)
	}
	return o, loopback.CheckURL(o.url, "openfloor")
}

// worker is one client of the pool and the lags of the starts it took.
type worker struct {
	c            *http.Client
	start        chan time.Duration // one start at most, sent by pool.release
	lags, steady []time.Duration
}

// get makes one request and reads its body to the end; nil for a 200.
func (w *worker) get(url string) error {
	resp, err := w.c.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	return nil
}

// pool hands each start to the worker that came free last, as the
// library does (a channel would hand it to the one that waited longest,
// cycling every worker and connection of the pool), and queues up to
// limit starts while none is free.
type pool struct {
	mu     sync.Mutex
	idle   []*worker       // the free workers, the last to come free on top
	queue  []time.Duration // the starts waiting for a worker, from head on
	head   int
	limit  int
	closed bool // no more starts: workers return once the queue is empty
}

// release gives the start due at due to a free worker or queues it;
// false when the queue was full and the start is dropped.
func (p *pool) release(due time.Duration) bool {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.start <- due // never blocks: w's channel is empty while it is idle
		return true
	}
	defer p.mu.Unlock()
	if len(p.queue)-p.head >= p.limit {
		return false
	}
	if p.head > 0 && p.head >= cap(p.queue)/2 { // keep the backing array from growing
		p.queue, p.head = append(p.queue[:0], p.queue[p.head:]...), 0
	}
	p.queue = append(p.queue, due)
	return true
}

// take returns the oldest queued start, or waits for one as w; false
// once the pool is closed and its queue empty.
func (p *pool) take(w *worker) (time.Duration, bool) {
	p.mu.Lock()
	if p.head < len(p.queue) {
		due := p.queue[p.head]
		p.head++
		p.mu.Unlock()
		return due, true
	}
	if p.closed {
		p.mu.Unlock()
		return 0, false
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	due, ok := <-w.start
	return due, ok
}

// close ends the pool: the idle workers return, the busy ones once the
// queue is empty.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, w := range idle {
		close(w.start)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	workers := make([]*worker, o.workers)
	for i := range workers {
		workers[i] = &worker{c: &http.Client{Transport: &http.Transport{}}, start: make(chan time.Duration, 1)}
	}
	defer func() {
		for _, w := range workers {
			w.c.CloseIdleConnections()
		}
	}()
	for i, w := range workers {
		if !o.warm {
			break
		}
		if err := w.get(o.url); err != nil {
			return fmt.Errorf("-warm: worker %d: %w; is the target up?", i, err)
		}
	}
	var ok, failed atomic.Int64
	p := &pool{limit: o.workers}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				due, more := p.take(w)
				if !more {
					return
				}
				lag := time.Since(start) - due
				w.lags = append(w.lags, lag)
				if due >= steadyAfter {
					w.steady = append(w.steady, lag)
				}
				if w.get(o.url) == nil {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	sl := tick.NewSleeper()
	defer sl.Close()
	var scheduled, dropped int64
	interval := float64(time.Second) / o.rate
	for k := 0; ; k++ {
		due := time.Duration(float64(k) * interval)
		if due >= o.duration {
			break
		}
		if wait := due - time.Since(start); wait > 0 {
			// The starts due meanwhile go at the same wake; the last ones at
			// the end, and none before its time.
			sl.Sleep(max(wait, min(wait+o.window, o.duration-time.Since(start))))
		}
		scheduled++
		if !p.release(due) {
			dropped++
		}
	}
	p.close()
	wg.Wait()
	elapsed := time.Since(start)
	var lags, steady []time.Duration
	for _, w := range workers {
		lags, steady = append(lags, w.lags...), append(steady, w.steady...)
	}
	all := quantiles(lags)
	return json.NewEncoder(stdout).Encode(map[string]any{
		"ok": ok.Load(), "failed": failed.Load(), "scheduled": scheduled, "dropped": dropped,
		"elapsed_s":        elapsed.Seconds(),
		"start_lag_p50_ns": all(0.50), "start_lag_p99_ns": all(0.99), "start_lag_max_ns": all(1),
		"start_lag_p99_steady_ns": quantiles(steady)(0.99),
	})
}

// quantiles sorts d and returns its quantile function, in nanoseconds:
// the value at index q×(len-1), rounded (zero when d is empty).
func quantiles(d []time.Duration) func(q float64) int64 {
	slices.Sort(d)
	return func(q float64) int64 {
		if len(d) == 0 {
			return 0
		}
		return int64(d[int(q*float64(len(d)-1)+0.5)])
	}
}
