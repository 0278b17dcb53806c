package molotov

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closedAddr returns a loopback address that nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// When every failure of a run is a refused connection, the summary says
// that the target looks down, and where the requests went; any other
// failure among them, and it says nothing of the kind.
func TestSummarySaysTheTargetLooksDown(t *testing.T) {
	down := "http://" + closedAddr(t)
	up := newOKServer(t).URL
	get := func(url string) ScenarioFunc {
		return func(ctx context.Context, s *Session) error { return getDrained(ctx, s, url) }
	}
	tests := []struct {
		name     string
		baseURL  string
		register func(reg *Registry)
		want     string // "": no note
	}{
		{"the BaseURL refuses", down, func(reg *Registry) { reg.Scenario("get", 1, get("/items")) },
			"The target looks down: every failure was a refused connection, at " + down + " (the BaseURL). Is the service running there?"},
		{"absolute URLs refuse", "", func(reg *Registry) { reg.Scenario("get", 1, get(down+"/items")) },
			"The target looks down: every failure was a refused connection, at " + down + ". Is the service running there?"},
		{"a login in SetupSession refuses", down, func(reg *Registry) {
			reg.SetupSession(func(ctx context.Context, s *Session) error { return getDrained(ctx, s, "/login") })
			reg.Scenario("get", 1, get("/items"))
		}, "The target looks down: every failure was a refused connection, at " + down + " (the BaseURL)."},
		{"another host than the BaseURL's", up, func(reg *Registry) { reg.Scenario("get", 1, get(down+"/items")) },
			"at " + down + ". Is the service"},
		{"some failures are not refusals", down, func(reg *Registry) {
			reg.Scenario("get", 1, get("/items"))
			reg.Scenario("bad", 1, func(context.Context, *Session) error { return errors.New("bad data") })
		}, ""},
		{"no failure", up, func(reg *Registry) { reg.Scenario("get", 1, get("/items")) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			tt.register(reg)
			var out lockedBuffer
			res := runWithin(t, &Runner{Registry: reg, BaseURL: tt.baseURL, Workers: 2, MaxRuns: 4, Seed: 1, ConsoleUpdate: time.Hour, Output: &out}, 10*time.Second)
			text := out.String()
			if tt.want == "" {
				assert.NotContains(t, text, "looks down", "res.Errors: %v", res.Errors)
				return
			}
			assert.Contains(t, text, tt.want)
			header := strings.Index(text, "SUCCESSES:")
			require.GreaterOrEqual(t, header, 0, text)
			note := strings.Index(text, "The target looks down")
			assert.Less(t, header, note, "the note follows the summary's header line")
			assert.Equal(t, 1, strings.Count(text, "looks down"))
		})
	}
}
