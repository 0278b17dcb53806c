package molotov

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sbLiveLine = regexp.MustCompile(`^SUCCESSES: (\d+) \| FAILURES: (\d+) \| WORKERS: (\d+) \| ELAPSED: \S+ \| RATE: [\d.]+/s$`)

// In the open model the live line says how many of the pool are busy.
func TestConsoleLiveLineOpenModel(t *testing.T) {
	hold := make(chan struct{})
	var in atomic.Int32
	reg := sbOneScenario("hold", func(ctx context.Context, _ *Session) error {
		if in.Add(1) <= 3 { // three workers stay busy until the run ends
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		return nil
	})
	time.AfterFunc(350*time.Millisecond, func() { close(hold) })
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, Rate: 100, MaxWorkers: 10, Duration: 400 * time.Millisecond, ConsoleUpdate: 50 * time.Millisecond, Output: &out})
	require.Positive(t, res.Started)
	open := regexp.MustCompile(`^SUCCESSES: \d+ \| FAILURES: \d+ \| WORKERS: 10 \((\d+) busy\) \| ELAPSED: \S+ \| RATE: [\d.]+/s$`)
	busy := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if m := open.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			busy = max(busy, n)
		}
		assert.False(t, sbLiveLine.MatchString(l), "a closed-model live line in the open model: %s", l)
	}
	assert.GreaterOrEqual(t, busy, 3, "the held workers show as busy:\n%s", out.String())
	assert.LessOrEqual(t, busy, 10)
}

func TestConsolePeriodicLinesAndSummary(t *testing.T) {
	var n atomic.Int64
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		if n.Add(1)%3 == 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	reg := sbOneScenario("browse", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/page") })
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 400 * time.Millisecond, ConsoleUpdate: 50 * time.Millisecond, Output: &out})
	require.Positive(t, res.OK)
	require.Positive(t, res.Failed)
	text := out.String()
	t.Logf("output:\n%s", text)
	assert.NotContains(t, text, "\x1b", "not a terminal: no escape sequences")
	assert.NotContains(t, text, "\r", "not a terminal: no carriage returns")

	lines := strings.Split(text, "\n")
	var live [][]string
	last := -1
	for i, l := range lines {
		if m := sbLiveLine.FindStringSubmatch(l); m != nil {
			live = append(live, m)
			last = i
		}
	}
	// 400ms at 50ms: about 8 ticks.
	assert.GreaterOrEqual(t, len(live), 4, "want several periodic lines")
	sawWorkers := false
	for _, m := range live {
		if m[3] == "2" {
			sawWorkers = true
		}
		// Nothing to show before a worker started, nor once they all
		// ended: the summary has the final figures.
		assert.NotEqual(t, "0", m[3], "a live line with no worker: %s", m[0])
	}
	assert.True(t, sawWorkers, "no live line showed the 2 workers")

	// The summary follows the live lines.
	require.Greater(t, last, 0)
	summary := strings.Join(lines[last+1:], "\n")
	assert.Regexp(t, `(?m)^SUCCESSES: `+sbItoa(res.OK)+` \| FAILURES: `+sbItoa(res.Failed)+` \| WORKERS: 2 \(max\) \| ELAPSED: \S+ \| STOP: duration$`, summary)
	assert.Regexp(t, `(?m)^Scenarios\n\s+scenario\s+runs\s+failed\s+runs/s\s+p50\s+p90\s+p99\s+max\n\s+browse\s+`+sbItoa(res.OK+res.Failed)+`\s+`+sbItoa(res.Failed)+`\s`, summary)
	rs := res.Requests["GET /page"]
	require.NotNil(t, rs)
	assert.Regexp(t, `(?m)^Requests\n\s+request\s+count\s+no response\s+req/s\s+p50\s+p90\s+p99\s+max\s+status\n\s+GET /page\s+`+sbItoa(rs.Count)+`\s+0\s.*\s200:`+sbItoa(rs.Status[200])+` 503:`+sbItoa(rs.Status[503])+`$`, summary)
	assert.Regexp(t, `(?m)^Top errors\n\s+`+sbItoa(res.Failed)+`\s+molotov: GET http://\S+/page: status 503 Service Unavailable, want 2xx$`, summary)
}

func sbItoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestConsoleQuietPrintsNothing(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("quiet", func(ctx context.Context, s *Session) error {
		s.Printf("should not show %d", s.Step())
		for i := 0; i < 1005; i++ { // overflow warning
			s.Measure("m"+sbItoa(int64(i)), func() error { return nil })
		}
		if err := sbGet(ctx, s, "/"); err != nil {
			return err
		}
		if s.Step()%2 == 0 {
			return errors.New("a failure")
		}
		return nil
	})
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 4, Quiet: true, ConsoleUpdate: 10 * time.Millisecond, Output: &out})
	require.EqualValues(t, 4, res.Failed)
	assert.Empty(t, out.String())
}

func TestConsoleVerboseDumpRedacts(t *testing.T) {
	const (
		token  = "tok-SECRET-1234"
		cookie = "ck-SECRET-5678"
	)
	body := strings.Repeat("0123456789", 500) + "END" // longer than the dump's limit
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: cookie, Path: "/"})
		io.WriteString(w, body)
	})
	var bodies []string
	reg := sbOneScenario("dump", func(ctx context.Context, s *Session) error {
		resp, err := s.Get(ctx, "/secret")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		bodies = append(bodies, string(b))
		return err
	})
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{Header: http.Header{"Authorization": {"Bearer " + token}}}, nil
	})
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 2, Verbose: 2, ConsoleUpdate: time.Hour, Output: &out})
	require.EqualValues(t, 2, res.OK, "errors: %v", res.Errors)
	require.Len(t, bodies, 2)
	for _, b := range bodies {
		assert.Equal(t, body, b, "the scenario must still read the whole body under Verbose 2")
	}
	text := out.String()
	t.Logf("output:\n%s", text)
	assert.Contains(t, text, "> GET "+srv.URL+"/secret HTTP/1.1")
	assert.Contains(t, text, "< HTTP/1.1 200 OK")
	assert.Equal(t, 2, strings.Count(text, "> Authorization: Bearer ***"), "both requests dumped with a redacted Authorization")
	assert.Contains(t, text, "> Cookie: sid=***", "the second request carries the server's cookie, redacted")
	assert.Contains(t, text, "< Set-Cookie: sid=***")
	assert.Contains(t, text, "0123456789")
	assert.NotContains(t, text, token)
	assert.NotContains(t, text, cookie)
}

func TestConsoleSessionPrintf(t *testing.T) {
	reg := sbOneScenario("say", func(ctx context.Context, s *Session) error {
		s.Printf("hello from step %d (%s)", s.Step(), "x")
		return nil
	})
	var out lockedBuffer
	res := sbRun(t, Runner{Registry: reg, Workers: 2, MaxRuns: 2, ConsoleUpdate: time.Hour, Output: &out})
	require.EqualValues(t, 4, res.OK)
	text := out.String()
	for _, want := range []string{"[W:0] hello from step 1 (x)\n", "[W:0] hello from step 2 (x)\n", "[W:1] hello from step 1 (x)\n", "[W:1] hello from step 2 (x)\n"} {
		assert.Contains(t, text, want)
	}
}

func TestConsoleQuietVerboseIsConfigError(t *testing.T) {
	reg := sbOneScenario("x", func(ctx context.Context, s *Session) error { return nil })
	for _, v := range []int{1, 2} {
		var out lockedBuffer
		r := &Runner{Registry: reg, MaxRuns: 1, Quiet: true, Verbose: v, Output: &out}
		res, err := r.Run(context.Background())
		assert.Nil(t, res)
		var ce *ConfigError
		if assert.ErrorAs(t, err, &ce, "Verbose %d", v) {
			assert.Equal(t, "Verbose", ce.Field)
			assert.Contains(t, ce.Error(), "Quiet")
		}
		run, err := r.Start(context.Background())
		assert.Nil(t, run)
		assert.ErrorAs(t, err, &ce)
		assert.Empty(t, out.String())
	}
}
