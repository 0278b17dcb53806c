package molotov

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Result.Connections counts the connections the sessions opened, as a
// target without a proxy between sees them, whichever way the transport dials; the timeline has
// them second by second.
func TestConnectionsCounted(t *testing.T) {
	const workers, runs = 3, 20
	var dialed atomic.Int64 // by the dialers the cases set
	dialer := &net.Dialer{}
	for _, tc := range []struct {
		name      string
		configure func(*http.Transport)
		want      int64 // connections; -1: one per request
		ownDials  bool  // the case's dialer was used
	}{
		{"keep-alive: one per session", nil, workers, false},
		{"no keep-alive: one per request", func(tr *http.Transport) { tr.DisableKeepAlives = true }, -1, false},
		{"a DialContext of the user's", func(tr *http.Transport) {
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialed.Add(1)
				return dialer.DialContext(ctx, network, addr)
			}
		}, workers, true},
		{"the deprecated Dial", func(tr *http.Transport) {
			tr.DialContext = nil
			//lint:ignore SA1019 the case is that a user still sets it
			tr.Dial = func(network, addr string) (net.Conn, error) {
				dialed.Add(1)
				return dialer.Dial(network, addr)
			}
		}, workers, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dialed.Store(0)
			srv := serveFunc(t, sbOK)
			reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
			if tc.configure != nil {
				reg.Setup(func(context.Context, int, *Runner) (*SessionConfig, error) {
					return &SessionConfig{ConfigureTransport: tc.configure}, nil
				})
			}
			res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
			require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)
			want := tc.want
			if want < 0 {
				want = workers * runs
			}
			assert.Equal(t, want, res.Connections)
			assert.EqualValues(t, srv.seen(http.StateNew), res.Connections, "the target's count")
			var perSecond int64
			for _, p := range res.Timeline {
				perSecond += p.Connections
			}
			assert.Equal(t, res.Connections, perSecond, "the timeline's seconds add up to the run's")
			if tc.ownDials {
				assert.Equal(t, res.Connections, dialed.Load(), "the transport's own dialer made the connections")
			}
		})
	}
}

// A session on a transport of the user's (SessionConfig.Transport) opens
// connections that the run cannot see: they are not counted.
func TestConnectionsOfOwnTransportNotCounted(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	reg.Setup(func(context.Context, int, *Runner) (*SessionConfig, error) {
		return &SessionConfig{Transport: &http.Transport{}}, nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 3, Quiet: true})
	require.EqualValues(t, 6, res.OK, "errors: %v", res.Errors)
	assert.Positive(t, srv.seen(http.StateNew))
	assert.Zero(t, res.Connections)
}

// GetJSON and PostJSON read what they leave of a body before closing it,
// so that their connection is kept: whatever the status, with or without
// a body to decode, a session makes its requests on one connection.
func TestJSONHelpersKeepTheirConnection(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id": 1, "name": "an item with a body the caller does not want"}` + "\n"))
	})
	mux.HandleFunc("GET /items/1", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id": 1}`))
		w.(http.Flusher).Flush() // chunked: the decoder has its value before the body's end
		w.Write([]byte("\n\n"))
	})
	mux.HandleFunc("POST /bad", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "a reason the caller does not read", http.StatusBadRequest)
	})
	srv := serveFunc(t, mux.ServeHTTP)
	const runs = 10
	reg := sbOneScenario("json", func(ctx context.Context, s *Session) error {
		var it struct{ ID int }
		if err := s.PostJSON(ctx, "/items", map[string]string{"name": "x"}, nil); err != nil {
			return err
		}
		if err := s.GetJSON(ctx, "/items/1", &it); err != nil {
			return err
		}
		if err := s.PostJSON(ctx, "/bad", map[string]string{"name": ""}, nil); err == nil {
			return errAssert("POST /bad: want a StatusError")
		}
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, runs, res.OK, "errors: %v", res.Errors)
	assert.Equal(t, 1, srv.seen(http.StateNew), "connections the target accepted for %d requests", 3*runs)
	assert.EqualValues(t, 1, res.Connections)
	for name, rs := range res.Requests {
		assert.Zero(t, rs.Errors, name)
	}
}

// errAssert is an error a scenario returns when what it checked failed.
type errAssert string

func (e errAssert) Error() string { return string(e) }

// A merge adds the shares' connections, in all and second by second.
func TestMergeAddsConnections(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	var shares []*Result
	for _, seg := range []string{"0/2", "1/2"} {
		shares = append(shares, sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 3, MaxRuns: 2, Segment: seg, Quiet: true}))
	}
	merged, err := Merge(shares...)
	require.NoError(t, err)
	assert.Equal(t, shares[0].Connections+shares[1].Connections, merged.Connections)
	assert.EqualValues(t, srv.seen(http.StateNew), merged.Connections)
	var perSecond int64
	for _, p := range merged.Timeline {
		perSecond += p.Connections
	}
	assert.Equal(t, merged.Connections, perSecond)
}

// Over TLS each connection counts once, whether the transport dials and
// shakes hands itself or a DialTLSContext of the user's does both.
func TestConnectionsCountedOverTLS(t *testing.T) {
	const workers, runs = 2, 5
	for _, tc := range []struct {
		name    string
		dialTLS bool
	}{{"the transport's handshake", false}, {"a DialTLSContext of the user's", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var accepted, dialed atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(sbOK))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					accepted.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
			if tc.dialTLS {
				reg.Setup(func(context.Context, int, *Runner) (*SessionConfig, error) {
					return &SessionConfig{ConfigureTransport: func(tr *http.Transport) {
						tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
							dialed.Add(1)
							d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the test's own server
							return d.DialContext(ctx, network, addr)
						}
					}}, nil
				})
			}
			res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true, InsecureSkipVerify: true})
			require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)
			assert.EqualValues(t, workers, res.Connections)
			assert.Equal(t, accepted.Load(), res.Connections, "the target's count")
			if tc.dialTLS {
				assert.Equal(t, res.Connections, dialed.Load())
			}
		})
	}
}

// Connections opened after the last whole second, with no run ending
// since (here a TeardownSession's request), are in the timeline's last
// point: its seconds add up to the run's count.
func TestTimelineKeepsTheLastConnections(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	reg.TeardownSession(func(ctx context.Context, s *Session) error {
		time.Sleep(1100 * time.Millisecond) // past the first point
		s.Client.CloseIdleConnections()
		return sbGet(ctx, s, "/")
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, Quiet: true})
	require.EqualValues(t, 2, res.Connections, "errors: %v", res.Errors)
	var perSecond int64
	for _, p := range res.Timeline {
		perSecond += p.Connections
	}
	assert.Equal(t, res.Connections, perSecond, "timeline %+v", res.Timeline)
}
