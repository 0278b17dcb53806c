// Command example writes the report's example results, example.json and
// example-old.json: real open-model runs against a shop whose capacity is
// a fixed number of request slots, the new one with a slower checkout.
// Their report is the screenshot in docs/report.md.
//
//	go run ./internal/report/testdata/example internal/report/testdata
//
// Load goes to an httptest server on 127.0.0.1 only; each run lasts 30 s.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/molotov-go/molotov"
)

// shop is the target: slots requests at a time, each holding a slot for
// its path's service time; a request that waits longer than queue for a
// slot is refused with 503.
type shop struct {
	slots    chan struct{}
	queue    time.Duration
	checkout time.Duration
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	service := map[string]time.Duration{"/": 3 * time.Millisecond, "/items": 5 * time.Millisecond, "/search": 20 * time.Millisecond, "/checkout": s.checkout}[r.URL.Path]
	if service == 0 {
		service = 4 * time.Millisecond // /items/{id}
	}
	t := time.NewTimer(s.queue)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
	case <-t.C:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	time.Sleep(service)
	<-s.slots
}

func run(dir, name string, checkout time.Duration) error {
	srv := httptest.NewServer(&shop{slots: make(chan struct{}, 8), queue: 100 * time.Millisecond, checkout: checkout})
	defer srv.Close()
	reg := molotov.NewRegistry()
	get := func(ctx context.Context, s *molotov.Session, path string) error {
		resp, err := s.Get(ctx, path)
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	}
	reg.Scenario("browse", 5, func(ctx context.Context, s *molotov.Session) error {
		if err := get(ctx, s, "/"); err != nil {
			return err
		}
		if err := get(ctx, s, "/items"); err != nil {
			return err
		}
		return get(molotov.WithRequestName(ctx, "GET /items/{id}"), s, fmt.Sprintf("/items/%d", s.Iteration()%1000))
	})
	reg.Scenario("search", 3, func(ctx context.Context, s *molotov.Session) error {
		return get(ctx, s, "/search?q=x")
	})
	reg.Scenario("checkout", 2, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Post(ctx, "/checkout", "application/json", nil)
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	r := molotov.Runner{
		Registry: reg, BaseURL: srv.URL, Seed: 4, Quiet: true,
		MaxWorkers: 40, MaxLag: 250 * time.Millisecond, MaxFailures: 500,
		Stages: []molotov.Stage{
			{Duration: 6 * time.Second, Rate: 50}, {Duration: 12 * time.Second, Rate: 350},
			{Duration: 9 * time.Second, Rate: 350}, {Duration: 3 * time.Second},
		},
		Thresholds: []string{"p99 < 300ms", "failure_rate < 2%", "scenario(checkout).p90 < 150ms"},
		ResultFile: filepath.Join(dir, name),
	}
	res, err := r.Run(context.Background())
	if err != nil {
		return err
	}
	log.Printf("%s: %s, %d ok, %d failed, %d dropped, peak busy %d, start lag p99 %v", name, res.Outcome(), res.OK, res.Failed, res.Dropped, res.PeakBusy, res.StartLag.P99)
	for _, t := range res.Thresholds {
		log.Printf("  %s: %v (%.3f)", t.Expr, t.Pass, t.Value)
	}
	return nil
}

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir, "example-old.json", 25*time.Millisecond); err != nil {
		log.Fatal(err)
	}
	if err := run(dir, "example.json", 70*time.Millisecond); err != nil {
		log.Fatal(err)
	}
}
