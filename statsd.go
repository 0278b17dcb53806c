package molotov

import (
	"strconv"
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/statsd"
)

// statsdDial connects to Runner.Statsd; tests replace it.
var statsdDial = statsd.Dial

// statsdSink sends a run's figures to statsd (Runner.Statsd, -molotov.statsd),
// in Molotov's spirit: per request a timing and a counter per status, per
// scenario run a counter:
//
//	molotov.request.<METHOD>.<path>            timing, milliseconds ("GET /items" → molotov.request.GET./items)
//	molotov.request.<METHOD>.<path>.<status>   counter per response status; ".error" for no response
//	molotov.scenario.<name>.ok                 counter of successful runs
//	molotov.scenario.<name>.failed             counter of failed runs
//
// Names are statsd-safe: spaces become dots, ":|@#" underscores. Sending
// never blocks the run: the client queues and drops (and counts) what a
// slow or absent server cannot take.
type statsdSink struct {
	c        *statsd.Client
	ok, fail []string // by scenario index
}

func newStatsdSink(c *statsd.Client, names []string) *statsdSink {
	s := &statsdSink{c: c, ok: make([]string, len(names)), fail: make([]string, len(names))}
	for i, n := range names {
		s.ok[i] = statsd.Name("molotov.scenario", n, "ok")
		s.fail[i] = statsd.Name("molotov.scenario", n, "failed")
	}
	return s
}

// scenario counts one scenario run.
func (s *statsdSink) scenario(index int, ok bool) {
	if ok {
		s.c.Count(s.ok[index], 1)
	} else {
		s.c.Count(s.fail[index], 1)
	}
}

// requestNames are the statsd names of one request name, built once.
type requestNames struct {
	timing string
	status sync.Map // int → string
}

// request sends one request's timing and status.
func (s *statsdSink) request(r *requestStats, d time.Duration, status int) {
	n := r.statsd.Load()
	if n == nil {
		n = &requestNames{timing: statsd.Name("molotov.request", r.name)}
		if !r.statsd.CompareAndSwap(nil, n) {
			n = r.statsd.Load()
		}
	}
	s.c.Timing(n.timing, d)
	name, ok := n.status.Load(status)
	if !ok {
		suffix := "error"
		if status > 0 {
			suffix = strconv.Itoa(status)
		}
		name, _ = n.status.LoadOrStore(status, n.timing+"."+suffix)
	}
	s.c.Count(name.(string), 1)
}
