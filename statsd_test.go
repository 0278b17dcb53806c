package molotov

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/statsd"
)

// A statsd server on loopback receives, while the run goes on, a timing
// and a status counter per request and a counter per scenario run.
func TestStatsdReceivesMetricsDuringTheRun(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get items", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/items") })
	run, err := (&Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 2 * time.Second, Quiet: true,
		Statsd: "udp://" + pc.LocalAddr().String()}).Start(context.Background())
	require.NoError(t, err)

	seen := map[string]bool{}
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(time.Second))
	for !(seen["timing"] && seen["status"] && seen["scenario"]) {
		n, _, err := pc.ReadFrom(buf)
		require.NoError(t, err, "seen so far: %v", seen)
		for _, line := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
			switch {
			case strings.HasPrefix(line, "molotov.request.GET./items:") && strings.HasSuffix(line, "|ms"):
				seen["timing"] = true
			case line == "molotov.request.GET./items.200:1|c":
				seen["status"] = true
			case line == "molotov.scenario.get.items.ok:1|c":
				seen["scenario"] = true
			}
		}
	}
	assert.Empty(t, run.Snapshot().StopReason, "the lines came while the run went on")
	run.Stop()
	res, err := run.Wait()
	require.NoError(t, err)
	assert.Positive(t, res.OK)
}

// A statsd sink that blocks never holds the run back: metrics it cannot
// take are dropped, counted, and reported in a warning.
func TestStatsdBlockedSinkNeverSlowsTheRun(t *testing.T) {
	release := make(chan struct{})
	var client *statsd.Client
	var once sync.Once
	old := statsdDial
	statsdDial = func(string) (*statsd.Client, error) {
		client = statsd.New(writerFunc(func(p []byte) (int, error) { <-release; return len(p), nil }))
		return client, nil
	}
	defer func() { statsdDial = old }()
	defer once.Do(func() { close(release) })

	reg, _ := noHTTPRegistry(nil)
	var out lockedBuffer
	start := time.Now()
	res, err := (&Runner{Registry: reg, Workers: 4, MaxRuns: 2 * statsd.QueueLen / 4, Output: &out, Statsd: "127.0.0.1:8125"}).Run(context.Background())
	require.NoError(t, err)
	took := time.Since(start)
	once.Do(func() { close(release) })
	assert.EqualValues(t, 2*statsd.QueueLen, res.OK)
	assert.Less(t, took, 10*time.Second, "the run never waited on the sink")
	assert.GreaterOrEqual(t, client.Dropped(), int64(statsd.QueueLen-statsd.MaxPacket), "what the queue could not hold was dropped")
	assert.Contains(t, out.String(), "statsd")
}

func TestStatsdAddressValidated(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	_, err := (&Runner{Registry: reg, MaxRuns: 1, Quiet: true, Statsd: "tcp://127.0.0.1:8125"}).Run(context.Background())
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "Statsd")
	assert.Contains(t, err.Error(), "only udp://")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A GlobalSetup that fails after statsd was dialled leaves no sender
// goroutine behind (goleak in TestMain checks it).
func TestStatsdClosedWhenGlobalSetupFails(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	reg, _ := noHTTPRegistry(nil)
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error { return errors.New("no database") })
	_, err = (&Runner{Registry: reg, MaxRuns: 1, Quiet: true, Statsd: pc.LocalAddr().String()}).Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no database")
}
