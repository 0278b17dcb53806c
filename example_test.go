package molotov_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/molotov-go/molotov"
)

// okServer answers every request with 200 and a short body.
func okServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
}

// Two scenarios with weights 3 and 1: at each step a worker picks
// "browse" three times out of four and "search" once. Two workers of five
// runs each make ten runs.
func ExampleRegistry_Scenario() {
	srv := okServer()
	defer srv.Close()

	reg := molotov.NewRegistry()
	reg.Scenario("browse", 3, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	reg.Scenario("search", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/search?q=molotov")
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})

	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true, Workers: 2, MaxRuns: 5}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("started:", res.Started, "ok:", res.OK, "failed:", res.Failed)
	// Output:
	// started: 10 ok: 10 failed: 0
}

// The fixtures run in Molotov's order around the scenario runs of each
// worker. With one worker and two runs:
func Example_fixtures() {
	srv := okServer()
	defer srv.Close()

	var (
		mu  sync.Mutex
		log []string
	)
	record := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf(format, args...))
	}

	reg := molotov.NewRegistry()
	reg.GlobalSetup(func(ctx context.Context, r *molotov.Runner) error {
		record("GlobalSetup (workers=%d)", r.Workers)
		return nil
	})
	reg.Setup(func(ctx context.Context, worker int, r *molotov.Runner) (*molotov.SessionConfig, error) {
		record("Setup %d", worker)
		return &molotov.SessionConfig{Header: http.Header{"X-Worker": {fmt.Sprint(worker)}}}, nil
	})
	reg.SetupSession(func(ctx context.Context, s *molotov.Session) error {
		record("SetupSession %d", s.Worker)
		return nil
	})
	reg.Scenario("hello", 1, func(ctx context.Context, s *molotov.Session) error {
		record("scenario hello, step %d", s.Step())
		resp, err := s.Get(ctx, "/hello")
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	reg.TeardownSession(func(ctx context.Context, s *molotov.Session) error {
		record("TeardownSession %d", s.Worker)
		return nil
	})
	reg.Teardown(func(ctx context.Context, worker int) {
		record("Teardown %d", worker)
	})
	reg.GlobalTeardown(func(ctx context.Context) {
		record("GlobalTeardown")
	})

	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true, Workers: 1, MaxRuns: 2}
	if _, err := r.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range log {
		fmt.Println(line)
	}
	// Output:
	// GlobalSetup (workers=1)
	// Setup 0
	// SetupSession 0
	// scenario hello, step 1
	// scenario hello, step 2
	// TeardownSession 0
	// Teardown 0
	// GlobalTeardown
}

// Run blocks until the run ends and returns what it measured: counts per
// scenario and per request name, statuses, latencies, and why it stopped.
func ExampleRunner_Run() {
	srv := okServer()
	defer srv.Close()

	reg := molotov.NewRegistry()
	reg.Scenario("hello", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/hello")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return molotov.ExpectStatus(resp, http.StatusOK)
	})

	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true, Workers: 3, MaxRuns: 4}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	req := res.Requests["GET /hello"]
	fmt.Println("stop reason:", res.StopReason)
	fmt.Println("hello ok:", res.Scenarios["hello"].OK)
	fmt.Println("GET /hello:", req.Count, "requests,", req.Status[http.StatusOK], "with status 200")
	fmt.Println("failure rate:", res.FailureRate())
	// Output:
	// stop reason: max-runs
	// hello ok: 12
	// GET /hello: 12 requests, 12 with status 200
	// failure rate: 0
}

// Start runs the load in the background, for example to check a system
// while it is under load. The run has no Duration or MaxRuns: it goes on
// until Stop, then runs in flight finish and teardowns run.
func ExampleRunner_Start() {
	srv := okServer()
	defer srv.Close()

	reg := molotov.NewRegistry()
	reg.Scenario("ping", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/ping")
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel() // a bound, in case something goes wrong
	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true, Workers: 4}
	run, err := r.Start(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The system is under load now: check it, here by waiting until at
	// least 100 runs succeeded.
	for run.Snapshot().OK < 100 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}

	run.Stop()
	res, err := run.Wait()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stop reason:", res.StopReason)
	fmt.Println("at least 100 ok:", res.OK >= 100)
	fmt.Println("every started run counted:", res.Started == res.OK+res.Failed)
	// Output:
	// stop reason: stopped
	// at least 100 ok: true
	// every started run counted: true
}

// GetJSON decodes a 2xx JSON response into a value; any other status is a
// *molotov.StatusError, which fails the scenario.
func ExampleSession_GetJSON() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": 7, "name": "widget", "tags": ["blue", "small"]}`)
	}))
	defer srv.Close()

	type item struct {
		ID   int      `json:"id"`
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	var got item // written by the only run, read after Run returned

	reg := molotov.NewRegistry()
	reg.Scenario("get_item", 1, func(ctx context.Context, s *molotov.Session) error {
		var it item
		if err := s.GetJSON(ctx, "/items/7", &it); err != nil {
			return err
		}
		if it.ID != 7 {
			return fmt.Errorf("got item %d, want 7", it.ID)
		}
		got = it
		return nil
	})

	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true, MaxRuns: 1}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ok:", res.OK)
	fmt.Printf("%s %v\n", got.Name, got.Tags)
	// Output:
	// ok: 1
	// widget [blue small]
}

// A login in SetupSession gives each worker a token; SetHeader sends it
// with every later request of that worker's session.
func ExampleSession_SetHeader() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/login":
			io.WriteString(w, `{"token": "t-1"}`)
		case r.Header.Get("Authorization") != "Bearer t-1":
			http.Error(w, "who are you?", http.StatusUnauthorized)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()

	reg := molotov.NewRegistry()
	reg.SetupSession(func(ctx context.Context, s *molotov.Session) error {
		var login struct{ Token string }
		if err := s.PostJSON(ctx, "/login", map[string]string{"user": "ann"}, &login); err != nil {
			return err
		}
		s.SetHeader("Authorization", "Bearer "+login.Token)
		return nil
	})
	reg.Scenario("cart", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/cart")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return molotov.ExpectStatus(resp, http.StatusOK)
	})

	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true, Workers: 2, MaxRuns: 3}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ok:", res.OK, "failed:", res.Failed)
	// Output:
	// ok: 6 failed: 0
}

// ExpectStatus turns an unexpected status into an error that names the
// request, what came and what was wanted. With no code it accepts any 2xx.
func ExampleExpectStatus() {
	resp := &http.Response{
		StatusCode: http.StatusNotFound,
		Request:    httptest.NewRequest(http.MethodGet, "http://127.0.0.1/items/42", nil),
	}
	err := molotov.ExpectStatus(resp, http.StatusOK, http.StatusNotModified)
	fmt.Println(err)

	var se *molotov.StatusError
	if errors.As(err, &se) {
		fmt.Println("got:", se.Got, "want:", se.Want)
	}

	resp.StatusCode = http.StatusCreated
	fmt.Println("201, any 2xx:", molotov.ExpectStatus(resp))
	// Output:
	// molotov: GET http://127.0.0.1/items/42: status 404 Not Found, want 200 or 304
	// got: 404 want: [200 304]
	// 201, any 2xx: <nil>
}

// Requests are grouped in the statistics as "METHOD /path". URLs with ids
// in them would make one group per id; WithRequestName names the group.
func ExampleWithRequestName() {
	srv := okServer()
	defer srv.Close()

	reg := molotov.NewRegistry()
	reg.Scenario("get_item", 1, func(ctx context.Context, s *molotov.Session) error {
		ctx = molotov.WithRequestName(ctx, "GET /items/{id}")
		resp, err := s.Get(ctx, fmt.Sprintf("/items/%d", s.Step()))
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	reg.Scenario("home", 0, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/?page=1") // the query is not part of the name
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})

	// Weight 0: "home" is never picked, but SingleRun runs every scenario once.
	for _, r := range []molotov.Runner{
		{Registry: reg, BaseURL: srv.URL, Quiet: true, MaxRuns: 5},
		{Registry: reg, BaseURL: srv.URL, Quiet: true, SingleRun: true},
	} {
		res, err := r.Run(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		var names []string
		for name, st := range res.Requests {
			names = append(names, fmt.Sprintf("%s: %d", name, st.Count))
		}
		slices.Sort(names)
		fmt.Println(names)
	}
	// Output:
	// [GET /items/{id}: 5]
	// [GET /: 1 GET /items/{id}: 1]
}

// Thresholds turn a run into a verdict. Each is checked at the end with
// the value measured; Result.Passed is false when any broke, and
// Runner.Test fails the test with one line per broken threshold.
func ExampleRunner_thresholds() {
	srv := okServer()
	defer srv.Close()
	reg := molotov.NewRegistry()
	reg.Scenario("list_items", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/items")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	r := molotov.Runner{
		Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 10, Quiet: true,
		Thresholds: []string{
			"failure_rate < 1%",
			"p99 < 2s",
			"scenario(list_items).ok == 20",
			"request(GET /items).count >= 20",
			"request(GET /items/{id}).p99 <= 150ms", // never requested: nothing measured
		},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Thresholds {
		fmt.Printf("%-40s pass=%v\n", t.Expr, t.Pass)
	}
	fmt.Println("passed:", res.Passed())

	// A threshold that does not parse is refused before the run starts.
	r.Thresholds = []string{"p99 < 200"}
	_, err = r.Run(context.Background())
	fmt.Println(err)
	// Output:
	// failure_rate < 1%                        pass=true
	// p99 < 2s                                 pass=true
	// scenario(list_items).ok == 20            pass=true
	// request(GET /items).count >= 20          pass=true
	// request(GET /items/{id}).p99 <= 150ms    pass=false
	// passed: false
	// molotov: threshold "p99 < 200": latency "200" needs a unit, for example 200ms (at column 7)
	//	p99 < 200
	//	      ^
}

// The open model: 100 scenario runs started per second for half a
// second, whatever the target's pace, from a pool of 10 sessions. A start
// that finds no free session within MaxLag is dropped and counted.
func ExampleRunner_rate() {
	srv := okServer()
	defer srv.Close()
	reg := molotov.NewRegistry()
	reg.Scenario("get", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	r := molotov.Runner{
		Registry: reg, BaseURL: srv.URL, Quiet: true,
		Rate: 100, MaxWorkers: 10, MaxLag: time.Second, Duration: 500 * time.Millisecond,
		// The generator's own health: a run whose starts began late, or
		// that needed every worker, is judged as such.
		Thresholds: []string{"start_lag_p99 < 1s", "peak_busy <= 10"},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("scheduled:", res.Scheduled, "started + dropped:", res.Started+res.Dropped)
	// Latency is measured from each run's intended start; ServiceTime from
	// its actual start. They part when runs wait for a free session.
	lat, svc := res.Scenarios["get"].Latency, res.Scenarios["get"].ServiceTime
	fmt.Println("latency covers the service time:", lat.Max >= svc.Max)
	fmt.Println("busy workers within the pool:", res.PeakBusy >= 1 && res.PeakBusy <= res.MaxWorkers)
	fmt.Println("passed:", res.Passed())
	// Output:
	// scheduled: 50 started + dropped: 50
	// latency covers the service time: true
	// busy workers within the pool: true
	// passed: true
}

// A pool of sessions that opens its connections before the run's clock
// starts: in the open model every session is set up before the first
// start, so a request in SetupSession keeps connection set-up (a dial, a
// TLS handshake) out of the start lag. Its requests are counted among the
// requests, not the scenario runs; Result.Connections counts the pool's
// connections, which its runs then reuse.
func ExampleRegistry_SetupSession() {
	srv := okServer()
	defer srv.Close()
	get := func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return molotov.ExpectStatus(resp, http.StatusOK)
	}
	reg := molotov.NewRegistry()
	reg.SetupSession(get)
	reg.Scenario("get", 1, get)
	r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Quiet: true,
		Rate: 100, MaxWorkers: 4, Duration: 200 * time.Millisecond}
	res, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("scenario runs:", res.OK)
	fmt.Println("connections opened:", res.Connections)
	// Output:
	// scenario runs: 20
	// connections opened: 4
}
