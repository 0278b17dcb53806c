package molotov

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMemoryPerWorker measures what one worker costs in memory while
// it waits on a slow target, for molotov-go ("molotov") and for the
// thinnest net/http loop ("floor": a goroutine per worker, each with its
// own http.Client and http.Transport, doing GET, drain, close), side by
// side so that their ratio reads from one run:
//
//	go test -run XXX -bench MemoryPerWorker -benchtime 1x .
//
// It is the in-process counterpart of the shared harness's memory test
// (RSS growth from 50 to 1000 workers against a 200 ms endpoint), whose
// goal is at most 1.15x the floor per worker. A load generator facing a
// slow target spends most of its memory on workers that wait: each
// waiting worker holds goroutine stacks (its own and its connection's)
// and heap (buffers, the request in flight), and every GC cycle scans
// every one of those stacks, so the cost per worker bounds how many
// workers one process can run.
//
// A cycle starts a loopback server, starts W workers (1000;
// MOLOTOV_BENCH_WORKERS overrides it) that each make two requests on one
// kept-alive connection (MOLOTOV_BENCH_RUNS overrides it), the server
// answering the first at once and holding the second until the cycle
// releases it (or 2 s pass), waits until all W are held, and reports per
// worker the growth, from a reading taken before the workers started, of
// the stacks in use (stack-B/worker), of the live heap after two GCs
// (heap-B/worker), of their sum (total-B/worker) and of the goroutines
// (goroutines/worker). Two requests, because a molotov worker makes its
// first on the goroutine that set it up and waits on its loop's goroutine
// from the second on, as it does for the rest of a long run (see
// worker.go). Then it releases the requests and waits until every worker,
// connection and the server have ended. A first cycle, not counted, warms
// the process up: the runtime never frees a goroutine's descriptor (about
// 400 bytes of heap) but keeps it for the next goroutine, so without it
// the first variant to run would pay for every goroutine of the process
// and the next ones for none. The figures leave those descriptors out;
// goroutines/worker counts them. b.N repeats the measured cycle and
// averages: the stacks vary by a few percent from one cycle to the next,
// as the runtime sizes new stacks from the average it saw at the last GC,
// so -benchtime 5x or -count 5 with benchstat gives steadier figures.
// ns/op, the time of a cycle, means nothing here.
//
// The server runs in this process, so every figure includes its share of
// each connection (a serving goroutine, its buffers), which the harness,
// whose target is another process, does not count. The third
// sub-benchmark, "target", measures that share alone, with W bare
// connections that make the same requests: take it off both figures
// before comparing their ratio with the harness's, as the shared part
// pulls the raw ratio towards 1. Unlike the harness's RSS, these figures
// leave out the heap the collector lets grow beyond the live heap.
func BenchmarkMemoryPerWorker(b *testing.B) {
	load := memLoad{workers: memBenchEnv(b, "MOLOTOV_BENCH_WORKERS", 1000), runs: memBenchEnv(b, "MOLOTOV_BENCH_RUNS", 2)}
	b.Run("molotov", func(b *testing.B) { benchWorkerMemory(b, load, startMolotovLoad) })
	b.Run("floor", func(b *testing.B) { benchWorkerMemory(b, load, startFloorLoad) })
	b.Run("target", func(b *testing.B) { benchWorkerMemory(b, load, startBareConns) })
}

// memBenchEnv reads a positive whole number from the environment
// variable name, def when it is unset.
func memBenchEnv(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}

// memLoad is the load of a cycle: workers that each GET the target runs
// times, one after the other, on one connection.
type memLoad struct{ workers, runs int }

// startLoad starts l's workers against url and returns a function that
// waits until every one of them has ended and checks that every request
// got its 200. It may fail b before it returns, leaving nothing running.
type startLoad func(b *testing.B, url string, l memLoad) (wait func())

// benchWorkerMemory runs a warm-up cycle then b.N measured cycles of
// start's load, and reports their mean growth per worker.
func benchWorkerMemory(b *testing.B, l memLoad, start startLoad) {
	b.StopTimer()
	measureWorkerMemory(b, l, start) // warm-up: see BenchmarkMemoryPerWorker
	var sum memReading
	for range b.N {
		sum = sum.plus(measureWorkerMemory(b, l, start))
	}
	per := float64(b.N) * float64(l.workers)
	b.ReportMetric(float64(sum.stack)/per, "stack-B/worker")
	b.ReportMetric(float64(sum.heap)/per, "heap-B/worker")
	b.ReportMetric(float64(sum.stack+sum.heap)/per, "total-B/worker")
	b.ReportMetric(float64(sum.goroutines)/per, "goroutines/worker")
}

// measureWorkerMemory is one cycle: a held target, a first reading, the
// workers started and all waiting on the target, a second reading; then
// the target lets them go and everything ends before it returns, a failed
// cycle too. It returns the growth between the readings.
func measureWorkerMemory(b *testing.B, l memLoad, start startLoad) memReading {
	t := newHeldTarget(l)
	defer t.close()
	before := readLiveMem()
	b.StartTimer()
	wait := start(b, t.srv.URL+"/", l)
	defer wait()
	defer t.releaseAll() // before wait: the workers end only once released
	t.awaitHeld(b, 30*time.Second)
	after := readLiveMem()
	b.StopTimer()
	if n := t.early.Load(); n > 0 {
		b.Fatalf("%d of the %d held requests were answered before all arrived (2s at most): the reading is not of %d waiting workers", n, l.workers, l.workers)
	}
	return after.minus(before)
}

// memReading is what a cycle measures: the bytes of the stacks in use and
// of the live heap, and the goroutines.
type memReading struct{ stack, heap, goroutines int64 }

// readLiveMem collects garbage twice (the second sweeps what the first
// left for finalizers) and reads the memory statistics.
func readLiveMem() memReading {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memReading{int64(ms.StackInuse), int64(ms.HeapAlloc), int64(runtime.NumGoroutine())}
}

func (m memReading) plus(o memReading) memReading {
	return memReading{m.stack + o.stack, m.heap + o.heap, m.goroutines + o.goroutines}
}

func (m memReading) minus(o memReading) memReading {
	return memReading{m.stack - o.stack, m.heap - o.heap, m.goroutines - o.goroutines}
}

// heldTarget is a loopback server that answers 200 "ok". It holds the
// last of each connection's load.runs requests until releaseAll, 2 s or
// the request's end, whichever comes first, and answers the others at
// once.
type heldTarget struct {
	srv     *httptest.Server
	load    memLoad
	held    chan struct{} // one value per request held
	release chan struct{} // closed by releaseAll
	once    sync.Once
	early   atomic.Int64 // held requests answered before releaseAll
}

// heldConnKey keys, in a connection's context, the count of its requests.
type heldConnKey struct{}

func newHeldTarget(l memLoad) *heldTarget {
	t := &heldTarget{load: l, held: make(chan struct{}, l.workers), release: make(chan struct{})}
	t.srv = httptest.NewUnstartedServer(http.HandlerFunc(t.serve))
	t.srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, heldConnKey{}, new(int))
	}
	t.srv.Start()
	return t
}

func (t *heldTarget) serve(w http.ResponseWriter, r *http.Request) {
	n := r.Context().Value(heldConnKey{}).(*int) // a connection's requests are served one at a time
	*n++
	if *n == t.load.runs {
		if !t.hold(r) {
			return
		}
	}
	io.WriteString(w, "ok")
}

// hold counts r as held and waits for its release; false: r ended first.
func (t *heldTarget) hold(r *http.Request) bool {
	select {
	case t.held <- struct{}{}:
	default: // more than one per worker: not counted
	}
	timer := time.NewTimer(2 * time.Second)
	defer timer.Stop()
	select {
	case <-t.release:
	case <-timer.C:
		t.early.Add(1)
	case <-r.Context().Done():
		return false
	}
	return true
}

// awaitHeld waits until the handler holds a request per worker, or fails
// b after within.
func (t *heldTarget) awaitHeld(b *testing.B, within time.Duration) {
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for n := range t.load.workers {
		select {
		case <-t.held:
		case <-timeout.C:
			b.Fatalf("only %d of %d requests reached the target and were held within %v", n, t.load.workers, within)
		}
	}
}

func (t *heldTarget) releaseAll() { t.once.Do(func() { close(t.release) }) }

// close releases what is still held and shuts the server down, once every
// handler returned.
func (t *heldTarget) close() {
	t.releaseAll()
	t.srv.Close()
}

// startMolotovLoad runs a Runner whose workers each run the loadgen
// scenario (GET, drain, close, expect 200) l.runs times.
func startMolotovLoad(b *testing.B, url string, l memLoad) func() {
	reg := NewRegistry()
	reg.Scenario("get", 1, func(ctx context.Context, s *Session) error { return getDrained(ctx, s, url, http.StatusOK) })
	r := Runner{Registry: reg, Workers: l.workers, MaxRuns: l.runs, Quiet: true, Output: io.Discard}
	run, err := r.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		res, err := run.Wait()
		if err != nil {
			b.Error(err)
		} else if want := int64(l.workers * l.runs); res.OK != want || res.Failed != 0 {
			b.Errorf("ok=%d failed=%d, want ok=%d failed=0; errors: %v", res.OK, res.Failed, want, res.Errors)
		}
	}
}

// startFloorLoad starts a goroutine per worker that GETs url l.runs times
// through a client and transport of its own, as the harness's floor
// program does.
func startFloorLoad(b *testing.B, url string, l memLoad) func() {
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for range l.runs {
				if drainOK(c.Get(url)) != nil {
					failed.Add(1)
				}
			}
		}()
	}
	return func() {
		wg.Wait()
		if n := failed.Load(); n > 0 {
			b.Errorf("%d of %d requests failed", n, l.workers*l.runs)
		}
	}
}

// startBareConns opens a connection per worker that makes its l.runs
// requests as the workers do, one after the other, but reads the last
// answer only in the wait: what the server holds for a waiting worker,
// with only a socket on the client's side.
func startBareConns(b *testing.B, url string, l memLoad) func() {
	host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	conns := make([]net.Conn, 0, l.workers)
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for range l.workers {
		c, err := net.Dial("tcp", host)
		if err == nil {
			conns = append(conns, c)
			err = bareRequests(c, req, l.runs)
		}
		if err != nil {
			closeAll()
			b.Fatal(err)
		}
	}
	return func() {
		defer closeAll()
		for _, c := range conns {
			if err := readOK(c); err != nil {
				b.Error(err)
				return
			}
		}
	}
}

// bareRequests sends req n times on c, reading the answer to each but
// the last.
func bareRequests(c net.Conn, req string, n int) error {
	for i := range n {
		if _, err := io.WriteString(c, req); err != nil {
			return err
		}
		if i < n-1 {
			if err := readOK(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// readOK reads a response from c and checks that it is a 200. Its
// buffer lives only as long as the call: the server sends nothing
// before the next request.
func readOK(c net.Conn) error {
	return drainOK(http.ReadResponse(bufio.NewReader(c), nil))
}

// drainOK reads resp's body to its end, closes it and checks that resp
// is a 200, unless err says there is no response.
func drainOK(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s, want 200", resp.Status)
	}
	return nil
}
