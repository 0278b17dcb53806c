package molotov

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	metrics "github.com/rcrowley/go-metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metricsDoc holds the one table of metric names.
const metricsDoc = "docs/metrics.md"

// documentedMetrics returns the names that column col (1: go-metrics, 2:
// statsd) of metricsDoc's table lists, as written there: with <name>,
// <request> and <status> for the parts that vary.
func documentedMetrics(t *testing.T, col int) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(metricsDoc)
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(src), "\n## Names\n")
	require.True(t, ok, "%s has no \"## Names\" section", metricsDoc)
	code := regexp.MustCompile("`([^`]+)`")
	names := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
		if !strings.HasPrefix(line, "| ") || len(cells) != 4 {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[col], -1) {
			names[m[1]] = true
		}
	}
	require.NotEmpty(t, names, "%s: no names in column %d of the table under \"## Names\"", metricsDoc, col+1)
	return names
}

// assertSameNames compares the names a run published with those the
// table lists, saying which to add or remove.
func assertSameNames(t *testing.T, what string, got, documented map[string]bool) {
	t.Helper()
	var missing, extra []string
	for n := range got {
		if !documented[n] {
			missing = append(missing, n)
		}
	}
	for n := range documented {
		if !got[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	assert.Empty(t, missing, "%s: the run published %s metrics that the table does not list; add them", metricsDoc, what)
	assert.Empty(t, extra, "%s: the table lists %s metrics that the run did not publish; fix or remove them", metricsDoc, what)
}

// TestMetricNamesDocumented runs a run that publishes every go-metrics
// and statsd metric (a success, a failure, a response and a request
// without one) and checks that metricsDoc's table lists exactly those
// names.
func TestMetricNamesDocumented(t *testing.T) {
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/drop" {
			panic(http.ErrAbortHandler) // the connection closes without a response
		}
	})
	defer srv.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()

	reg := NewRegistry()
	reg.Scenario("scn", 1, func(ctx context.Context, s *Session) error {
		ctx = WithRequestName(ctx, "req")
		path := "/ok"
		if s.Step() == 2 {
			path = "/drop"
		}
		resp, err := s.Get(ctx, path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	gm := metrics.NewRegistry()
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 2, Quiet: true, Metrics: gm,
		Statsd: "udp://" + pc.LocalAddr().String()}).Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, res.OK, "errors: %v", res.Errors)
	require.EqualValues(t, 1, res.Failed)

	vary := strings.NewReplacer(".scn.", ".<name>.", "molotov.request.req", "molotov.request.<request>")
	published := map[string]bool{}
	gm.Each(func(name string, _ any) { published[vary.Replace(name)] = true })
	assertSameNames(t, "go-metrics", published, documentedMetrics(t, 1))

	// The run flushed statsd when it ended: read what came.
	sent := map[string]bool{}
	status := regexp.MustCompile(`^(molotov\.request\.<request>)\.[0-9]{3}$`)
	buf := make([]byte, 65536)
	for {
		pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _, err := pc.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		require.NoError(t, err)
		for _, line := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
			name, _, _ := strings.Cut(line, ":")
			name = status.ReplaceAllString(vary.Replace(name), "$1.<status>")
			sent[name] = true
		}
	}
	assertSameNames(t, "statsd", sent, documentedMetrics(t, 2))
}
