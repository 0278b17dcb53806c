package molotov

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks here price the library's per-request work against the
// thinnest net/http loop (BenchmarkFloorGet, the same loop as the shared
// harness's floor program) in one process and one run:
//
//	go test -run XXX -bench 'RunnerGet|FloorGet' -benchmem .
//
// Both loops hit the same in-process loopback server, so ns/op and
// allocs/op include the server's share too; compare the two, not the
// absolute figures. b.N is the total number of scenario runs (one GET
// each), split evenly over the workers.

// benchBody is the target's 100-byte JSON body.
var benchBody = []byte(`{"message":"hello from the benchmark target","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)

func newBenchServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(benchBody)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// perWorker splits n runs over w workers, rounding up: each worker does
// at least one run, and the total is within w-1 of n.
func perWorker(n, w int) int { return (n + w - 1) / w }

var benchWorkers = []int{1, 8}

// BenchmarkRunnerGet runs the loadgen scenario (GET, drain, close, expect
// 200) with a Runner of 1 and 8 workers.
func BenchmarkRunnerGet(b *testing.B) {
	srv := newBenchServer(b)
	url := srv.URL + "/"
	reg := NewRegistry()
	reg.Scenario("get", 1, func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, url)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return ExpectStatus(resp, 200)
	})
	for _, w := range benchWorkers {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			b.ReportAllocs()
			r := Runner{Registry: reg, Workers: w, MaxRuns: perWorker(b.N, w), Quiet: true, Output: io.Discard}
			b.ResetTimer()
			res, err := r.Run(context.Background())
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if want := int64(w * r.MaxRuns); res.OK != want || res.Failed != 0 {
				b.Fatalf("ok=%d failed=%d, want ok=%d failed=0; errors: %v", res.OK, res.Failed, want, res.Errors)
			}
		})
	}
}

// BenchmarkFloorGet is the same closed loop on a bare http.Client per
// worker, as the harness's floor program does: the cost any library on
// net/http starts from.
func BenchmarkFloorGet(b *testing.B) {
	srv := newBenchServer(b)
	url := srv.URL + "/"
	for _, w := range benchWorkers {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			b.ReportAllocs()
			runs := perWorker(b.N, w)
			var ok, failed atomic.Int64
			clients := make([]*http.Client, w)
			for i := range clients {
				clients[i] = &http.Client{Transport: &http.Transport{}}
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := 0; i < w; i++ {
				wg.Add(1)
				go func(c *http.Client) {
					defer wg.Done()
					for n := 0; n < runs; n++ {
						resp, err := c.Get(url)
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == 200 {
							ok.Add(1)
						} else {
							failed.Add(1)
						}
					}
				}(clients[i])
			}
			wg.Wait()
			b.StopTimer()
			for _, c := range clients {
				c.CloseIdleConnections()
			}
			if want := int64(w * runs); ok.Load() != want || failed.Load() != 0 {
				b.Fatalf("ok=%d failed=%d, want ok=%d failed=0", ok.Load(), failed.Load(), want)
			}
		})
	}
}

// BenchmarkRecordRequest prices the stats path of one request: the
// request-name lookup, and recording a completed request (counters,
// status, latency histogram), alone and from all Ps at once.
func BenchmarkRecordRequest(b *testing.B) {
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		st := newRunStats(nil, nil)
		st.request("GET /")
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			st.request("GET /")
		}
	})
	b.Run("record", func(b *testing.B) {
		b.ReportAllocs()
		r := newRunStats(nil, nil).request("GET /")
		d := 1234 * time.Microsecond
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.record(d, 200, false)
		}
	})
	b.Run("record-parallel", func(b *testing.B) {
		b.ReportAllocs()
		r := newRunStats(nil, nil).request("GET /")
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			d := 1234 * time.Microsecond
			for pb.Next() {
				r.record(d, 200, false)
				d += 997 // spread over buckets, like real latencies
			}
		})
	})
}

// BenchmarkOverhead isolates what the library adds to a request, without
// the noise of sockets and of a server: both loops use a real
// http.Transport whose connections are in-memory pipes to a canned
// responder (pipeDial), so the difference between "runner" and "client"
// is the Runner loop, the Session, the measuring transport, the cookie
// jar, the stats and the session's transport settings. It is the most
// repeatable of these benchmarks; run it like the harness's pinned mode:
//
//	go test -run XXX -bench Overhead -cpu 1 -count 5 .
func BenchmarkOverhead(b *testing.B) {
	for _, w := range []int{1, 50} {
		b.Run("client/workers="+strconv.Itoa(w), func(b *testing.B) {
			b.ReportAllocs()
			runs := perWorker(b.N, w)
			var wg sync.WaitGroup
			for i := 0; i < w; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &http.Client{Transport: &http.Transport{DialContext: pipeDial}}
					defer c.CloseIdleConnections()
					for n := 0; n < runs; n++ {
						resp, err := c.Get("http://127.0.0.1:1/")
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Error(resp.Status)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
		b.Run("runner/workers="+strconv.Itoa(w), func(b *testing.B) {
			b.ReportAllocs()
			reg := pipeRegistry()
			r := Runner{Registry: reg, Workers: w, MaxRuns: perWorker(b.N, w), Quiet: true, Output: io.Discard}
			b.ResetTimer()
			res, err := r.Run(context.Background())
			b.StopTimer()
			if want := int64(w * r.MaxRuns); err != nil || res.OK != want {
				b.Fatalf("ok=%d, want %d; err=%v errors=%v", res.OK, want, err, res.Errors)
			}
		})
	}
}

// pipeRegistry registers the loadgen scenario (GET, drain, close, expect
// 200) on sessions whose connections are pipeDial's.
func pipeRegistry() *Registry {
	reg := NewRegistry()
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{ConfigureTransport: func(tr *http.Transport) { tr.DialContext = pipeDial }}, nil
	})
	reg.Scenario("get", 1, func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "http://127.0.0.1:1/")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return ExpectStatus(resp, 200)
	})
	return reg
}

// benchResponse is the canned answer of pipeDial's responder.
var benchResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
	strconv.Itoa(len(benchBody)) + "\r\n\r\n" + string(benchBody))

// pipeDial connects to an in-memory responder that answers every request
// (headers only: GETs) with benchResponse, until the client closes.
func pipeDial(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		br := bufio.NewReader(server)
		for {
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 { // the blank line ending the headers
					break
				}
			}
			if _, err := server.Write(benchResponse); err != nil {
				return
			}
		}
	}()
	return client, nil
}
