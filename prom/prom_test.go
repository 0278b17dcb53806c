package prom

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/molotov-go/molotov"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target answers /items with 200 and /missing with 404.
func target(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		time.Sleep(2 * time.Millisecond)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func registry() *molotov.Registry {
	reg := molotov.NewRegistry()
	get := func(path string, want int) molotov.ScenarioFunc {
		return func(ctx context.Context, s *molotov.Session) error {
			resp, err := s.Get(ctx, path)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			return molotov.ExpectStatus(resp, want)
		}
	}
	reg.Scenario("list", 3, get("/items", 200))
	reg.Scenario("broken", 1, get("/missing", 200)) // always fails: a 404
	return reg
}

// The endpoint answers while the run goes on, with the scenario counters.
func TestServeDuringTheRun(t *testing.T) {
	srv := target(t)
	run, err := (&molotov.Runner{Registry: registry(), BaseURL: srv.URL, Workers: 2, Duration: 5 * time.Second, Quiet: true}).Start(context.Background())
	require.NoError(t, err)
	ep, err := Serve("127.0.0.1:0", run)
	require.NoError(t, err)
	defer ep.Close()

	var body string
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + ep.Addr() + "/metrics")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, `molotov_requests_total{request="GET /missing",status="404"}`) &&
			strings.Contains(body, `molotov_requests_total{request="GET /items",status="200"}`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Empty(t, run.Snapshot().StopReason, "scraped while the run goes on")
	assert.NotContains(t, body, `molotov_scenario_runs_total{result="ok",scenario="list"} 0`+"\n", "runs counted")
	for _, want := range []string{
		`molotov_scenario_runs_total{result="ok",scenario="list"}`,
		`molotov_scenario_runs_total{result="failed",scenario="broken"}`,
		`molotov_scenario_duration_seconds_bucket{scenario="list",le="0.001"}`,
		`molotov_requests_total{request="GET /missing",status="404"}`,
		`molotov_request_duration_seconds_count{request="GET /items"}`,
		`molotov_runs_started_total`,
	} {
		assert.Contains(t, body, want)
	}
	run.Stop()
	_, err = run.Wait()
	require.NoError(t, err)
}

// The collector's figures are the Result's, checked with testutil.
func TestCollectorMatchesTheResult(t *testing.T) {
	srv := target(t)
	res, err := (&molotov.Runner{Registry: registry(), BaseURL: srv.URL, Workers: 2, MaxRuns: 20, Seed: 3, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	c := NewResultCollector(res)
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems, "promlint")

	list, broken := res.Scenarios["list"], res.Scenarios["broken"]
	require.EqualValues(t, 40, list.OK+broken.OK+list.Failed+broken.Failed)
	want := `
# HELP molotov_runs_started_total Scenario runs started.
# TYPE molotov_runs_started_total counter
molotov_runs_started_total 40
# HELP molotov_workers_max Most workers active at once.
# TYPE molotov_workers_max gauge
molotov_workers_max 2
`
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "molotov_runs_started_total", "molotov_workers_max"))

	// Counters per scenario and per status, and histogram counts.
	n, err := testutil.GatherAndCount(mustRegistry(t, c), "molotov_scenario_runs_total")
	require.NoError(t, err)
	assert.Equal(t, 4, n, "ok and failed for two scenarios")
	var exp strings.Builder
	exp.WriteString("# HELP molotov_scenario_runs_total Scenario runs that ended, by scenario and result (ok or failed).\n# TYPE molotov_scenario_runs_total counter\n")
	for _, row := range []struct {
		res, sc string
		n       int64
	}{{"failed", "broken", broken.Failed}, {"ok", "broken", broken.OK}, {"failed", "list", list.Failed}, {"ok", "list", list.OK}} {
		exp.WriteString(`molotov_scenario_runs_total{result="` + row.res + `",scenario="` + row.sc + `"} ` + itoa(row.n) + "\n")
	}
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(exp.String()), "molotov_scenario_runs_total"))
}

func TestPushSendsTheFinalFigures(t *testing.T) {
	var mu sync.Mutex
	var got []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	srv := target(t)
	res, err := (&molotov.Runner{Registry: registry(), BaseURL: srv.URL, MaxRuns: 4, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, Push(context.Background(), gw.URL, "loadtest", res))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	assert.True(t, strings.HasPrefix(got[0], "PUT /metrics/job/loadtest "), got[0])
	assert.Contains(t, got[0], "molotov_scenario_runs_total")

	err = Push(context.Background(), "http://127.0.0.1:1", "loadtest", res)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "prom: pushing to http://127.0.0.1:1")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustRegistry(t *testing.T, c *Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	return reg
}

// -molotov.prometheus (here MOLOTOV_PROMETHEUS) serves the run's metrics
// while Runner.Test runs it, once this package is imported.
func TestPrometheusFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("MOLOTOV_PROMETHEUS", addr)

	srv := target(t)
	found := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), `molotov_requests_total{request="GET /items",status="200"}`) {
					found <- true
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		found <- false
	}()
	reg := molotov.NewRegistry()
	reg.Scenario("list", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/items")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	})
	res := (&molotov.Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 1500 * time.Millisecond, Quiet: true}).Test(t)
	require.NotNil(t, res)
	assert.True(t, <-found, "the endpoint served the run's metrics while it lasted")
	_, err = http.Get("http://" + addr + "/metrics")
	assert.Error(t, err, "the endpoint is gone once the run ended")
}

// The open model's starts are exported.
func TestCollectorOpenModel(t *testing.T) {
	srv := target(t)
	res, err := (&molotov.Runner{Registry: registry(), BaseURL: srv.URL, Rate: 50, Duration: 400 * time.Millisecond, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	c := NewResultCollector(res)
	want := "# HELP molotov_starts_scheduled_total The open model's scheduled starts (Runner.Rate); 0 in the closed model.\n" +
		"# TYPE molotov_starts_scheduled_total counter\nmolotov_starts_scheduled_total 20\n"
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "molotov_starts_scheduled_total"))
	assert.Equal(t, float64(res.Dropped), testutil.ToFloat64(collectorFor(c, "molotov_starts_dropped_total")))
}

// collectorFor keeps one metric of c, for testutil.ToFloat64.
type oneMetric struct {
	c    *Collector
	name string
}

func collectorFor(c *Collector, name string) prometheus.Collector { return oneMetric{c, name} }

func (o oneMetric) Describe(ch chan<- *prometheus.Desc) { o.c.Describe(ch) }
func (o oneMetric) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 1024)
	o.c.Collect(all)
	close(all)
	for m := range all {
		if strings.Contains(m.Desc().String(), `"`+o.name+`"`) {
			ch <- m
		}
	}
}

// A share of a segmented run labels every metric with its segment, so
// that a dashboard can sum the shares; a whole run has no such label.
func TestCollectorLabelsTheSegment(t *testing.T) {
	srv := target(t)
	res, err := (&molotov.Runner{Registry: registry(), BaseURL: srv.URL, Workers: 4, MaxRuns: 5, Segment: "1/2", Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, "1/2", res.Segment)
	c := NewResultCollector(res)
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems, "promlint")
	want := `
# HELP molotov_runs_started_total Scenario runs started.
# TYPE molotov_runs_started_total counter
molotov_runs_started_total{segment="1/2"} 10
`
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "molotov_runs_started_total"))
	reg := mustRegistry(t, c)
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var seg string
			for _, l := range m.GetLabel() {
				if l.GetName() == "segment" {
					seg = l.GetValue()
				}
			}
			assert.Equal(t, "1/2", seg, "%s has no segment label", f.GetName())
		}
	}
}

// The connections the sessions opened are exported.
func TestCollectorConnections(t *testing.T) {
	srv := target(t)
	res, err := (&molotov.Runner{Registry: registry(), BaseURL: srv.URL, Workers: 2, MaxRuns: 3, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	require.Positive(t, res.Connections)
	assert.Equal(t, float64(res.Connections), testutil.ToFloat64(collectorFor(NewResultCollector(res), "molotov_connections_opened_total")))
}
