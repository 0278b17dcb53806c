// Package molotov is a load-testing library: you describe what users do as
// scenarios, plain Go functions that make HTTP requests through a
// [Session], and a [Runner] runs them with many concurrent workers for a
// while, then reports exactly how many runs succeeded and failed and how
// long requests took. It is the Go successor of Mozilla's Molotov and keeps
// its vocabulary (scenarios with weights, fixtures, events, workers, the
// same options), but a load test is an ordinary Go test: it runs with
// go test, inside the test binary, against a target you start or name.
//
// A load test registers scenarios (here on [DefaultRegistry], through the
// package-level functions) and runs them from a test:
//
//	func init() {
//		molotov.Scenario("list_items", 6, func(ctx context.Context, s *molotov.Session) error {
//			resp, err := s.Get(ctx, "/items")
//			if err != nil {
//				return err
//			}
//			return molotov.ExpectStatus(resp, http.StatusOK)
//		})
//		molotov.Scenario("create_item", 1, createItem, molotov.Delay(10*time.Millisecond))
//	}
//
//	func TestLoad(t *testing.T) {
//		srv := httptest.NewServer(NewServer())
//		defer srv.Close()
//		r := molotov.Runner{BaseURL: srv.URL, Workers: 10, Duration: 3 * time.Second}
//		res := r.Test(t) // fails t on failed runs; honours -molotov.* flags
//		if p99 := res.Scenarios["list_items"].Latency.P99; p99 > time.Second {
//			t.Errorf("list_items p99 = %v, want <= 1s", p99)
//		}
//	}
//
// The module's examples/quickstart and examples/api directories hold
// complete load tests.
//
// # Writing scenarios
//
// A scenario is a [ScenarioFunc]: it receives a context and the worker's
// [Session], does what one user would do, and returns nil for a success or
// an error for a failure. A panic is a failure too (a [*PanicError] with
// the stack). [Registry.Scenario] registers it under a unique name with a
// weight: at each step a worker picks a scenario with probability
// weight/sum(weights). Weight 0 registers a scenario that weighted picking
// never chooses but [Runner.SingleMode] and [Runner.SingleRun] can run.
// [Delay] adds a pause after each successful run of one scenario.
// [Registry.ScenarioPicker] replaces weighted picking with your own
// function of the worker and step numbers.
//
// Registration mistakes are programming errors found at init time: an
// empty or duplicate name, a negative weight, a nil func or a second
// fixture of the same kind panics with a message naming the culprit.
//
// Scenarios register on a [Registry]. The package-level functions
// ([Scenario], [Setup], [SetVar], ...) act on [DefaultRegistry], like
// http.HandleFunc on http.DefaultServeMux; a test that wants isolation
// creates its own with [NewRegistry] and sets [Runner.Registry]. A registry
// also holds shared variables: [Registry.SetVar] and [Registry.Var], safe
// for concurrent use and shared by every worker (Molotov's set_var and
// get_var). A run does not reset them.
//
// Return errors rather than failing the test: never call t.Fatal, t.FailNow
// or testify's require inside a scenario or a fixture, which run on worker
// goroutines. [ExpectStatus] turns an unexpected status into a
// [*StatusError] that names the request, what came and what was wanted;
// [Session.GetJSON] and [Session.PostJSON] check for a 2xx status and
// decode the JSON answer. Work that is not HTTP (a gRPC call, a database
// query) is timed with [Session.Measure].
//
// # Fixtures
//
// Fixtures run around the scenarios, in Molotov's order. Each is a
// [Registry] method with a package-level twin, and each kind may be
// registered once per registry, [Registry.OnEvent] aside.
//
//	Molotov             molotov-go                                                     runs
//	@global_setup       GlobalSetup(func(ctx, *Runner) error)                          once, before any worker starts
//	@setup              Setup(func(ctx, worker int, *Runner) (*SessionConfig, error))  once per worker, before its session exists
//	@setup_session      SetupSession(func(ctx, *Session) error)                        once per worker, after its session is created
//	@teardown_session   TeardownSession(func(ctx, *Session) error)                     once per worker, before its session closes
//	@teardown           Teardown(func(ctx, worker int))                                once per worker, after its session closed
//	@global_teardown    GlobalTeardown(func(ctx))                                      once, after every worker ended
//	@events             OnEvent(func(Event))                                           for every event, on the goroutine where it happened
//
// so that one run goes
//
//	GlobalSetup
//	  per worker: Setup → SetupSession → scenario runs → TeardownSession → Teardown
//	GlobalTeardown
//
// The *Runner handed to GlobalSetup and Setup is a copy of the run's
// options with defaults and flags applied: read it (Workers, BaseURL...) to
// learn them; changing it has no effect. The [SessionConfig] that Setup
// returns shapes the worker's session: its base URL, headers sent with
// every request (an Authorization header, say), request timeout and
// transport.
//
// When a fixture fails (returns an error or panics):
//
//   - GlobalSetup: [Runner.Run] (or [Runner.Start]) returns the error, a
//     [*FixtureError]; no worker starts and GlobalTeardown does not run.
//   - Setup or SetupSession: only that worker stops. It is counted in
//     Result.SetupFailed and its error in Result.Errors; the other workers
//     go on. After a failed SetupSession its TeardownSession and Teardown
//     still run; after a failed Setup there is no session, so only its
//     Teardown runs. When every worker failed its setup the run stops with
//     [StopSetupFailed], and [Runner.Test] fails the test.
//   - TeardownSession, Teardown, GlobalTeardown: the error is logged; the
//     other teardowns still run.
//
// Teardowns run even after failures, a stop or a cancellation, and their
// context is not cancelled by the run's stop (it derives from
// context.WithoutCancel, bounded by RequestTimeout), so cleanup requests
// still work after an interrupt. GlobalSetup, Setup and SetupSession get
// the run's context.
//
// Event handlers receive an [Event] for each request sent and received,
// each scenario start, success and failure, and every second the number of
// active workers. They run synchronously on the worker's goroutine, so a
// slow handler slows the load; with no handler registered no event is
// built. A panicking handler is logged and ignored.
//
// A worker runs on one goroutine at a time, but not always the same one:
// its set-up and first run happen on one goroutine, and its other runs and
// its teardowns on a second one, which starts with a small stack (the
// first request and the fixtures go deepest, and a goroutine keeps the
// stack they grew). In the open model all its runs happen on the second;
// a worker whose set-up failed, or that has no run left after its first,
// stays on the first. Nothing a worker's fixtures and scenarios see changes
// with it, except what is tied to a goroutine itself, such as
// runtime.LockOSThread; profiler labels carry over.
//
// # Sessions
//
// Each worker has its own [Session] for the whole run: its own
// [http.Client] (Session.Client), with its own transport, connection pool
// and cookie jar, so cookies and keep-alive connections persist from one
// scenario run to the next, as a user's browser would keep them.
// [Session.Worker] is the worker's number from 0, [Session.Step] the
// worker's run count from 1, and [Session.Iteration] a run-wide count,
// unique across workers, for unique test data.
//
// URLs given to [Session.Get], [Session.Post], [Session.GetJSON],
// [Session.PostJSON] and [Session.Do] are resolved by [Session.URL]: an
// absolute URL is used as is; a path is appended to the base URL's path
// (SessionConfig.BaseURL, else Runner.BaseURL), so "http://h/api/v1" and
// "/items" give "http://h/api/v1/items". BaseURL may be empty when
// scenarios use absolute URLs.
//
// Every request made through Session.Client is measured, whoever makes it:
// measurement lives in the client's transport, so a generated API client
// built on s.Client is measured too, and a scenario may fan out over
// s.Client from several goroutines (they must end before it returns).
// Headers from SessionConfig.Header are added to each request that does
// not set them itself (a Cookie header is merged with the jar's cookies),
// except that credentials (Authorization, Cookie...) are not added to a
// redirect that leaves the first request's domain, where net/http itself
// drops them.
//
// Requests are grouped in the statistics by name, "METHOD /path" with the
// query left out ("GET /items"). URLs with ids in them would make one group
// per id; name the group with [WithRequestName]:
//
//	ctx = molotov.WithRequestName(ctx, "GET /items/{id}")
//
// Past 1,000 distinct names in a run, further names are counted under
// "other", with one warning, so memory stays bounded.
//
// A request's latency runs from sending it until its response body is
// read to its end or closed, so it includes the transfer of the body. A
// body that the scenario leaves open is drained (up to 256 KiB; a longer
// body's connection is closed instead) and closed when the scenario
// returns, so connections are reused; its latency then ends at the
// scenario's last read of it, or at the response headers if it never read
// it. Idle connections are closed when the session ends.
//
// [Runner.RequestTimeout] (default 30s; SessionConfig.Timeout per worker)
// bounds each whole request, headers and body: past it the request fails
// with a [*TimeoutError]. The run's clock enforces it without a runtime
// timer (a Linux timerfd), waking at the earliest deadline in flight, so a
// request fails within 10ms of its deadline; timeouts under 200ms get a
// context deadline of their own. A body longer than [Runner.MaxResponseBytes]
// (default 64 MiB) fails with a [*ResponseTooLargeError].
//
// [Session.Printf] prints a line on the run's console (Molotov's
// session.print), [Session.Logger] returns the run's zap logger, and
// [Session.Metrics] the run's go-metrics registry for custom metrics
// (Molotov's get_context(session).statsd).
//
// # Running
//
// [Runner] holds the options; its fields mirror Molotov's command line and
// its zero value runs one worker over DefaultRegistry. [Runner.Run] runs
// the load test and blocks until it ends. [Runner.Start] starts the same
// run in the background and returns a [*Run], for a load phase inside an
// integration test: [Run.Snapshot] returns the figures so far, [Run.Stop]
// stops it, and [Run.Wait] waits for the end and returns the [Result].
//
// Run and Start return an error for a bad configuration (a [*ConfigError]
// naming the field: no scenario, an unknown SingleMode, a negative value,
// a BaseURL that does not parse, Quiet with Verbose...) and for a failed
// GlobalSetup; then nothing runs. Scenario failures, an unreachable target
// among them, are counted in the Result with errors that name the cause,
// never returned.
//
// A run stops in one of two strengths:
//
//   - Stop starting: when Duration elapsed, every worker did MaxRuns runs,
//     a failure with ExitOnFailure, MaxFailures failures, Sizing passed its
//     tolerance, or [Run.Stop] was called. No new scenario run starts and
//     pending delays end; runs in flight get RequestTimeout to finish,
//     then their context is cancelled, or they are cancelled at once with
//     [Runner.ForceShutdown].
//   - Cancel: the context given to Run or Start is cancelled (and, in
//     [Runner.Test], on SIGINT or SIGTERM). Runs in flight see their
//     context cancelled.
//
// Either way the teardowns run, and every scenario run that started is
// counted once, as OK or Failed: Result.Started == Result.OK +
// Result.Failed. A run cancelled in flight usually fails (its requests
// return context.Canceled): such failures are also counted in
// Result.Interrupted, and [Runner.Test] does not hold them against the
// target, so ForceShutdown does not fail a clean test. Result.StopReason
// says why the run stopped, the first reason that happened:
//
//	"duration"      Runner.Duration elapsed                        StopDuration
//	"max-runs"      every worker did Runner.MaxRuns runs            StopMaxRuns
//	"single-run"    every worker ran every scenario once            StopSingleRun
//	"failure"       a failure with Runner.ExitOnFailure             StopFailure
//	"max-failures"  Runner.MaxFailures failures                     StopMaxFailures
//	"sizing"        Runner.Sizing passed its tolerance              StopSizing
//	"stopped"       Run.Stop was called                             StopStopped
//	"cancelled"     the context was cancelled (or a signal in Test) StopCancelled
//	"setup-failed"  every worker's Setup or SetupSession failed     StopSetupFailed
//	"threshold"     a threshold broke, with Runner.ThresholdAbort   StopThreshold
//
// Workers start spread over [Runner.RampUp]. [Runner.Delay] pauses a
// worker after every step, failed or not. [Runner.SingleMode] runs one
// scenario only (repeatedly); [Runner.SingleRun] makes each worker run
// every scenario once, in name order. [Runner.Seed] makes the weighted
// picking reproducible. [Runner.Sizing] adds workers (500 spread over 5
// minutes unless Workers and RampUp say otherwise) until, within a
// one-minute window of at least 100 runs, failures exceed SizingTolerance
// percent of successes (default 5); Result.MaxWorkers then holds the
// number of workers reached and Result.SizingRatio the ratio.
//
// The console shows a live line (successes, failures, workers, elapsed,
// rate) every [Runner.ConsoleUpdate] (200ms on a terminal, where it is
// redrawn in place, 5s otherwise) and a summary table at the end, on
// [Runner.Output] (default os.Stdout). Warnings and fixture errors are
// logged there too, through a zap logger unless [Runner.Logger] is set;
// Verbose 1 adds each failure with its error (and a panic's stack),
// Verbose 2 dumps requests and responses with secrets redacted.
// [Runner.Quiet] prints nothing ([Runner.Test] still logs the summary
// through t.Logf). Run never handles signals: cancel its context.
//
// # Running from go test
//
// [Runner.Test] runs the load test inside a Go test, the usual way to run
// one:
//
//	go test -count=1 ./loadtest -run Load -v
//
// It applies the -molotov.* flags and MOLOTOV_* environment variables to a
// copy of the Runner (flag beats environment beats field), so a load test
// runs bigger without editing code:
//
//	go test -count=1 ./loadtest -run Load -v -args -molotov.workers=50 -molotov.duration=1m
//	MOLOTOV_WORKERS=50 MOLOTOV_DURATION=1m go test -count=1 ./...
//
// The environment suits go test over several packages, since a test binary
// that does not import molotov refuses an unknown -molotov.* flag. The
// flags are -molotov.workers, duration, max-runs, ramp-up, delay,
// exception, fail, single-mode, single-run, sizing, sizing-tolerance,
// force-shutdown, request-timeout, quiet, verbose, console-update, base-url
// and seed; each environment twin is MOLOTOV_ and the name in capitals with
// underscores (MOLOTOV_MAX_RUNS). Durations take Go syntax (1m30s) or, as
// in Molotov, a number of seconds (90). The flags are registered on
// flag.CommandLine only when one appears on the command line, as
// net/http/httptest does for -httptest.serve, so binaries that never use
// them see no extra flags; a command registers them with [RegisterFlags]
// and applies them with [FlagSet.Apply].
//
// Test refuses an unbounded run (no Duration, MaxRuns or SingleRun) with
// Fatalf, skips under -short, clips the run to the test's deadline
// (-timeout), cancels it on SIGINT or SIGTERM (teardowns run and the
// summary is logged), and logs the summary with t.Logf (shown under -v or
// when the test fails) unless Quiet. It fails the test with Errorf when
// Failed, less Interrupted, reaches MaxFailures (zero: any failure), when a worker's Setup or SetupSession
// failed, or when a signal interrupted the run. It returns the [Result] for
// further checks, such as a percentile bound, or nil when it skipped or the
// run could not start.
//
// Use -count=1: go test caches a passing result and would replay it
// without loading the target again. Flags after -args turn the cache off
// and a changed MOLOTOV_* variable misses it, but nothing tells go test
// that the target changed. The
// live console lines go to standard output, which go test shows with -v.
// [TB] is the part of testing.TB that Test uses; *testing.T and
// *testing.B satisfy it.
//
// # Statistics
//
// The [Result] counts exactly: every scenario run is counted once, in
// total (Started, OK, Failed) and per scenario (Result.Scenarios, every
// registered scenario, even one that never ran). Per request name,
// Result.Requests counts requests, responses by status and errors
// (requests without a complete response: connection errors, timeouts, body
// read errors; a 500 is a response, counted by status, and fails the
// scenario only if the scenario says so). Result.Errors lists the distinct
// failure errors, most frequent first, at most 100, with the local end of
// connections ("127.0.0.1:53412->") left out so that one cause is counted
// once. [Result.FailureRate] is Failed/(OK+Failed).
//
// Latencies ([Latency]: min, mean, p50, p90, p95, p99, p99.9, max) come
// from log-bucketed histograms, one per scenario and one per request name,
// shared by all workers: every value is recorded, none is sampled, and
// percentiles are within 1% of the exact value. Recording is lock-free and
// memory grows with the number of names, never with workers or requests.
// A scenario's latency is the time of the whole run, failed or not,
// without the delays; a request's runs until its body is read or closed.
//
// The run also feeds a go-metrics registry ([Runner.Metrics], or a fresh
// one per run), readable by any go-metrics exporter while the run goes on.
// Its metrics read the run's own counters and histograms when asked, so
// they cost nothing on the hot path and start no goroutine:
//
//	molotov.scenario.<name>.ok            Counter    successful runs of the scenario
//	molotov.scenario.<name>.failed        Counter    failed runs of the scenario
//	molotov.scenario.<name>.duration      Histogram  run latency in nanoseconds
//	molotov.request.<name>.duration       Histogram  request latency in nanoseconds (<name> like "GET /items")
//	molotov.request.<name>.errors         Counter    requests without a complete response
//	molotov.runs.ok, molotov.runs.failed  Counter    all scenario runs
//	molotov.requests                      Counter    all requests
//	molotov.workers                       Gauge      active workers
//
// With [Runner.Statsd] set, the run also sends to a statsd server, per
// request a timing and a counter per status, per scenario run a counter
// (names are statsd-safe: spaces become dots):
//
//	molotov.request.<METHOD>.<path>           timing in milliseconds
//	molotov.request.<METHOD>.<path>.<status>  counter (".error": no response)
//	molotov.scenario.<name>.ok                counter
//	molotov.scenario.<name>.failed            counter
//
// Sending never slows the load: what the server cannot take is dropped and
// counted, and a warning says so at the end.
//
// # Workload models
//
// By default a run is closed, as Molotov's: [Runner.Workers] workers each
// run scenario after scenario as fast as the target answers. With
// [Runner.Rate] it is open: scenario runs start on a schedule, Rate per
// second computed from the run's start, taken by a pool of
// [Runner.MaxWorkers] sessions; a start that finds no free session within
// [Runner.MaxLag] is dropped and counted (Result.Scheduled == Started +
// Dropped). In the open model a run's latency is measured from its
// intended start, so that a stall of the target shows in the percentiles
// (no coordinated omission), and ScenarioStats.ServiceTime keeps the time
// from the actual start beside it. The schedule sets the pace, so Delay
// and a scenario's Delay do not apply in the open model. [Runner.Stages] shape either model
// over time: workers or a rate moving linearly from stage to stage.
// [Runner.Sizing] with Rate ramps the rate from zero and reports, in
// Result.SizingRate, the rate at which failures passed the tolerance.
//
// # Verdicts and results to keep
//
// [Runner.Thresholds] are pass/fail rules over the figures, such as
// "p99 < 200ms", "failure_rate < 1%" or "request(GET /items).p95 <= 100ms"
// (grammar at [ThresholdResult]); they are parsed before the run and
// checked at its end, and Result.Thresholds holds each with its measured
// value. [Result.Outcome] maps every way a run can go wrong to one
// [Outcome] (interrupted, setup-failed, failures, thresholds, passed);
// Runner.Test fails the test exactly when it is not OutcomePassed.
//
// [Result.WriteJSON] (or [Runner.ResultFile], -molotov.json) writes a
// versioned JSON result that holds every latency histogram, so runs can be
// merged and re-analysed; [ReadResult] reads it back and [Compare] (or the
// molotov compare command) says what changed from one run to another.
// [Result.WriteHTML] (or -molotov.html, or the molotov report command)
// shows a result as one self-contained HTML page with charts. For
// a statistically sound before/after, [Benchmark] runs the load inside a Go
// benchmark and reports req/s, p50-ns, p99-ns and failures/op to benchstat.
//
// # Differences from Molotov
//
// The vocabulary is Molotov's; a few behaviours differ, on purpose:
//
//   - Duration is run-wide, measured from the start of the run, not per
//     worker from that worker's own start: with RampUp longer than
//     Duration, late workers never start. It is exact, not rounded to the
//     second, and MaxRuns still counts per worker, failures included.
//   - There are no processes (Molotov -p): workers are goroutines, so one
//     process runs thousands of them, and SetVar values are shared by all
//     workers instead of being copied per process.
//   - A failing Setup or SetupSession stops only that worker, not the whole
//     run, and fails the test in Runner.Test (Molotov exits 0).
//   - MaxFailures (-f) stops the run when reached, instead of being checked
//     at the end, and Quiet does not disable it. Under Runner.Test any
//     failure fails the test unless MaxFailures allows it; ExitOnFailure
//     (-x) stops the run and the test fails (Molotov exits 0).
//   - ForceShutdown cancels the runs in flight (in Molotov 2.7 it has no
//     effect on them); a cancellation or a signal cancels them too.
//   - Weight 0 registers a scenario that weighted picking skips but
//     SingleMode and SingleRun run (Molotov drops it); a duplicate scenario
//     name panics (Molotov keeps the last one).
//   - A picker that returns an unknown scenario name, or panics, makes that
//     step a counted failure whose error names the bad name; the worker
//     goes on (Molotov's picker exceptions kill the worker).
//   - Sizing does not divide by zero when a minute has failures and no
//     success.
//   - Percentiles come from histograms of every value, request latency
//     includes reading the body, and requests are grouped by name.
//   - Teardown contexts survive the run's cancellation, so cleanup works
//     after an interrupt.
//   - Custom metrics go to the go-metrics registry (Molotov's
//     get_context(session).statsd is [Session.Metrics]); the run's own
//     figures go to statsd with [Runner.Statsd] (Molotov's --statsd), and
//     Molotov's --config is molotov run --profile with a molotov.json.
//     There is no session_factory or gRPC session: time other work with
//     [Session.Measure].
//   - A Session carries no user attributes (Molotov attaches them to
//     get_context(session)): keep per-worker state in your own map keyed by
//     Session.Worker, or in closures.
package molotov
