package molotov

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -molotov.prometheus needs the prom package linked in; without it the run
// does not start and says what to import.
func TestExporterNotLinked(t *testing.T) {
	reg, entered := noHTTPRegistry(nil)
	_, err := (&Runner{Registry: reg, MaxRuns: 1, Quiet: true, prometheus: "127.0.0.1:0"}).Run(context.Background())
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), `import _ "github.com/molotov-go/molotov/prom"`)
	assert.Zero(t, entered.Load())
}

// A registered exporter starts with the run, sees it, and stops when it
// ends; one that fails to start stops the run from starting.
func TestExporterLifecycle(t *testing.T) {
	var started, stopped int
	var sawRun *Run
	RegisterExporter("test-ok", func(addr string, run *Run) (func() error, error) {
		started++
		sawRun = run
		assert.Equal(t, "somewhere", addr)
		return func() error { stopped++; return nil }, nil
	})
	RegisterExporter("test-z-fail", func(addr string, run *Run) (func() error, error) {
		return nil, errors.New("address in use")
	})
	t.Cleanup(func() {
		exportersMu.Lock()
		delete(exporters, "test-ok")
		delete(exporters, "test-z-fail")
		exportersMu.Unlock()
	})
	reg, _ := noHTTPRegistry(nil)
	rs := newRunState(context.Background(), (&Runner{Registry: reg, Quiet: true}).withDefaults(), reg.snapshot())
	defer rs.cancel()
	run := &Run{rs: rs, done: make(chan struct{})}
	stop, err := startExporters(run, map[string]string{"test-ok": "somewhere"})
	require.NoError(t, err)
	assert.Equal(t, 1, started)
	assert.Same(t, run, sawRun)
	stop()
	assert.Equal(t, 1, stopped)

	_, err = startExporters(run, map[string]string{"test-ok": "somewhere", "test-z-fail": "x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "starting the test-z-fail exporter at x: address in use")
	assert.Equal(t, 2, stopped, "the exporter started before the failure is stopped")
}

// A Goexit (t.FailNow) in GlobalSetup leaves no exporter running and no
// statsd sender behind (goleak in TestMain checks the goroutines).
func TestGoexitInGlobalSetupReleasesEverything(t *testing.T) {
	var started, stopped atomic.Int32
	RegisterExporter("test-leak", func(addr string, run *Run) (func() error, error) {
		started.Add(1)
		return func() error { stopped.Add(1); return nil }, nil
	})
	t.Cleanup(func() {
		exportersMu.Lock()
		delete(exporters, "test-leak")
		exportersMu.Unlock()
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	reg, _ := noHTTPRegistry(nil)
	reg.GlobalSetup(func(ctx context.Context, r *Runner) error {
		runtime.Goexit()
		return nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Runner{Registry: reg, MaxRuns: 1, Quiet: true, Statsd: pc.LocalAddr().String()}).Start(context.Background())
	}()
	<-done
	assert.Zero(t, started.Load(), "exporters start after GlobalSetup")
	assert.Equal(t, started.Load(), stopped.Load())
}
