package molotov

import (
	"strconv"
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/segment"
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
// Names are statsd-safe: spaces become dots, ":|@#" underscores. A share
// of a segmented run (Runner.Segment i/n) puts its segment after
// "molotov.", as segment_I_of_N (molotov.segment_0_of_4.scenario.<name>.ok),
// so that a dashboard sums the shares with a wildcard on that node.
// Sending never blocks the run: the client queues and drops (and counts)
// what a slow or absent server cannot take.
type statsdSink struct {
	c        *statsd.Client
	prefix   string   // "molotov", or "molotov.segment_I_of_N"
	ok, fail []string // by scenario index
}

func newStatsdSink(c *statsd.Client, names []string, seg segment.Segment) *statsdSink {
	s := &statsdSink{c: c, prefix: "molotov", ok: make([]string, len(names)), fail: make([]string, len(names))}
	if seg.N > 0 {
		s.prefix += ".segment_" + strconv.Itoa(seg.I) + "_of_" + strconv.Itoa(seg.N)
	}
	for i, n := range names {
		s.ok[i] = statsd.Name(s.prefix+".scenario", n, "ok")
		s.fail[i] = statsd.Name(s.prefix+".scenario", n, "failed")
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
		n = &requestNames{timing: statsd.Name(s.prefix+".request", r.name)}
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
