// loadgen loads one URL with molotov-go, for the shared benchmark harness
// (/work/shared/bench/run_baselines.sh, tool "loadgen"). It is the library's
// counterpart of the harness's floor program: the same flags, the same
// closed loop of workers, the same final JSON line
//
//	{"ok":N,"failed":N,"elapsed_s":X}
//
// Each worker runs one scenario again and again: GET the URL through its
// Session, drain and close the body, and expect status 200.
//
// Usage:
//
//	loadgen -url http://127.0.0.1:18080/ -workers 50 -duration 8s
//	loadgen -url http://127.0.0.1:18080/ -workers 1 -max-runs 1
//	loadgen -url http://127.0.0.1:18080/ -rate 1000 -max-workers 50 -duration 8s
//
// With -rate the line also has scheduled, dropped, rate_achieved, the
// pool's size (max_workers), its most workers busy at once (peak_busy)
// and the start lag's p50, p99 and max in
// nanoseconds (start_lag_p99_ns...).
// -warm makes one GET per session in SetupSession (counted among the
// requests but not the runs): in the open model the pool is set up before
// the run's time zero, so every session starts with its connection open,
// as with bench/openfloor -warm; in the closed model each worker is set up
// as it starts. -cpuprofile and -memprofile write pprof profiles of the
// run.
//
// Only loopback targets are accepted (127.0.0.0/8, ::1, localhost); any
// other host is refused with exit status 2, as are bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/molotov-go/molotov"
	"github.com/molotov-go/molotov/internal/loopback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad command line: main exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// options is the parsed command line.
type options struct {
	url        string
	workers    int  // the closed model's workers; with -rate, the pool when given
	workersSet bool // -workers was given
	duration   time.Duration
	maxRuns    int
	rate       float64 // the open model: starts per second; zero: closed
	maxWorkers int     // the open model's pool of sessions
	cpuProfile string  // where to write a CPU profile of the run
	memProfile string  // where to write an allocation profile of the run
	warm       bool    // each session makes one request in SetupSession
}

// parseArgs reads the flags (the same as floor's) and checks them.
func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.url, "url", "", "URL to GET; its host must be loopback (127.0.0.0/8, ::1, localhost)")
	fs.IntVar(&o.workers, "workers", 1, "number of workers, each with its own session")
	fs.DurationVar(&o.duration, "duration", 0, "how long to run; 0: until -max-runs")
	fs.IntVar(&o.maxRuns, "max-runs", 0, "scenario runs per worker; 0: no limit")
	fs.Float64Var(&o.rate, "rate", 0, "open model: scenario runs started per second (needs -duration); 0: closed model")
	fs.IntVar(&o.maxWorkers, "max-workers", 0, "open model: sessions available; 0: -workers when given, else rate x 1s")
	fs.BoolVar(&o.warm, "warm", false, "each session makes one request in SetupSession: with -rate, before the run's time zero, so that no start opens a connection")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run (go tool pprof) to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile of the run (go tool pprof -sample_index=alloc_objects) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected arguments %q; every option is a flag", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { o.workersSet = o.workersSet || f.Name == "workers" })
	if err := checkLoopback(o.url); err != nil {
		return nil, err
	}
	switch {
	case o.workers < 1:
		return nil, usagef("-workers %d: need at least 1", o.workers)
	case o.duration < 0:
		return nil, usagef("-duration %v: must not be negative", o.duration)
	case o.maxRuns < 0:
		return nil, usagef("-max-runs %d: must not be negative", o.maxRuns)
	case o.duration == 0 && o.maxRuns == 0:
		return nil, usagef("give -duration or -max-runs (or both), or the run never ends")
	case o.rate < 0:
		return nil, usagef("-rate %v: must not be negative", o.rate)
	case o.rate > 0 && (o.duration == 0 || o.maxRuns > 0):
		return nil, usagef("-rate runs by -duration; -max-runs belongs to the closed model")
	case o.maxWorkers < 0:
		return nil, usagef("-max-workers %d: must not be negative", o.maxWorkers)
	}
	return o, nil
}

// checkLoopback refuses any URL that would send load off this machine.
func checkLoopback(raw string) error {
	if err := loopback.CheckURL(raw, "loadgen"); err != nil {
		return &usageError{msg: err.Error()}
	}
	return nil
}

// run is main without the process around it: it parses args, runs the
// load and writes the JSON line to stdout.
func run(args []string, stdout io.Writer) error {
	return runContext(context.Background(), args, stdout, io.Discard)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	target := o.url
	reg := molotov.NewRegistry()
	reg.Scenario("get", 1, func(ctx context.Context, s *molotov.Session) error {
		resp, err := s.Get(ctx, target)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return molotov.ExpectStatus(resp, 200)
	})
	if o.warm {
		reg.SetupSession(func(ctx context.Context, s *molotov.Session) error {
			resp, err := s.Get(ctx, target)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
	}
	workers := o.workers
	if o.rate > 0 && !o.workersSet {
		workers = 0 // the pool is -max-workers, else the library's default (Rate × 1s)
	}
	r := molotov.Runner{
		Registry:   reg,
		Workers:    workers,
		Duration:   o.duration,
		MaxRuns:    o.maxRuns,
		Quiet:      true,
		Rate:       o.rate,
		MaxWorkers: o.maxWorkers,
		Output:     io.Discard,
	}
	stopProfiles, err := startProfiles(o)
	if err != nil {
		return err
	}
	res, err := r.Run(ctx)
	if perr := stopProfiles(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	out := map[string]any{
		"ok":        res.OK,
		"failed":    res.Failed,
		"elapsed_s": res.Elapsed.Seconds(),
	}
	if o.rate > 0 {
		out["scheduled"], out["dropped"] = res.Scheduled, res.Dropped
		out["max_workers"], out["peak_busy"] = res.MaxWorkers, res.PeakBusy
		out["rate_achieved"] = float64(res.Started) / res.Elapsed.Seconds()
		out["start_lag_p50_ns"], out["start_lag_p99_ns"] = res.StartLag.P50.Nanoseconds(), res.StartLag.P99.Nanoseconds()
		out["start_lag_max_ns"] = res.StartLag.Max.Nanoseconds()
	}
	return json.NewEncoder(stdout).Encode(out)
}
