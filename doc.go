// Package molotov is a load-testing library, the Go successor of Mozilla's
// Molotov. Scenarios are plain Go functions that make HTTP requests
// through a [Session]; a [Runner] runs them with many concurrent workers
// and reports exact counts and latency percentiles. A load test is an
// ordinary Go test, run with go test.
//
//	func init() {
//		molotov.Scenario("list_items", 6, func(ctx context.Context, s *molotov.Session) error {
//			resp, err := s.Get(ctx, "/items")
//			if err != nil {
//				return err
//			}
//			return molotov.ExpectStatus(resp, http.StatusOK)
//		})
//	}
//
//	func TestLoad(t *testing.T) {
//		r := molotov.Runner{BaseURL: srv.URL, Workers: 10, Duration: 3 * time.Second}
//		res := r.Test(t) // fails t on failed runs; honours -molotov.* flags
//		if res != nil && res.Scenarios["list_items"].Latency.P99 > time.Second {
//			t.Errorf("list_items too slow")
//		}
//	}
//
// The module's examples/quickstart and examples/api hold complete load
// tests, and its docs/ directory one page a topic.
//
// # Scenarios and fixtures
//
// A [ScenarioFunc] does what one user would do and returns nil for a
// success or an error for a failure (a panic is a [*PanicError]).
// [Registry.Scenario] registers it under a name with a weight: each step,
// a worker picks a scenario with probability weight/sum(weights). [Delay]
// pauses after a scenario's successful runs; [Registry.ScenarioPicker]
// replaces the weighted choice. The package-level functions act on
// [DefaultRegistry], as http.HandleFunc does on http.DefaultServeMux; set
// [Runner.Registry] to one from [NewRegistry] for isolation. Registration
// mistakes (a duplicate name, a negative weight) panic at init time.
//
// Fixtures run in Molotov's order:
//
//	GlobalSetup
//	  per worker: Setup → SetupSession → scenario runs → TeardownSession → Teardown
//	GlobalTeardown
//
// [Registry.Setup] returns the [SessionConfig] of the worker's session
// (base URL, headers, timeout, transport). A failing GlobalSetup stops the
// run before it starts ([*FixtureError]); a failing Setup or SetupSession
// stops only its worker, counted in Result.SetupFailed. Teardowns run
// after failures and cancellations, with a context the stop does not
// cancel. [Registry.OnEvent] receives Molotov's events.
//
// Do not call t.Fatal, t.FailNow or testify's require in a scenario or a
// fixture: they run on worker goroutines. Return an error; [ExpectStatus]
// builds one for an unexpected status. (If one does, that run, or that
// fixture, fails saying so, and the worker goes on.)
//
// # Sessions
//
// Each worker keeps one [Session] for the whole run, with its own
// [http.Client] (Session.Client): its own connections and cookie jar.
// Every request made through Session.Client is measured, from sending it
// to the end of its body, whoever makes it. A path is resolved against
// the base URL ([Session.URL]). Requests are grouped by "METHOD /path";
// name a group for URLs with ids with [WithRequestName]. [Runner.RequestTimeout]
// (30s unless set) bounds each whole request, and [Runner.MaxResponseBytes]
// (64 MiB) each body.
//
// Values shared by all workers go in [Registry.SetVar]; a worker's own go
// in [Session.SetValue] and [Session.Value]. [Session.Worker],
// [Session.Step] and [Session.Iteration] number the worker, its runs and
// the run's runs. [Session.Measure] times work that is not HTTP;
// [Session.Printf] and [Session.Metrics] are Molotov's session.print and
// get_context(session).statsd.
//
// # Running
//
// [Runner] holds the options; its zero value runs one worker over
// DefaultRegistry. [Runner.Run] blocks until the run ends; [Runner.Start]
// runs it in the background ([Run.Snapshot], [Run.Stop], [Run.Wait]).
// Both return an error only for a bad configuration ([*ConfigError],
// [*ThresholdError]) or a failed GlobalSetup: every failure of the target
// is counted in the [Result]. A run stops at Duration, MaxRuns or
// SingleRun, at a failure limit (ExitOnFailure, MaxFailures), when its
// context is cancelled, or for a few other reasons that
// [Result.StopReason] names. Run never handles signals.
//
// # Workload models
//
// A run is closed by default: [Runner.Workers] workers each run scenario
// after scenario as fast as the target answers. With [Runner.Rate] it is
// open: runs start on a schedule, taken by a pool of [Runner.MaxWorkers]
// sessions; a start that waits longer than [Runner.MaxLag] is dropped and
// counted, and latency is measured from each intended start, so that a
// stall shows in the percentiles (no coordinated omission).
// [Runner.Stages] shape either model over time, and [Runner.Sizing]
// searches for the load at which failures pass a tolerance.
//
// # Running from go test
//
// [Runner.Test] runs the load test inside a test:
//
//	go test -count=1 ./loadtest -run Load -v
//	go test -count=1 ./loadtest -run Load -v -args -molotov.workers=50 -molotov.duration=1m
//	MOLOTOV_WORKERS=50 go test -count=1 ./...
//
// It applies the -molotov.* flags and MOLOTOV_* environment variables to a
// copy of the Runner (flag beats environment beats field; go test ./loadtest
// -args -h lists the flags, and docs/flags.md lists them all), refuses an
// unbounded run, skips under -short, clips the run to the test's deadline,
// and turns SIGINT or SIGTERM into a cancellation. It logs the summary with
// t.Logf unless Quiet is set, and fails the test exactly when
// [Result.Outcome] is not [OutcomePassed]: failed runs (MaxFailures of
// them when set; else any, unless a threshold on failures such as
// failure_rate < 1% judges them; runs the run itself cancelled never
// count), a failed Setup, a broken threshold, or an interruption. It
// returns the Result, or nil when it skipped or the run could not start.
// Keep -count=1: go test caches passing results.
//
// # Results
//
// A [Result] counts exactly: Started == OK + Failed, in total and per
// scenario; per request name it counts responses by status and errors.
// Latencies ([Latency]) come from histograms of every value: min, max and
// mean are exact, percentiles within 0.4%. The run also feeds a go-metrics
// registry ([Runner.Metrics]) and, with [Runner.Statsd], a statsd server;
// the prom package exposes it to Prometheus (metric names in
// docs/metrics.md).
//
// [Runner.Thresholds] are pass/fail rules such as "p99 < 200ms" or
// "scenario(checkout).failure_rate < 1%" (grammar at [ThresholdResult]).
// [Result.WriteJSON] (or -molotov.json) writes a versioned JSON result
// with its histograms, [ReadResult] reads it, and [Compare] (or molotov
// compare) says what changed between two runs. [Result.WriteHTML] (or
// -molotov.html, or molotov report) shows a result as one self-contained
// HTML page with charts. [Benchmark] runs the load as a Go benchmark, for
// benchstat.
//
// # Beyond one machine
//
// [Runner.Segment] ("i/n", or "auto" in a Kubernetes Indexed Job) runs
// share i of n of the configured run, so that n instances together run it
// exactly, and [Runner.StartAt] aligns their start without a coordinator.
// [Merge] (or molotov merge) merges their JSON results losslessly and
// judges the thresholds and the failure budget on the whole run
// (docs/distributed.md).
//
// # More
//
// The module's docs/ directory goes deeper, one page a topic:
// writing-load-tests.md (scenarios, fixtures, sessions), flags.md,
// workload-models.md, thresholds.md (with outcomes and stop reasons),
// results.md (JSON, compare, benchstat), report.md, distributed.md,
// metrics.md, command.md (the molotov command), reliability.md,
// performance.md, and
// migrating-from-molotov.md, which lists where molotov-go differs from
// Molotov (a run-wide Duration, workers that are goroutines, ...).
package molotov
