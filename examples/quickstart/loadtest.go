// Package quickstart is the load test of the README: three weighted
// scenarios against a tiny demo API (server.go), run by TestLoad with
//
//	go test -count=1 ./examples/quickstart -run Load -v
package quickstart

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/molotov-go/molotov"
)

func init() {
	molotov.Scenario("list_items", 6, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, "/items")
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	molotov.Scenario("get_item", 3, func(ctx context.Context, s *molotov.Session) error {
		ctx = molotov.WithRequestName(ctx, "GET /items/{id}") // one line in the stats, not one per id
		resp, err := s.Get(ctx, fmt.Sprintf("/items/%d", 1+s.Iteration()%10))
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusOK)
	})
	molotov.Scenario("create_item", 1, func(ctx context.Context, s *molotov.Session) error {
		item := map[string]string{"name": fmt.Sprintf("item-%d", s.Iteration())}
		return s.PostJSON(ctx, "/items", item, nil) // any non-2xx status fails the run
	}, molotov.Delay(10*time.Millisecond))
}
