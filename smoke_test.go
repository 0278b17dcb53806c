package molotov

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSmoke(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	reg := NewRegistry()
	reg.Scenario("get", 1, func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/")
		if err != nil {
			return err
		}
		return ExpectStatus(resp, 200)
	})
	r := Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, MaxRuns: 5}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %+v", res, res.Requests["GET /"])
	if res.OK != 20 {
		t.Fatalf("ok=%d", res.OK)
	}
}
