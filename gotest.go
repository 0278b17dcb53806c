package molotov

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/molotov-go/molotov/internal/threshold"
	"github.com/molotov-go/molotov/internal/tick"
)

// backstopCtx is Runner.Test's context: cancelled, with the cause
// context.DeadlineExceeded, by a tick at its deadline, which it reports
// as context.WithDeadline's would, with no runtime timer pending (see
// internal/tick).
type backstopCtx struct {
	context.Context
	deadline time.Time
}

func (c backstopCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// TB is the part of testing.TB that Runner.Test uses; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Context() context.Context
}

// deadliner is implemented by *testing.T.
type deadliner interface {
	Deadline() (time.Time, bool)
}

// Test runs the load test inside a Go test and returns its Result:
//
//	func TestLoad(t *testing.T) {
//		r := molotov.Runner{BaseURL: srv.URL, Workers: 10, Duration: 5 * time.Second}
//		r.Test(t)
//	}
//
// Test applies the -molotov.* flags and MOLOTOV_* environment variables to
// a copy of r (flag beats environment beats field), skips under -short,
// refuses an unbounded run (no Duration, MaxRuns or SingleRun) with
// Fatalf, clips the run to the test's deadline, cancels it on SIGINT or
// SIGTERM (teardowns run and the summary is logged), logs the summary, and
// fails the test with Errorf when Failed reaches MaxFailures (zero: any
// failure), a fixture failed, or the run was interrupted. It returns nil
// when it skipped or the run could not start.
//
// Call Test from the test's goroutine, as with t.Fatal.
func (r *Runner) Test(t TB) *Result {
	t.Helper()
	cfg, err := commandLineFlags().Apply(*r) // first, so that a bad value fails even under -short
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	if f := flag.Lookup("test.short"); f != nil && f.Value.String() == "true" {
		t.Skip("molotov: load test skipped under -short")
		return nil
	}
	for _, w := range unknownEnv(os.Environ()) {
		t.Logf("%s", w)
	}
	if cfg.list {
		listScenarios(os.Stdout, cfg.Registry)
		t.Skip("molotov: scenarios listed (-molotov.list); nothing run")
		return nil
	}
	if cfg.Duration == 0 {
		cfg.Duration = shapedDuration(&cfg) // Stages, or Sizing with Rate, set the run's length
	}
	if cfg.Duration == 0 && cfg.MaxRuns == 0 && !cfg.SingleRun {
		t.Fatalf("molotov: unbounded run refused: set Runner.Duration, MaxRuns or SingleRun (or -molotov.duration, -molotov.max-runs, MOLOTOV_DURATION)")
		return nil
	}
	ctx := t.Context()
	if d, ok := t.(deadliner); ok {
		if dl, ok := d.Deadline(); ok {
			// Keep a tenth of what is left (at least a second) for
			// teardowns and reporting before the test binary panics.
			left := time.Until(dl)
			margin := max(left/10, time.Second)
			wait := max(time.Until(cfg.StartAt), 0) // the run's clock starts at StartAt
			if budget := left - margin - wait; cfg.Duration == 0 || cfg.Duration > budget {
				t.Logf("molotov: run clipped to %v by the test deadline", budget.Round(time.Millisecond))
				cfg.Duration = max(budget, time.Millisecond)
			}
			// The backstop at the deadline is a tick, not
			// context.WithDeadline: no runtime timer stays pending
			// during the run (see internal/tick).
			end := dl.Add(-margin / 2)
			cctx, cancel := context.WithCancelCause(ctx)
			ctx = backstopCtx{Context: cctx, deadline: end}
			// At least 100ms: the backstop is margin/2 (half a second or
			// more) before the test's own deadline, and a shorter period
			// would wake the tick that often until Test returns.
			stop := tick.Start(max(time.Until(end), 100*time.Millisecond), func() { cancel(context.DeadlineExceeded) })
			defer stop()
			defer cancel(nil)
		}
	}
	sigCtx, stopSignals := cancelOnSignal(ctx)
	defer stopSignals()
	cfg.summaryOff = true
	res, err := cfg.Run(sigCtx)
	if err != nil {
		if errors.Is(err, ErrSetupInterrupted) && sigCtx.Err() != nil && ctx.Err() == nil {
			t.Errorf("molotov: run interrupted by a signal during GlobalSetup; no worker started, no scenario ran (%v)", err)
		} else {
			t.Errorf("%v", err)
		}
		if res == nil {
			return nil
		}
	}
	if !cfg.Quiet {
		var b bytes.Buffer
		console.WriteSummary(&b, summaryOf(res))
		t.Logf("molotov summary:\n%s", b.String())
	}
	signalled := sigCtx.Err() != nil && ctx.Err() == nil
	if msg := verdict(res, signalled); msg != "" {
		t.Errorf("%s", msg)
	}
	if signalled {
		t.Errorf("molotov: run interrupted by a signal after %v; %d of %d runs completed", res.Elapsed.Round(time.Millisecond), res.OK+res.Failed, res.Started)
	}
	return res
}

// verdict says why a finished run fails its test, or "" when it passes
// (Result.Outcome is OutcomePassed). A cancellation by a signal is left
// to the caller, which says so itself.
func verdict(res *Result, signalled bool) string {
	var why []string
	if res.StopReason == StopCancelled && !signalled {
		why = append(why, fmt.Sprintf("run interrupted: its context was cancelled after %v; %d of %d runs completed",
			res.Elapsed.Round(time.Millisecond), res.OK+res.Failed, res.Started))
	}
	if failed, over := res.failuresOverBudget(); over {
		if res.maxFailures > 0 {
			why = append(why, fmt.Sprintf("%d scenario runs failed, reaching MaxFailures (%d)", failed, res.maxFailures))
		} else {
			why = append(why, fmt.Sprintf("%d of %d scenario runs failed (set Runner.MaxFailures or -molotov.fail to tolerate some)", failed, res.Started))
		}
	}
	if res.SetupFailed > 0 {
		why = append(why, fmt.Sprintf("%d workers failed their Setup or SetupSession (or were ended by runtime.Goexit in a fixture or event handler)", res.SetupFailed))
	}
	var broken []string
	for _, tr := range res.Thresholds {
		if !tr.Pass {
			broken = append(broken, "molotov: threshold broken: "+describeThreshold(tr)+res.unseenName(tr))
		}
	}
	if len(broken) == 0 && res.StopReason == StopThreshold {
		broken = append(broken, "molotov: run stopped by Runner.ThresholdAbort: a threshold broke during the run (it held again at the end)")
	}
	if len(why) == 0 && len(broken) == 0 {
		return ""
	}
	var lines []string
	if len(why) > 0 {
		msg := "molotov: " + strings.Join(why, "; ")
		if len(res.Errors) > 0 {
			msg += "; most frequent error (" + fmt.Sprint(res.Errors[0].Count) + "×): " + res.Errors[0].Error
		}
		lines = append(lines, msg)
	}
	return strings.Join(append(lines, broken...), "\n")
}

// describeThreshold prints a threshold with its measured value:
// "p99 < 200ms (measured 312.4ms)".
func describeThreshold(tr ThresholdResult) string {
	if math.IsNaN(tr.Value) {
		return strings.TrimSpace(tr.Expr) + " (nothing was measured)"
	}
	return fmt.Sprintf("%s (measured %s)", strings.TrimSpace(tr.Expr), tr.measured())
}

// unseenName says, for a threshold on a request or scenario name that the
// run never saw, which names it saw: a typo in the name is the usual
// cause. It returns "" otherwise.
func (r *Result) unseenName(tr ThresholdResult) string {
	t, err := parseThreshold(tr.Expr)
	if err != nil || !math.IsNaN(tr.Value) {
		return ""
	}
	var names []string
	switch t.Scope {
	case threshold.Request:
		if _, ok := r.Requests[t.Name]; ok {
			return ""
		}
		for n := range r.Requests {
			names = append(names, strconv.Quote(n))
		}
	default:
		return ""
	}
	if len(names) == 0 {
		return "; the run made no request"
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return fmt.Sprintf("; no request was named %q, the run saw: %s", t.Name, strings.Join(names, ", "))
}

// cancelOnSignal returns a context cancelled at the first SIGINT or
// SIGTERM. From then on the signals have their default action again, so
// that a second one ends the process at once, as it would without a load
// test; a second signal that comes before that is re-raised. stop ends
// the watch.
func cancelOnSignal(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-sigs:
			cancel()
			signal.Stop(sigs)
			select {
			case sig := <-sigs: // came before Stop: deliver it as if unwatched
				if p, err := os.FindProcess(os.Getpid()); err == nil && p.Signal(sig) == nil {
					return
				}
				os.Exit(2)
			default:
			}
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			<-exited
			cancel()
		})
	}
}

// listScenarios prints the registry's scenarios, one per line, for
// -molotov.list (and molotov run --list): "molotov-scenario NAME WEIGHT".
func listScenarios(w io.Writer, reg *Registry) {
	if reg == nil {
		reg = DefaultRegistry
	}
	snap := reg.snapshot()
	for _, sc := range snap.scenarios {
		fmt.Fprintf(w, "molotov-scenario %q %d\n", sc.name, sc.weight)
	}
}

// shapedDuration returns how long a run whose length comes from its shape
// lasts: the total of its Stages, or the ramp of Sizing with Rate; zero
// for other runs.
func shapedDuration(r *Runner) time.Duration {
	c := r.withDefaults()
	if len(c.Stages) == 0 {
		return 0
	}
	return c.Duration
}
