// Package prom exposes molotov-go runs to Prometheus: a Collector over a
// run (or a finished Result), an HTTP endpoint to scrape while the run
// lasts, and a push of the final figures to a Pushgateway. It is a
// satellite of package molotov, which does not import it; importing it
// also makes the -molotov.prometheus=ADDR flag (MOLOTOV_PROMETHEUS) of
// Runner.Test serve the run at http://ADDR/metrics while it lasts.
//
//	run, _ := r.Start(ctx)
//	ep, _ := prom.Serve("127.0.0.1:9100", run)
//	defer ep.Close()
//	res, _ := run.Wait()
//	prom.Push(ctx, "http://pushgateway:9091", "loadtest", res)
//
// Metrics (labels in braces):
//
//	molotov_scenario_runs_total{scenario,result}    counter   result is "ok" or "failed"
//	molotov_scenario_duration_seconds{scenario}     histogram scenario run latency
//	molotov_requests_total{request,status}          counter   responses by status; status "error" for none
//	molotov_request_duration_seconds{request}       histogram request latency
//	molotov_runs_started_total                      counter
//	molotov_workers_max                             gauge     most workers active at once
//	molotov_workers_busy_max                        gauge     the open model's most workers running a start at once
//	molotov_starts_scheduled_total                  counter   the open model's starts (Runner.Rate)
//	molotov_starts_dropped_total                    counter   the open model's starts that never began
//	molotov_connections_opened_total                counter   the connections the sessions opened
package prom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/molotov-go/molotov"
)

// Importing the package makes -molotov.prometheus=ADDR available to load
// tests: the run serves its metrics at http://ADDR/metrics while it lasts.
func init() {
	molotov.RegisterExporter("prometheus", func(addr string, run *molotov.Run) (func() error, error) {
		s, err := Serve(addr, run)
		if err != nil {
			return nil, err
		}
		return s.Close, nil
	})
}

// DefaultBuckets are the latency bucket bounds, in seconds: from 1ms to
// 30s, about three per decade.
var DefaultBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// descs are a Collector's metric descriptors. A share of a segmented run
// (Runner.Segment) gives every metric the constant label segment="i/n",
// so that a dashboard can sum the shares while the run lasts.
type descs struct {
	runs, scenarioDur, requests, requestDur, started, workers, busy, scheduled, dropped, conns *prometheus.Desc
}

// wholeRun are the descriptors of a run that is not a share.
var wholeRun = newDescs("")

func newDescs(segment string) *descs {
	var labels prometheus.Labels
	if segment != "" {
		labels = prometheus.Labels{"segment": segment}
	}
	return &descs{
		runs: prometheus.NewDesc("molotov_scenario_runs_total",
			"Scenario runs that ended, by scenario and result (ok or failed).", []string{"scenario", "result"}, labels),
		scenarioDur: prometheus.NewDesc("molotov_scenario_duration_seconds",
			"Latency of scenario runs, successful or not.", []string{"scenario"}, labels),
		requests: prometheus.NewDesc("molotov_requests_total",
			`Requests by name ("GET /items") and response status; status "error" for requests without a response.`, []string{"request", "status"}, labels),
		requestDur: prometheus.NewDesc("molotov_request_duration_seconds",
			"Latency of requests, from sending to the end of the body.", []string{"request"}, labels),
		started: prometheus.NewDesc("molotov_runs_started_total",
			"Scenario runs started.", nil, labels),
		workers: prometheus.NewDesc("molotov_workers_max",
			"Most workers active at once.", nil, labels),
		busy: prometheus.NewDesc("molotov_workers_busy_max",
			"The open model's most workers running a start at once (Runner.Rate); 0 in the closed model.", nil, labels),
		scheduled: prometheus.NewDesc("molotov_starts_scheduled_total",
			"The open model's scheduled starts (Runner.Rate); 0 in the closed model.", nil, labels),
		dropped: prometheus.NewDesc("molotov_starts_dropped_total",
			"The open model's starts that never began: no free worker within MaxLag, or the run was stopped first.", nil, labels),
		conns: prometheus.NewDesc("molotov_connections_opened_total",
			"Connections the sessions opened (Result.Connections).", nil, labels),
	}
}

// Collector is a prometheus.Collector over a run's figures, read afresh
// at each scrape.
type Collector struct {
	result  func() *molotov.Result
	buckets []float64
	d       *descs // nil: a whole run's
}

// NewCollector returns a Collector over a run in progress (or ended).
func NewCollector(run *molotov.Run) *Collector {
	return &Collector{result: run.Snapshot, buckets: DefaultBuckets, d: newDescs(run.Snapshot().Segment)}
}

// NewResultCollector returns a Collector over a finished run's Result,
// for Push or for a registry kept after the run.
func NewResultCollector(res *molotov.Result) *Collector {
	return &Collector{result: func() *molotov.Result { return res }, buckets: DefaultBuckets, d: newDescs(res.Segment)}
}

// descs returns the collector's descriptors; a zero Collector has those
// of a whole run.
func (c *Collector) descs() *descs {
	if c.d == nil {
		return wholeRun
	}
	return c.d
}

// Describe sends the descriptors of the metrics Collect sends.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs()
	for _, d := range []*prometheus.Desc{d.runs, d.scenarioDur, d.requests, d.requestDur, d.started, d.workers, d.busy, d.scheduled, d.dropped, d.conns} {
		ch <- d
	}
}

// Collect sends the run's current figures.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	res := c.result()
	if res == nil {
		return
	}
	d := c.descs()
	ch <- prometheus.MustNewConstMetric(d.started, prometheus.CounterValue, float64(res.Started))
	ch <- prometheus.MustNewConstMetric(d.workers, prometheus.GaugeValue, float64(res.MaxWorkers))
	ch <- prometheus.MustNewConstMetric(d.busy, prometheus.GaugeValue, float64(res.PeakBusy))
	ch <- prometheus.MustNewConstMetric(d.scheduled, prometheus.CounterValue, float64(res.Scheduled))
	ch <- prometheus.MustNewConstMetric(d.dropped, prometheus.CounterValue, float64(res.Dropped))
	ch <- prometheus.MustNewConstMetric(d.conns, prometheus.CounterValue, float64(res.Connections))
	for name, s := range res.Scenarios {
		ch <- prometheus.MustNewConstMetric(d.runs, prometheus.CounterValue, float64(s.OK), name, "ok")
		ch <- prometheus.MustNewConstMetric(d.runs, prometheus.CounterValue, float64(s.Failed), name, "failed")
		ch <- c.histogram(d.scenarioDur, s.Histogram(), name)
	}
	for name, r := range res.Requests {
		var answered int64
		for code, n := range r.Status {
			answered += n
			ch <- prometheus.MustNewConstMetric(d.requests, prometheus.CounterValue, float64(n), name, strconv.Itoa(code))
		}
		if none := r.Count - answered; none > 0 {
			ch <- prometheus.MustNewConstMetric(d.requests, prometheus.CounterValue, float64(none), name, "error")
		}
		ch <- c.histogram(d.requestDur, r.Histogram(), name)
	}
}

func (c *Collector) histogram(desc *prometheus.Desc, h molotov.Histogram, label string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(c.buckets))
	for _, b := range c.buckets {
		buckets[b] = uint64(h.CountAtOrBelow(time.Duration(b * float64(time.Second))))
	}
	return prometheus.MustNewConstHistogram(desc, uint64(h.Count()), h.Sum().Seconds(), buckets, label)
}

// Serve exposes the run's metrics at http://addr/metrics until stop is
// called; addr "127.0.0.1:0" picks a free port, which Addr reports.
// The endpoint serves only the run's metrics (its own registry).
func Serve(addr string, run *molotov.Run) (*Server, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(run)); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("prom: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Server is the endpoint started by Serve.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan error
}

// Addr returns the address the endpoint listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the endpoint and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// Push sends a finished run's figures to the Pushgateway at url under job.
func Push(ctx context.Context, url, job string, res *molotov.Result) error {
	if err := push.New(url, job).Collector(NewResultCollector(res)).PushContext(ctx); err != nil {
		return fmt.Errorf("prom: pushing to %s: %w", url, err)
	}
	return nil
}
