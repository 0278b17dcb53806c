package molotov

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// headerEcho answers every request and records the values of the named
// headers it carried, "-" for a missing one, joined by "|".
type headerEcho struct {
	names []string
	mu    sync.Mutex
	seen  map[string][]string // by path
}

func (e *headerEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	vals := make([]string, len(e.names))
	for i, n := range e.names {
		vals[i] = "-"
		if v, ok := r.Header[http.CanonicalHeaderKey(n)]; ok {
			vals[i] = strings.Join(v, ",")
		}
	}
	e.mu.Lock()
	if e.seen == nil {
		e.seen = map[string][]string{}
	}
	e.seen[r.URL.Path] = append(e.seen[r.URL.Path], strings.Join(vals, "|"))
	e.mu.Unlock()
	sbOK(w, r)
}

func (e *headerEcho) at(path string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen[path]
}

// SetHeader applies to every later request of the session, beside and over
// SessionConfig.Header, yields to a header the request sets itself, and an
// empty value removes it.
func TestSessionSetHeader(t *testing.T) {
	echo := &headerEcho{names: []string{"Authorization", "X-Tenant", "X-Trace"}}
	srv := serveFunc(t, echo.ServeHTTP)
	reg := sbOneScenario("login", func(ctx context.Context, s *Session) error {
		if err := sbGet(ctx, s, "/before"); err != nil {
			return err
		}
		s.SetHeader("authorization", "Bearer t1") // any case: canonicalised
		s.SetHeader("X-Tenant", "new")            // replaces SessionConfig.Header's
		if err := sbGet(ctx, s, "/after"); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/own", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer mine")
		resp, err := s.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		s.SetHeader("Authorization", "")
		s.SetHeader("X-Tenant", "")
		return sbGet(ctx, s, "/removed")
	})
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{Header: http.Header{"X-Tenant": {"cfg"}, "X-Trace": {"on"}}}, nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, Quiet: true})
	require.EqualValues(t, 1, res.OK, "errors: %v", res.Errors)
	for path, want := range map[string]string{
		"/before":  "-|cfg|on",
		"/after":   "Bearer t1|new|on",
		"/own":     "Bearer mine|new|on",
		"/removed": "-|-|on",
	} {
		assert.Equal(t, []string{want}, echo.at(path), "headers of GET %s (Authorization|X-Tenant|X-Trace)", path)
	}
}

// SetHeader is safe for concurrent use: goroutines of one scenario set
// headers while others send requests (run with -race), and each request
// carries a whole value, never a torn one.
func TestSessionSetHeaderConcurrent(t *testing.T) {
	echo := &headerEcho{names: []string{"X-Token"}}
	srv := serveFunc(t, echo.ServeHTTP)
	reg := sbOneScenario("fan-out", func(ctx context.Context, s *Session) error {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range 20 {
					s.SetHeader("X-Token", strings.Repeat(string(rune('a'+g)), 1+i%5))
				}
			}()
			go func() {
				defer wg.Done()
				for range 5 {
					if err := sbGet(ctx, s, "/"); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
	reg.SetupSession(func(ctx context.Context, s *Session) error { s.SetHeader("X-Token", "start"); return nil })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 2, Quiet: true})
	require.EqualValues(t, 4, res.OK, "errors: %v", res.Errors)
	got := echo.at("/")
	require.Len(t, got, 2*2*4*5)
	for _, v := range got {
		ok := v == "start" || (len(v) >= 1 && len(v) <= 5 && strings.Count(v, v[:1]) == len(v) && v[0] >= 'a' && v[0] <= 'd')
		assert.True(t, ok, "X-Token %q is not a value that was set", v)
	}
}

// A header set with SetHeader is shown in the verbose dumps with its
// secret hidden when its name is secret, like the request's own headers.
func TestSessionSetHeaderRedactedInDumps(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("dump", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	reg.SetupSession(func(ctx context.Context, s *Session) error {
		s.SetHeader("Authorization", "Bearer s3cr3t-bearer")
		s.SetHeader("X-Api-Key", "s3cr3t-key")
		s.SetHeader("X-Tenant-Id", "t-42")
		return nil
	})
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, Verbose: 2, ConsoleUpdate: time.Hour, Output: &out, Redact: []string{"tenant"}})
	require.EqualValues(t, 1, res.OK, "errors: %v", res.Errors)
	text := out.String()
	assert.NotContains(t, text, "s3cr3t", "a secret set with SetHeader reached the dump")
	assert.NotContains(t, text, "t-42", "a header named secret by Runner.Redact reached the dump")
	for _, want := range []string{"Authorization: Bearer ***", "X-Api-Key: ***", "X-Tenant-Id: ***"} {
		assert.Contains(t, text, want)
	}
}
