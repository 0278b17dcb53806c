//go:build unix

package molotov

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The child side of the signal tests: a load test that runs until a
// signal, with teardowns that say when they run. The parent starts the
// test binary again with MOLOTOV_SIGNAL_CHILD set to "teardown" or
// "stuck" (a GlobalTeardown that does not end by itself).
func TestSignalChild(t *testing.T) {
	mode := os.Getenv("MOLOTOV_SIGNAL_CHILD")
	if mode == "" {
		t.Skip("run by TestSignal* in a child process")
	}
	reg := NewRegistry()
	if mode == "setup" {
		reg.GlobalSetup(func(ctx context.Context, r *Runner) error {
			fmt.Println("CHILD: global setup")
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Second):
				return nil
			}
		})
		reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
			fmt.Println("CHILD: worker setup")
			return nil, nil
		})
	}
	// "running" once both workers run: a signal before the second one
	// started would leave it no session to tear down.
	var mu sync.Mutex
	ran := map[int]bool{}
	reg.Scenario("wait", 1, func(ctx context.Context, s *Session) error {
		mu.Lock()
		if !ran[s.Worker] {
			if ran[s.Worker] = true; len(ran) == 2 {
				fmt.Println("CHILD: running")
			}
		}
		mu.Unlock()
		select {
		case <-time.After(5 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	reg.TeardownSession(func(ctx context.Context, s *Session) error {
		fmt.Printf("CHILD: teardown session %d\n", s.Worker)
		return nil
	})
	reg.GlobalTeardown(func(ctx context.Context) {
		fmt.Println("CHILD: global teardown started")
		if mode == "stuck" {
			time.Sleep(20 * time.Second) // only a second signal ends this process early
		}
		fmt.Println("CHILD: global teardown done")
	})
	(&Runner{Registry: reg, Workers: 2, Duration: time.Minute, Output: io.Discard}).Test(t)
}

// signalChild starts the child, waits until its load runs (or its
// teardown starts, for stuck), and returns it with its output so far.
type signalChild struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	seen chan string // lines starting with CHILD:
	done chan error
}

func startSignalChild(t *testing.T, mode string) *signalChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "MOLOTOV_SIGNAL_CHILD="+mode)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	c := &signalChild{cmd: cmd, seen: make(chan string, 64), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			if strings.HasPrefix(line, "CHILD:") {
				c.seen <- line
			}
		}
		close(c.seen)
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	return c
}

func (c *signalChild) waitLine(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-c.seen:
			if !ok {
				t.Fatalf("child ended before printing %q:\n%s", prefix, c.output())
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		case <-deadline:
			t.Fatalf("child did not print %q:\n%s", prefix, c.output())
		}
	}
}

func (c *signalChild) wait(t *testing.T, limit time.Duration) (*exec.ExitError, time.Duration) {
	t.Helper()
	start := time.Now()
	for range c.seen { // drain what is left
	}
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "the child must fail its test: %v\n%s", err, c.output())
		return ee, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("child still running %v after the signal:\n%s", limit, c.output())
		return nil, 0
	}
}

func (c *signalChild) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// SIGINT stops a run under Runner.Test as a cancellation: the teardowns
// run, the summary is logged, the test fails saying so, and go test's
// binary exits with status 1.
func TestSignalStopsRunWithTeardownAndSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	c := startSignalChild(t, "teardown")
	c.waitLine(t, "CHILD: running")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	ee, took := c.wait(t, 15*time.Second)
	out := c.output()
	assert.Equal(t, 1, ee.ExitCode(), "a failed test: exit status 1\n%s", out)
	assert.Less(t, took, 10*time.Second)
	for _, want := range []string{
		"CHILD: teardown session 0", "CHILD: teardown session 1", "CHILD: global teardown done",
		"molotov summary:", "STOP: cancelled", "interrupted by a signal", "--- FAIL: TestSignalChild",
	} {
		assert.Contains(t, out, want)
	}
}

// A second signal does not wait for teardowns: the process ends at once,
// killed by the signal as any Go program without a handler is.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	c := startSignalChild(t, "stuck")
	c.waitLine(t, "CHILD: running")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	c.waitLine(t, "CHILD: global teardown started")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	ee, took := c.wait(t, 5*time.Second)
	assert.Less(t, took, 5*time.Second, "the stuck teardown was not waited for")
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGINT, "killed by SIGINT, got %v\n%s", ws, c.output())
	assert.NotContains(t, c.output(), "CHILD: global teardown done")
}

// SIGINT during GlobalSetup: the test fails saying that a signal
// interrupted GlobalSetup, and no worker's Setup is called.
func TestSignalDuringGlobalSetup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	c := startSignalChild(t, "setup")
	c.waitLine(t, "CHILD: global setup")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	ee, took := c.wait(t, 15*time.Second)
	out := c.output()
	assert.Equal(t, 1, ee.ExitCode(), "a failed test: exit status 1\n%s", out)
	assert.Less(t, took, 10*time.Second)
	assert.Contains(t, out, "interrupted by a signal during GlobalSetup")
	assert.NotContains(t, out, "CHILD: worker setup")
}
