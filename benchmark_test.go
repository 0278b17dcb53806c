package molotov

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Benchmark reports the figures benchstat compares, in the Go benchmark
// format (value and unit pairs, units without spaces).
func TestBenchmarkReportsMetrics(t *testing.T) {
	clearMolotovEnv(t)
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		sbOK(w, r)
	})
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error {
		if err := sbGet(ctx, s, "/a"); err != nil {
			return err
		}
		return sbGet(ctx, s, "/b") // two requests per run
	})
	var last *Result
	br := testing.Benchmark(func(b *testing.B) {
		last = Benchmark(b, &Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, Duration: time.Hour})
	})
	require.Positive(t, br.N, "the benchmark failed")
	require.NotNil(t, last)
	assert.GreaterOrEqual(t, last.Started, int64(br.N), "b.N scenario runs, whatever Duration says")
	assert.Less(t, last.Started, int64(br.N+4), "b.N rounded up to a multiple of the workers")
	for _, unit := range []string{"req/s", "runs/s", "p50-ns", "p99-ns", "failures/op"} {
		assert.Contains(t, br.Extra, unit)
	}
	assert.InDelta(t, 2*br.Extra["runs/s"], br.Extra["req/s"], br.Extra["req/s"]*0.01, "two requests per run")
	assert.GreaterOrEqual(t, br.Extra["p50-ns"], float64(4*time.Millisecond), "two requests of 2ms each")
	assert.GreaterOrEqual(t, br.Extra["p99-ns"], br.Extra["p50-ns"])
	assert.Zero(t, br.Extra["failures/op"])

	line := "BenchmarkLoad " + br.String()
	assert.Regexp(t, regexp.MustCompile(`^BenchmarkLoad\s+\d+\s+\d+(\.\d+)? ns/op(\s+\S+ \S+)+$`), strings.TrimSpace(line))
	for _, f := range strings.Fields(line)[2:] {
		assert.NotContains(t, f, "\t")
	}
}

// A failing run fails the benchmark, as it fails a test.
func TestBenchmarkFailsOnFailures(t *testing.T) {
	clearMolotovEnv(t)
	reg, _ := noHTTPRegistry(func(n int64) bool { return n == 1 })
	br := testing.Benchmark(func(b *testing.B) {
		Benchmark(b, &Runner{Registry: reg, Workers: 2})
	})
	assert.Zero(t, br.N, "testing.Benchmark returns a zero result for a failed benchmark")
}
