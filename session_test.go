package molotov

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Helpers shared by session_test.go, stats_test.go, metrics_test.go and
// console_test.go (prefixed sb to avoid clashes with other test files).

// sbRun runs r with a safety timeout and requires no Run error.
func sbRun(t *testing.T, r Runner) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := r.Run(ctx)
	require.NoError(t, err)
	require.NotNil(t, res)
	return res
}

// sbOneScenario returns a registry with one scenario named name.
func sbOneScenario(name string, fn ScenarioFunc) *Registry {
	reg := NewRegistry()
	reg.Scenario(name, 1, fn)
	return reg
}

// sbGet GETs path, reads and closes the body, and checks for a 2xx.
func sbGet(ctx context.Context, s *Session, path string) error { return getDrained(ctx, s, path) }

// sbOK answers "ok".
func sbOK(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// sbWaitCtx waits d or until the request is cancelled (so that
// httptest.Server.Close never waits for a sleeping handler).
func sbWaitCtx(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// ---------------------------------------------------------------------------

func TestSessionPerWorkerClientTransportJar(t *testing.T) {
	srv := serveFunc(t, sbOK)
	const workers = 4
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	var mu sync.Mutex
	sessions := map[int]*Session{}
	reg.SetupSession(func(ctx context.Context, s *Session) error {
		mu.Lock()
		defer mu.Unlock()
		sessions[s.Worker] = s
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: 2, Quiet: true})
	assert.EqualValues(t, workers*2, res.OK)

	require.Len(t, sessions, workers)
	clients := map[*http.Client]bool{}
	jars := map[http.CookieJar]bool{}
	wrappers := map[http.RoundTripper]bool{}
	transports := map[*http.Transport]bool{}
	for w, s := range sessions {
		assert.Equal(t, w, s.Worker)
		require.NotNil(t, s.Client, "worker %d", w)
		require.NotNil(t, s.Client.Jar, "worker %d has no cookie jar", w)
		require.NotNil(t, s.trans, "worker %d has no own transport", w)
		mt, ok := s.Client.Transport.(*measuringTransport)
		require.True(t, ok, "worker %d: client transport is %T, want the measuring transport", w, s.Client.Transport)
		assert.Same(t, s.trans, mt.base, "worker %d: measuring transport does not wrap the worker's transport", w)
		assert.NotSame(t, http.DefaultTransport, s.trans)
		assert.NotSame(t, http.DefaultClient, s.Client)
		clients[s.Client] = true
		jars[s.Client.Jar] = true
		wrappers[s.Client.Transport] = true
		transports[s.trans] = true
	}
	assert.Len(t, clients, workers, "clients shared between workers")
	assert.Len(t, jars, workers, "cookie jars shared between workers")
	assert.Len(t, wrappers, workers, "measuring transports shared between workers")
	assert.Len(t, transports, workers, "transports shared between workers")
}

func TestSessionHeadersAndCookiesPerWorker(t *testing.T) {
	type seen struct {
		worker string
		tags   []string
		step   string
		cookie string
	}
	var mu sync.Mutex
	var reqs []seen
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		c := ""
		if ck, err := r.Cookie("w"); err == nil {
			c = ck.Value
		}
		worker := r.Header.Get("X-Worker")
		mu.Lock()
		reqs = append(reqs, seen{worker: worker, tags: r.Header.Values("X-Tag"), step: r.Header.Get("X-Step"), cookie: c})
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "w", Value: worker, Path: "/"})
		io.WriteString(w, "ok")
	})
	const workers, runs = 3, 4
	reg := sbOneScenario("hdr", func(ctx context.Context, s *Session) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/h", nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Step", strconv.Itoa(s.Step()))
		if s.Step()%2 == 0 {
			req.Header.Set("X-Tag", "request")
		}
		resp, err := s.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return ExpectStatus(resp, http.StatusOK)
	})
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{Header: http.Header{
			"X-Worker": {strconv.Itoa(worker)},
			"X-Tag":    {"session"},
		}}, nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reqs, workers*runs)
	byWorker := map[string][]seen{}
	for _, r := range reqs {
		require.NotEmpty(t, r.worker, "a request arrived without the session's X-Worker header")
		byWorker[r.worker] = append(byWorker[r.worker], r)
	}
	require.Len(t, byWorker, workers)
	for w, list := range byWorker {
		require.Len(t, list, runs, "worker %s", w)
		for i, r := range list {
			step, _ := strconv.Atoi(r.step)
			assert.Equal(t, i+1, step, "worker %s: requests out of order", w)
			if step%2 == 0 {
				assert.Equal(t, []string{"request"}, r.tags, "worker %s step %d: the request's own header must win over the session's", w, step)
			} else {
				assert.Equal(t, []string{"session"}, r.tags, "worker %s step %d: session header missing", w, step)
			}
			if i == 0 {
				assert.Empty(t, r.cookie, "worker %s: first request already carries a cookie", w)
			} else {
				assert.Equal(t, w, r.cookie, "worker %s step %d carried another worker's cookie (or none)", w, step)
			}
		}
	}
}

func TestSessionURL(t *testing.T) {
	tests := []struct {
		name, base, in, want string
	}{
		{"absolute http as is", "http://h/api/v1", "http://other:81/x?q=1", "http://other:81/x?q=1"},
		{"absolute https as is", "http://h/api/v1", "https://other/x", "https://other/x"},
		{"slash path appended to base path", "http://h/api/v1", "/items", "http://h/api/v1/items"},
		{"path without slash", "http://h/api/v1", "items", "http://h/api/v1/items"},
		{"query kept", "http://h/api/v1", "/items?x=1", "http://h/api/v1/items?x=1"},
		{"host only base", "http://h", "/items", "http://h/items"},
		{"empty path", "http://h/api", "", "http://h/api/"},
		{"empty base, absolute url", "", "http://h/items", "http://h/items"},
		{"upper-case scheme as is", "http://h/api", "HTTP://other/x", "HTTP://other/x"},
		{"mixed-case https as is", "http://h/api", "Https://other/x", "Https://other/x"},
		{"path starting with h", "http://h/api", "health", "http://h/api/health"},
		{"short path", "http://h/api", "h", "http://h/api/h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Session{base: tt.base}
			assert.Equal(t, tt.want, s.URL(tt.in))
		})
	}
}

func TestSessionBaseURLResolution(t *testing.T) {
	var mu sync.Mutex
	var onA, onB []string
	a := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		onA = append(onA, r.URL.RequestURI())
		mu.Unlock()
	})
	b := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		onB = append(onB, r.URL.RequestURI())
		mu.Unlock()
	})

	t.Run("Runner.BaseURL with a path, absolute URL as is", func(t *testing.T) {
		mu.Lock()
		onA, onB = nil, nil
		mu.Unlock()
		reg := sbOneScenario("u", func(ctx context.Context, s *Session) error {
			for _, u := range []string{"/items", "items", "/items?x=1", b.URL + "/abs"} {
				if err := sbGet(ctx, s, u); err != nil {
					return err
				}
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/viado", nil)
			resp, err := s.Do(req)
			if err != nil {
				return err
			}
			return resp.Body.Close()
		})
		res := sbRun(t, Runner{Registry: reg, BaseURL: a.URL + "/api/v1/", MaxRuns: 1, Quiet: true})
		require.EqualValues(t, 1, res.OK, "errors: %v", res.Errors)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"/api/v1/items", "/api/v1/items", "/api/v1/items?x=1", "/api/v1/viado"}, onA)
		assert.Equal(t, []string{"/abs"}, onB)
	})

	t.Run("SessionConfig.BaseURL overrides Runner.BaseURL", func(t *testing.T) {
		mu.Lock()
		onA, onB = nil, nil
		mu.Unlock()
		reg := sbOneScenario("u", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/items") })
		reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
			if worker == 1 {
				return &SessionConfig{BaseURL: b.URL + "/api/v2"}, nil
			}
			return nil, nil
		})
		res := sbRun(t, Runner{Registry: reg, BaseURL: a.URL + "/api/v1", Workers: 2, MaxRuns: 2, Quiet: true})
		require.EqualValues(t, 4, res.OK, "errors: %v", res.Errors)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"/api/v1/items", "/api/v1/items"}, onA)
		assert.Equal(t, []string{"/api/v2/items", "/api/v2/items"}, onB)
	})

	t.Run("empty BaseURL with absolute URLs", func(t *testing.T) {
		mu.Lock()
		onA, onB = nil, nil
		mu.Unlock()
		reg := sbOneScenario("u", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, a.URL+"/abs") })
		res := sbRun(t, Runner{Registry: reg, MaxRuns: 2, Quiet: true})
		require.EqualValues(t, 2, res.OK, "errors: %v", res.Errors)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"/abs", "/abs"}, onA)
		assert.Contains(t, res.Requests, "GET /abs")
	})

	t.Run("a path and no BaseURL", func(t *testing.T) {
		reg := sbOneScenario("u", func(ctx context.Context, s *Session) error {
			return s.PostJSON(ctx, "/login", map[string]string{"user": "u"}, nil)
		})
		res := sbRun(t, Runner{Registry: reg, MaxRuns: 1, Quiet: true})
		require.EqualValues(t, 1, res.Failed)
		require.Len(t, res.Errors, 1)
		assert.Contains(t, res.Errors[0].Error, `Post "/login": no host to send it to: give a base URL (Runner.BaseURL`)
	})
}

func TestSessionTimeout(t *testing.T) {
	slowHeaders := func(w http.ResponseWriter, r *http.Request) { sbWaitCtx(r, 2*time.Second) }
	stalledBody := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		sbWaitCtx(r, 2*time.Second)
	}
	tests := []struct {
		name           string
		handler        http.HandlerFunc
		runnerTimeout  time.Duration
		sessionTimeout time.Duration
		body           bool
	}{
		{"RequestTimeout, slow headers", slowHeaders, 200 * time.Millisecond, 0, false},
		{"RequestTimeout, stalled body", stalledBody, 200 * time.Millisecond, 0, true},
		{"SessionConfig.Timeout, slow headers", slowHeaders, 0, 200 * time.Millisecond, false},
		{"SessionConfig.Timeout beats RequestTimeout, stalled body", stalledBody, 10 * time.Second, 200 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveFunc(t, tt.handler)
			var got error
			var took time.Duration
			reg := sbOneScenario("slow", func(ctx context.Context, s *Session) error {
				start := time.Now()
				defer func() { took = time.Since(start) }()
				resp, err := s.Get(ctx, "/slow")
				if err == nil {
					defer resp.Body.Close()
					_, err = io.ReadAll(resp.Body)
				}
				got = err
				return err
			})
			if tt.sessionTimeout > 0 {
				reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
					return &SessionConfig{Timeout: tt.sessionTimeout}, nil
				})
			}
			start := time.Now()
			res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, RequestTimeout: tt.runnerTimeout, Quiet: true})
			assert.Less(t, time.Since(start), time.Second, "the run outlived the timeout")
			assert.Less(t, took, time.Second, "the request was not cut at 200ms")

			require.Error(t, got)
			assert.Contains(t, got.Error(), "request timeout")
			var te *TimeoutError
			if assert.ErrorAs(t, got, &te) {
				assert.Equal(t, 200*time.Millisecond, te.Limit)
				assert.Equal(t, tt.body, te.Body)
				assert.True(t, te.Timeout())
			}
			assert.ErrorIs(t, got, context.DeadlineExceeded)

			assert.EqualValues(t, 1, res.Failed)
			require.Len(t, res.Errors, 1)
			assert.Contains(t, res.Errors[0].Error, "request timeout")
			if rs := res.Requests["GET /slow"]; assert.NotNil(t, rs) {
				assert.EqualValues(t, 1, rs.Count)
				assert.EqualValues(t, 1, rs.Errors)
			}
		})
	}
}

func TestSessionJSON(t *testing.T) {
	type item struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	var mu sync.Mutex
	var accepts, ctypes []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepts = append(accepts, r.Header.Get("Accept"))
		mu.Unlock()
		json.NewEncoder(w).Encode(item{ID: 1, Name: "one"})
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ctypes = append(ctypes, r.Header.Get("Content-Type"))
		mu.Unlock()
		var in item
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.ID = 42
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(in)
	})
	mux.HandleFunc("POST /bad", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusBadRequest) })
	mux.HandleFunc("GET /garbage", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not json") })
	srv := serveFunc(t, mux.ServeHTTP)

	var got1, created item
	var errGet, errPost, errMissing, errBad, errGarbage error
	reg := sbOneScenario("json", func(ctx context.Context, s *Session) error {
		errGet = s.GetJSON(ctx, "/items/1", &got1)
		errPost = s.PostJSON(ctx, "/items", item{Name: "new"}, &created)
		errMissing = s.GetJSON(ctx, "/missing", &got1)
		errBad = s.PostJSON(ctx, "/bad", item{Name: "x"}, nil)
		errGarbage = s.GetJSON(ctx, "/garbage", &item{})
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, Quiet: true})
	require.EqualValues(t, 1, res.OK)

	require.NoError(t, errGet)
	assert.Equal(t, item{ID: 1, Name: "one"}, got1)
	require.NoError(t, errPost)
	assert.Equal(t, item{ID: 42, Name: "new"}, created)
	mu.Lock()
	assert.Equal(t, []string{"application/json"}, accepts)
	assert.Equal(t, []string{"application/json"}, ctypes)
	mu.Unlock()

	var se *StatusError
	if assert.ErrorAs(t, errMissing, &se) {
		assert.Equal(t, http.StatusNotFound, se.Got)
		assert.Empty(t, se.Want)
		assert.Equal(t, http.MethodGet, se.Method)
		assert.Equal(t, srv.URL+"/missing", se.URL)
		assert.Contains(t, se.Error(), "404")
		assert.Contains(t, se.Error(), "2xx")
	}
	se = nil
	if assert.ErrorAs(t, errBad, &se) {
		assert.Equal(t, http.StatusBadRequest, se.Got)
		assert.Equal(t, http.MethodPost, se.Method)
		assert.Equal(t, srv.URL+"/bad", se.URL)
	}
	require.Error(t, errGarbage)
	assert.Contains(t, errGarbage.Error(), "decoding the JSON response")

	// The JSON helpers are measured like any request, bodies included.
	for name, code := range map[string]int{"GET /items/1": 200, "POST /items": 201, "GET /missing": 404, "POST /bad": 400, "GET /garbage": 200} {
		if rs := res.Requests[name]; assert.NotNil(t, rs, name) {
			assert.EqualValues(t, 1, rs.Count, name)
			assert.Equal(t, map[int]int64{code: 1}, rs.Status, name)
		}
	}
}

func TestExpectStatus(t *testing.T) {
	resp := func(code int) *http.Response {
		req := httptest.NewRequest(http.MethodPut, "http://user:pw@h/x?y=1", nil)
		return &http.Response{StatusCode: code, Request: req}
	}
	tests := []struct {
		name    string
		resp    *http.Response
		codes   []int
		wantErr bool
		want    []int
		wantMsg string
	}{
		{"default 200", resp(200), nil, false, nil, ""},
		{"default 204", resp(204), nil, false, nil, ""},
		{"default 299", resp(299), nil, false, nil, ""},
		{"default 199", resp(199), nil, true, nil, "want 2xx"},
		{"default 302", resp(302), nil, true, nil, "status 302 Found, want 2xx"},
		{"default 500", resp(500), nil, true, nil, "status 500 Internal Server Error, want 2xx"},
		{"explicit match", resp(404), []int{404}, false, nil, ""},
		{"explicit second match", resp(201), []int{200, 201}, false, nil, ""},
		{"explicit excludes other 2xx", resp(200), []int{201}, true, []int{201}, "want 201"},
		{"explicit mismatch", resp(500), []int{200, 201}, true, []int{200, 201}, "want 200 or 201"},
		{"nil response", nil, []int{200}, true, []int{200}, "no response"},
		{"nil response default", nil, nil, true, nil, "no response, want status 2xx"},
		{"named request", named(resp(503), "PUT /x/{id}"), nil, true, nil, "molotov: PUT /x/{id}: status 503 Service Unavailable, want 2xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ExpectStatus(tt.resp, tt.codes...)
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			var se *StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.want, se.Want)
			assert.Contains(t, err.Error(), tt.wantMsg)
			if tt.resp == nil {
				assert.Zero(t, se.Got)
				return
			}
			assert.Equal(t, tt.resp.StatusCode, se.Got)
			assert.Equal(t, http.MethodPut, se.Method)
			assert.NotContains(t, se.URL, "pw", "the URL's password must be redacted")
			assert.Contains(t, se.URL, "h/x?y=1")
		})
	}
}

// named gives resp's request the request name name.
func named(resp *http.Response, name string) *http.Response {
	resp.Request = resp.Request.WithContext(WithRequestName(resp.Request.Context(), name))
	return resp
}

// The failures of a named request are counted under its name, one line of
// the run's errors per cause whatever the ids in the URLs: a status, a
// refused connection, a timeout waiting for the response or reading its
// body. The errors stay what they were to errors.As.
func TestErrorsGroupedByRequestName(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request, headersFirst bool) {
		if headersFirst {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/down/"):
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasPrefix(r.URL.Path, "/slow/"):
			slow(w, r, false)
		case strings.HasPrefix(r.URL.Path, "/stall/"):
			slow(w, r, true)
		}
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()

	// The timeout cases' limit leaves a loaded machine time for the
	// headers; the others' never strikes.
	for _, tt := range []struct {
		name, base, path, want string
		timeout                bool
	}{
		{"status", srv.URL, "/down/%d", "molotov: GET /down/{id}: status 503 Service Unavailable, want 2xx", false},
		{"refused", closed, "/gone/%d", "GET /gone/{id}: dial tcp " + ln.Addr().String() + ": connect: connection refused", false},
		{"timeout", srv.URL, "/slow/%d", "GET /slow/{id}: molotov: request timeout (200ms) hit while waiting for the response", true},
		{"body timeout", srv.URL, "/stall/%d", "molotov: GET /stall/{id}: request timeout (200ms) hit while reading the response body", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "GET " + strings.Replace(tt.path, "%d", "{id}", 1)
			var mu sync.Mutex
			var errs []error
			reg := sbOneScenario("item", func(ctx context.Context, s *Session) error {
				err := faultReadAll(fmt.Sprintf(tt.base+tt.path, s.Iteration()))(WithRequestName(ctx, name), s)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return err
			})
			limit := time.Minute
			if tt.timeout {
				limit = 200 * time.Millisecond
			}
			r := Runner{Registry: reg, Workers: 2, MaxRuns: 5, RequestTimeout: limit, Quiet: true, Output: &bytes.Buffer{}}
			res, err := r.Run(context.Background())
			require.NoError(t, err)
			require.EqualValues(t, 10, res.Failed)
			require.Len(t, res.Errors, 1, "one cause, one line: %v", res.Errors)
			assert.EqualValues(t, 10, res.Errors[0].Count)
			assert.True(t, strings.HasPrefix(res.Errors[0].Error, tt.want), "%q, want it to begin %q", res.Errors[0].Error, tt.want)
			for _, err := range errs {
				var te *TimeoutError
				assert.Equal(t, tt.timeout, errors.As(err, &te), "%v", err)
				var ne net.Error
				if errors.As(err, &ne) {
					assert.Equal(t, tt.timeout, ne.Timeout(), "%v", err)
				}
				if tt.name == "refused" {
					var ue *url.Error
					assert.ErrorAs(t, err, &ue)
					assert.ErrorIs(t, err, syscall.ECONNREFUSED)
				}
			}
		})
	}
}

// An unnamed request's errors count without the values of the URL's
// query, which differ per request where its path does not (its stats
// name leaves the query out); the error the scenario gets keeps the
// whole URL.
func TestErrorsGroupedWithoutTheQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var mu sync.Mutex
	var errs []error
	reg := sbOneScenario("search", func(ctx context.Context, s *Session) error {
		err := faultReadAll(fmt.Sprintf("%s/search?q=term%d&page=%d", srv.URL, s.Iteration(), s.Worker))(ctx, s)
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		return err
	})
	r := Runner{Registry: reg, Workers: 2, MaxRuns: 5, Quiet: true, Output: &bytes.Buffer{}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 10, res.Failed)
	require.Len(t, res.Errors, 1, "one cause, one line: %v", res.Errors)
	assert.Equal(t, "molotov: GET "+srv.URL+"/search?q=…&page=…: status 503 Service Unavailable, want 2xx", res.Errors[0].Error)
	assert.Contains(t, res.Requests, "GET /search")
	for _, err := range errs {
		assert.Contains(t, err.Error(), "/search?q=term", "the scenario's error keeps the query")
	}
}

func TestSessionRequestNamesAndMeasure(t *testing.T) {
	srv := serveFunc(t, sbOK)
	errBoom := errors.New("boom")
	var measureErrs []error
	reg := sbOneScenario("names", func(ctx context.Context, s *Session) error {
		named := WithRequestName(ctx, "GET /items/{id}")
		for _, p := range []string{"/items/1", "/items/2"} {
			if err := sbGet(named, s, p); err != nil {
				return err
			}
		}
		for _, p := range []string{"/items?x=1", "/items?x=2&y=3"} {
			if err := sbGet(ctx, s, p); err != nil {
				return err
			}
		}
		if err := s.Measure("db.query", func() error { time.Sleep(5 * time.Millisecond); return nil }); err != nil {
			return err
		}
		measureErrs = append(measureErrs, s.Measure("db.query", func() error { return errBoom }))
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 2, Quiet: true})
	require.EqualValues(t, 2, res.OK, "errors: %v", res.Errors)

	names := make([]string, 0, len(res.Requests))
	for n := range res.Requests {
		names = append(names, n)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"GET /items", "GET /items/{id}", "db.query"}, names)

	if rs := res.Requests["GET /items/{id}"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, 4, rs.Count)
		assert.Equal(t, map[int]int64{200: 4}, rs.Status)
	}
	if rs := res.Requests["GET /items"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, 4, rs.Count)
	}
	if rs := res.Requests["db.query"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, 4, rs.Count)
		assert.EqualValues(t, 2, rs.Errors)
		assert.Empty(t, rs.Status)
		assert.GreaterOrEqual(t, rs.Latency.Max, 5*time.Millisecond)
	}
	require.Len(t, measureErrs, 2)
	for _, err := range measureErrs {
		assert.ErrorIs(t, err, errBoom, "Measure must return fn's error")
	}
}

func TestSessionFanOutOverClient(t *testing.T) {
	var served atomic.Int64
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "ok")
	})
	const workers, runs, fan = 2, 3, 10
	reg := sbOneScenario("fan", func(ctx context.Context, s *Session) error {
		var wg sync.WaitGroup
		errs := make(chan error, fan)
		for i := 0; i < fan; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/fan"), nil)
				if err != nil {
					errs <- err
					return
				}
				resp, err := s.Client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil {
					err = ExpectStatus(resp)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)
	assert.EqualValues(t, workers*runs*fan, served.Load())
	if rs := res.Requests["GET /fan"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, workers*runs*fan, rs.Count)
		assert.Equal(t, map[int]int64{200: workers * runs * fan}, rs.Status)
	}
}

func TestSessionDrainsOpenBodies(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 10<<10))
	})
	const workers, runs = 2, 10
	reg := sbOneScenario("leaky", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/open")
		if err != nil {
			return err
		}
		return ExpectStatus(resp, http.StatusOK) // body neither read nor closed
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)
	assert.LessOrEqual(t, int64(srv.seen(http.StateNew)), int64(workers), "connections were not reused: open bodies not drained")
	if rs := res.Requests["GET /open"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, workers*runs, rs.Count)
		assert.Zero(t, rs.Errors)
		assert.Equal(t, map[int]int64{200: workers * runs}, rs.Status)
	}
}

func TestSessionMaxResponseBytes(t *testing.T) {
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < (2<<20)/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	const limit = 1 << 20
	var n int
	var got error
	reg := sbOneScenario("big", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/big")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		n, got = len(data), err
		return err
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, MaxResponseBytes: limit, Quiet: true})
	var tl *ResponseTooLargeError
	require.ErrorAs(t, got, &tl)
	assert.EqualValues(t, limit, tl.Limit)
	assert.LessOrEqual(t, n, limit, "more than MaxResponseBytes handed to the scenario")
	assert.Greater(t, n, limit/2, "the body should be read up to the limit")
	assert.EqualValues(t, 1, res.Failed)
	require.Len(t, res.Errors, 1)
	assert.Contains(t, res.Errors[0].Error, "MaxResponseBytes")
	if rs := res.Requests["GET /big"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, 1, rs.Count)
		assert.EqualValues(t, 1, rs.Errors)
	}
}

// sbCountingRT counts the requests going through a replacement transport.
type sbCountingRT struct {
	n    atomic.Int64
	base *http.Transport
}

func (c *sbCountingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestSessionTransportReplacementIsMeasured(t *testing.T) {
	var withHeader atomic.Int64
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Session") == "yes" {
			withHeader.Add(1)
		}
		io.WriteString(w, "ok")
	})
	rt := &sbCountingRT{base: &http.Transport{}}
	t.Cleanup(rt.base.CloseIdleConnections)
	var configured atomic.Int64
	reg := sbOneScenario("rt", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/t") })
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{
			Transport:          rt,
			Header:             http.Header{"X-Session": {"yes"}},
			ConfigureTransport: func(*http.Transport) { configured.Add(1) }, // ignored: Transport replaces it
		}, nil
	})
	const workers, runs = 2, 3
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)
	assert.EqualValues(t, workers*runs, rt.n.Load(), "requests did not go through the replacement transport")
	assert.EqualValues(t, workers*runs, withHeader.Load(), "session headers lost with a replaced transport")
	if rs := res.Requests["GET /t"]; assert.NotNil(t, rs) {
		assert.EqualValues(t, workers*runs, rs.Count)
		assert.Equal(t, map[int]int64{200: workers * runs}, rs.Status)
	}
	assert.Zero(t, configured.Load())
}

func TestSessionConfigureTransport(t *testing.T) {
	srv := serveFunc(t, sbOK)
	var mu sync.Mutex
	configured := map[int]*http.Transport{}
	own := map[int]*http.Transport{}
	reg := sbOneScenario("ct", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{ConfigureTransport: func(tr *http.Transport) {
			mu.Lock()
			defer mu.Unlock()
			if _, dup := configured[worker]; dup {
				panic("ConfigureTransport called twice")
			}
			configured[worker] = tr
			tr.DisableKeepAlives = true // observable: one connection per request
		}}, nil
	})
	reg.SetupSession(func(ctx context.Context, s *Session) error {
		mu.Lock()
		defer mu.Unlock()
		own[s.Worker] = s.trans
		return nil
	})
	const workers, runs = 2, 3
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK, "errors: %v", res.Errors)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, configured, workers)
	for w, tr := range configured {
		require.NotNil(t, tr)
		assert.Same(t, own[w], tr, "worker %d: ConfigureTransport did not get the worker's own transport", w)
	}
	assert.EqualValues(t, workers*runs, int64(srv.seen(http.StateNew)), "ConfigureTransport's change (DisableKeepAlives) had no effect")
}

// TestSessionClosesIdleConnections checks "idle connections are closed
// when the session ends", and that s.Client.CloseIdleConnections reaches
// the worker's transport.
func TestSessionClosesIdleConnections(t *testing.T) {
	tests := []struct {
		name            string
		replace         bool // SessionConfig.Transport is an *http.Transport
		closeInScenario bool // the scenario calls s.Client.CloseIdleConnections
	}{
		{"own transport, at session end", false, false},
		{"replaced transport, at session end", true, false},
		{"own transport, Client.CloseIdleConnections in scenario", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveFunc(t, sbOK)
			const runs = 3
			reg := sbOneScenario("idle", func(ctx context.Context, s *Session) error {
				if err := sbGet(ctx, s, "/"); err != nil {
					return err
				}
				if tt.closeInScenario {
					s.Client.CloseIdleConnections()
				}
				return nil
			})
			if tt.replace {
				tr := &http.Transport{}
				t.Cleanup(tr.CloseIdleConnections)
				reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
					return &SessionConfig{Transport: tr}, nil
				})
			}
			res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: runs, Quiet: true})
			require.EqualValues(t, runs, res.OK, "errors: %v", res.Errors)
			if tt.closeInScenario {
				assert.EqualValues(t, runs, int64(srv.seen(http.StateNew)), "s.Client.CloseIdleConnections did not close the worker's idle connection")
			}
			assert.Eventually(t, func() bool {
				return int64(srv.seen(http.StateClosed)+srv.seen(http.StateHijacked)) == int64(srv.seen(http.StateNew))
			}, time.Second, 10*time.Millisecond,
				"idle connections still open after the run: %d opened, %d closed", int64(srv.seen(http.StateNew)), int64(srv.seen(http.StateClosed)+srv.seen(http.StateHijacked)))
		})
	}
}

func TestSessionStepAndIteration(t *testing.T) {
	srv := serveFunc(t, sbOK)
	var mu sync.Mutex
	steps := map[int][]int{}
	iters := map[int64]int{}
	reg := sbOneScenario("count", func(ctx context.Context, s *Session) error {
		mu.Lock()
		steps[s.Worker] = append(steps[s.Worker], s.Step())
		iters[s.Iteration()]++
		mu.Unlock()
		return sbGet(ctx, s, "/")
	})
	const workers, runs = 3, 5
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: runs, Quiet: true})
	require.EqualValues(t, workers*runs, res.OK)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, steps, workers)
	for w, got := range steps {
		assert.Equal(t, []int{1, 2, 3, 4, 5}, got, "worker %d", w)
	}
	assert.Len(t, iters, workers*runs, "Iteration values are not unique across workers")
	for it, n := range iters {
		assert.Equal(t, 1, n, "iteration %d seen %d times", it, n)
		assert.True(t, it >= 1 && it <= workers*runs, "iteration %d out of 1..%d", it, workers*runs)
	}
}

// TestSessionHeaderCookieWithJar: a Cookie in SessionConfig.Header is "sent
// with every request of the session", also once the server has set a cookie
// of its own (aiohttp, under Molotov, merges session cookie headers with the
// jar's cookies).
func TestSessionHeaderCookieWithJar(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		names := []string{}
		for _, c := range r.Cookies() {
			names = append(names, c.Name+"="+c.Value)
		}
		sort.Strings(names)
		mu.Lock()
		seen = append(seen, strings.Join(names, ","))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "srv", Path: "/"})
	})
	reg := sbOneScenario("c", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{Header: http.Header{"Cookie": {"static=hdr"}}}, nil
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 2, Quiet: true})
	require.EqualValues(t, 2, res.OK)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	assert.Equal(t, "static=hdr", seen[0])
	assert.Equal(t, "sid=srv,static=hdr", seen[1], "the session's Cookie header was dropped once the jar had a cookie")
}

// TestSessionHeadersNotLeakedOnCrossHostRedirect: net/http drops
// Authorization and Cookie when a redirect leaves the original domain; the
// session's headers, added in the transport, must not bring them back, nor
// any other credential (a name the redaction rules call secret), while the
// session's other headers go on.
func TestSessionHeadersNotLeakedOnCrossHostRedirect(t *testing.T) {
	var mu sync.Mutex
	var landed []string
	other := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		landed = append(landed, strings.Join([]string{r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("X-Api-Key"), r.Header.Get("X-Trace")}, "|"))
		mu.Unlock()
	})
	// Same server, another host name: 127.0.0.1 → localhost.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	origin := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/landing", http.StatusFound)
	})
	tests := []struct {
		name string
		from string // where the headers come from: the request, SessionConfig.Header or SetHeader
		want string // Authorization|Cookie|X-Api-Key|X-Trace at the other host
	}{
		{"request headers (net/http strips them)", "request", "|||"},
		{"SessionConfig.Header", "config", "|||on"},
		{"SetHeader", "set", "|||on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			landed = nil
			mu.Unlock()
			secret := http.Header{"Authorization": {"Bearer s3cret"}, "Cookie": {"sid=s3cret"}}
			session := http.Header{"X-Api-Key": {"s3cret"}, "X-Trace": {"on"}}
			for k, v := range secret {
				session[k] = v
			}
			reg := sbOneScenario("redir", func(ctx context.Context, s *Session) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/go", nil)
				if err != nil {
					return err
				}
				if tt.from == "request" {
					for k, v := range secret {
						req.Header[k] = v
					}
				}
				resp, err := s.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				return ExpectStatus(resp, http.StatusOK)
			})
			switch tt.from {
			case "config":
				reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
					return &SessionConfig{Header: session}, nil
				})
			case "set":
				reg.SetupSession(func(ctx context.Context, s *Session) error {
					for k, v := range session {
						s.SetHeader(k, v[0])
					}
					return nil
				})
			}
			res := sbRun(t, Runner{Registry: reg, BaseURL: origin.URL, MaxRuns: 1, Quiet: true})
			require.EqualValues(t, 1, res.OK, "errors: %v", res.Errors)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{tt.want}, landed, "credentials sent to another host after a redirect (Authorization|Cookie|X-Api-Key|X-Trace)")
		})
	}
}

// TestSessionUnreadBodyLatency: a scenario that checks the status and never
// reads the body (the idiom of the package's own example) must not have the
// rest of the scenario counted in that request's latency.
func TestSessionUnreadBodyLatency(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(60 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	})
	reg := sbOneScenario("two", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/fast")
		if err != nil {
			return err
		}
		if err := ExpectStatus(resp, http.StatusOK); err != nil { // body left to the session
			return err
		}
		return sbGet(ctx, s, "/slow")
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 3, Quiet: true})
	require.EqualValues(t, 3, res.OK, "errors: %v", res.Errors)
	fast := res.Requests["GET /fast"]
	require.NotNil(t, fast)
	assert.EqualValues(t, 3, fast.Count)
	assert.Less(t, fast.Latency.Max, 30*time.Millisecond,
		"GET /fast answers at once but is measured like GET /slow (%v): its latency runs to the end of the scenario", res.Requests["GET /slow"].Latency.P50)
}

// TestSessionBodyTimeoutNamesRequest: a timeout while reading the body is
// reported, like one while waiting for the headers, with the request it
// struck, so Result.Errors tells which request was slow.
func TestSessionBodyTimeoutNamesRequest(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		sbWaitCtx(r, 2*time.Second)
	})
	reg := sbOneScenario("stall", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/stall") })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, RequestTimeout: 100 * time.Millisecond, Quiet: true})
	require.EqualValues(t, 1, res.Failed)
	require.Len(t, res.Errors, 1)
	msg := res.Errors[0].Error
	assert.Contains(t, msg, "request timeout")
	assert.NotContains(t, msg, "molotov::", "malformed message")
	assert.Contains(t, msg, "GET "+srv.URL+"/stall", "the body timeout does not name its request")
}

func TestSessionProxyOnlyWhenTheEnvironmentNamesOne(t *testing.T) {
	vars := []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"}
	for _, k := range vars {
		t.Setenv(k, "")
	}
	if sessionProxy() != nil {
		t.Fatal("no proxy variable set, yet the session's transport has a Proxy func")
	}
	for _, k := range vars {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, "http://127.0.0.1:9")
			if sessionProxy() == nil {
				t.Errorf("%s is set, yet the session's transport has no Proxy func", k)
			}
		})
	}
}

// A ClientTrace in the context given to Run reaches every request made
// with the scenario's context, through the session's shared request
// context and its shortcut for the trace's key.
func TestClientTraceInRunContextReachesRequests(t *testing.T) {
	require.NotNil(t, traceKey, "httptrace's context key was not learnt")
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	var got atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { got.Add(1) }}
	reg := sbOneScenario("traced", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 10*time.Second)
	defer cancel()
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 5, Quiet: true}).Run(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 10, res.OK, "errors: %v", res.Errors)
	assert.EqualValues(t, 10, got.Load(), "GotConn calls: one per request")
}
