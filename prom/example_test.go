package prom_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/molotov-go/molotov"
	"github.com/molotov-go/molotov/prom"
)

// A run served to Prometheus while it lasts, then pushed to a Pushgateway
// (both local stand-ins here).
func ExampleServe() {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer target.Close()
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer gateway.Close()
	reg := molotov.NewRegistry()
	reg.Scenario("list", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/items")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	r := molotov.Runner{Registry: reg, BaseURL: target.URL, Workers: 2, Duration: 300 * time.Millisecond, Quiet: true}
	ctx := context.Background()

	run, err := r.Start(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	ep, err := prom.Serve("127.0.0.1:0", run) // 127.0.0.1:9100 in real use
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ep.Close()
	resp, err := http.Get("http://" + ep.Addr() + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(strings.Contains(string(body), `molotov_scenario_runs_total{result="ok",scenario="list"}`))

	res, _ := run.Wait()
	fmt.Println(prom.Push(ctx, gateway.URL, "loadtest", res))
	// Output:
	// true
	// <nil>
}
