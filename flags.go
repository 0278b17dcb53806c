package molotov

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The -molotov.* flags mirror Runner's fields (and Molotov's options);
// each has an environment twin, MOLOTOV_ and the flag's name in capitals
// with dashes as underscores (-molotov.max-runs → MOLOTOV_MAX_RUNS).
// Runner.Test applies them to a copy of the Runner: flag beats environment
// beats field.
//
// The flags are registered on flag.CommandLine only when os.Args holds one
// of them (as net/http/httptest does for -httptest.serve), so binaries
// that never use them see no extra flags; a command or a TestMain may
// register them explicitly with RegisterFlags.
var flagSpecs = []flagSpec{
	{"workers", "number of workers (Runner.Workers, Molotov -w)", intSetter(func(r *Runner) *int { return &r.Workers }), false},
	{"duration", "how long the run lasts, e.g. 30s or 30 (Runner.Duration, Molotov -d)", durSetter(func(r *Runner) *time.Duration { return &r.Duration }), false},
	{"max-runs", "scenario runs per worker (Runner.MaxRuns, Molotov -r)", intSetter(func(r *Runner) *int { return &r.MaxRuns }), false},
	{"ramp-up", "spread worker starts over this time (Runner.RampUp)", durSetter(func(r *Runner) *time.Duration { return &r.RampUp }), false},
	{"delay", "pause after every step (Runner.Delay)", durSetter(func(r *Runner) *time.Duration { return &r.Delay }), false},
	{"exception", "stop at the first failure (Runner.ExitOnFailure, Molotov -x)", boolSetter(func(r *Runner) *bool { return &r.ExitOnFailure }), true},
	{"fail", "stop and fail after this many failures (Runner.MaxFailures, Molotov -f)", intSetter(func(r *Runner) *int { return &r.MaxFailures }), false},
	{"single-mode", "run only this scenario (Runner.SingleMode, Molotov -s)", strSetter(func(r *Runner) *string { return &r.SingleMode }), false},
	{"single-run", "each worker runs every scenario once (Runner.SingleRun)", boolSetter(func(r *Runner) *bool { return &r.SingleRun }), true},
	{"sizing", "add workers until failures pass the tolerance (Runner.Sizing)", boolSetter(func(r *Runner) *bool { return &r.Sizing }), true},
	{"sizing-tolerance", "sizing's failure tolerance in percent (Runner.SizingTolerance)", floatSetter(func(r *Runner) *float64 { return &r.SizingTolerance }), false},
	{"force-shutdown", "cancel runs in flight at a stop (Runner.ForceShutdown)", boolSetter(func(r *Runner) *bool { return &r.ForceShutdown }), true},
	{"request-timeout", "bound on a whole request (Runner.RequestTimeout)", durSetter(func(r *Runner) *time.Duration { return &r.RequestTimeout }), false},
	{"quiet", "print nothing (Runner.Quiet, Molotov -q)", boolSetter(func(r *Runner) *bool { return &r.Quiet }), true},
	{"verbose", "1: failures with errors and stacks; 2: also requests and responses (Runner.Verbose)", intSetter(func(r *Runner) *int { return &r.Verbose }), false},
	{"console-update", "live console refresh interval (Runner.ConsoleUpdate)", durSetter(func(r *Runner) *time.Duration { return &r.ConsoleUpdate }), false},
	{"base-url", "base URL of the target (Runner.BaseURL)", strSetter(func(r *Runner) *string { return &r.BaseURL }), false},
	{"seed", "seed for reproducible scenario picking (Runner.Seed)", int64Setter(func(r *Runner) *int64 { return &r.Seed }), false},
	{"insecure", "skip TLS certificate verification, for self-signed targets (Runner.InsecureSkipVerify)", boolSetter(func(r *Runner) *bool { return &r.InsecureSkipVerify }), true},
	{"json", "write the JSON result to this file at the end (Runner.ResultFile)", strSetter(func(r *Runner) *string { return &r.ResultFile }), false},
	{"threshold-abort", "stop the run as soon as a threshold breaks (Runner.ThresholdAbort)", boolSetter(func(r *Runner) *bool { return &r.ThresholdAbort }), true},
	{"threshold", "pass/fail rule added to Runner.Thresholds, e.g. 'p99<200ms'; repeat the flag for more (environment: separate them with ;)", thresholdSetter, false},
}

// thresholdSetter checks one threshold (or, from the environment, several
// separated by ";") and adds it to the Runner's.
func thresholdSetter(r *Runner, v string) error {
	for _, e := range strings.Split(v, ";") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		if _, err := parseThreshold(e); err != nil {
			return err
		}
		r.Thresholds = append(r.Thresholds, e)
	}
	return nil
}

type flagSpec struct {
	name   string
	usage  string
	set    func(r *Runner, v string) error
	isBool bool
}

// repeatable reports a flag that may be given several times, each value
// adding to the Runner's list.
func (f *flagSpec) repeatable() bool { return f.name == "threshold" }

// envName returns the environment twin of a flag: MOLOTOV_MAX_RUNS.
func (f *flagSpec) envName() string {
	return "MOLOTOV_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
}

func intSetter(field func(*Runner) *int) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		if n < 0 {
			return fmt.Errorf("%d is negative; use a number >= 0", n)
		}
		*field(r) = n
		return nil
	}
}

func int64Setter(field func(*Runner) *int64) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(r) = n
		return nil
	}
}

func floatSetter(field func(*Runner) *float64) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		x, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "%"), 64)
		if err != nil || x < 0 {
			return fmt.Errorf("%q is not a number >= 0", v)
		}
		*field(r) = x
		return nil
	}
}

// durSetter accepts a Go duration ("1m30s") or, like Molotov, a number of
// seconds ("90", "0.5").
func durSetter(field func(*Runner) *time.Duration) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		v = strings.TrimSpace(v)
		d, err := time.ParseDuration(v)
		if err != nil {
			secs, ferr := strconv.ParseFloat(v, 64)
			if ferr != nil {
				return fmt.Errorf("%q is not a duration; write it like 30s, 1m30s or 500ms (a bare number means seconds)", v)
			}
			d = time.Duration(secs * float64(time.Second))
		}
		if d < 0 {
			return fmt.Errorf("%q is negative; use a duration >= 0", v)
		}
		*field(r) = d
		return nil
	}
}

func boolSetter(field func(*Runner) *bool) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a boolean; use true or false", v)
		}
		*field(r) = b
		return nil
	}
}

func strSetter(field func(*Runner) *string) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		*field(r) = v
		return nil
	}
}

// flagValue is a -molotov.* flag: it checks its value when parsed and keeps
// it raw until it is applied to a Runner.
type flagValue struct {
	spec *flagSpec
	val  string
	vals []string // every value of a repeatable flag
	set  bool
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return f.val
}

func (f *flagValue) Set(v string) error {
	var scratch Runner
	if err := f.spec.set(&scratch, v); err != nil {
		return err
	}
	f.val, f.set = v, true
	if f.spec.repeatable() {
		f.vals = append(f.vals, v)
	}
	return nil
}

// IsBoolFlag lets boolean flags be given without a value (-molotov.quiet).
func (f *flagValue) IsBoolFlag() bool { return f.spec.isBool }

// FlagSet holds the -molotov.* flags registered on one flag.FlagSet.
type FlagSet struct {
	values []*flagValue
}

var (
	cmdFlagsMu sync.Mutex
	cmdFlags   *FlagSet // registered on flag.CommandLine, or nil
)

func init() {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-molotov.") || strings.HasPrefix(a, "--molotov.") {
			RegisterFlags(nil)
			return
		}
	}
}

// RegisterFlags registers the -molotov.* flags on fs (flag.CommandLine
// when nil) and returns them; Runner.Test reads the ones on
// flag.CommandLine. Registering on flag.CommandLine twice returns the
// first registration. Go test binaries do this by themselves when a
// -molotov.* flag is on the command line.
func RegisterFlags(fs *flag.FlagSet) *FlagSet {
	if fs == nil || fs == flag.CommandLine {
		cmdFlagsMu.Lock()
		defer cmdFlagsMu.Unlock()
		if cmdFlags == nil {
			cmdFlags = registerOn(flag.CommandLine)
		}
		return cmdFlags
	}
	return registerOn(fs)
}

func registerOn(fs *flag.FlagSet) *FlagSet {
	set := &FlagSet{}
	for i := range flagSpecs {
		v := &flagValue{spec: &flagSpecs[i]}
		fs.Var(v, "molotov."+v.spec.name, v.spec.usage+" [env "+v.spec.envName()+"]")
		set.values = append(set.values, v)
	}
	return set
}

// Apply returns a copy of r with the MOLOTOV_* environment variables and
// then the flags that were set applied: flag beats environment beats
// field. An environment variable that does not parse is an error naming
// it. fs may be nil (environment only).
func (fs *FlagSet) Apply(r Runner) (Runner, error) {
	for i := range flagSpecs {
		spec := &flagSpecs[i]
		if v, ok := os.LookupEnv(spec.envName()); ok && v != "" {
			if err := spec.set(&r, v); err != nil {
				return r, fmt.Errorf("molotov: environment variable %s: %w", spec.envName(), err)
			}
		}
	}
	if fs != nil {
		for _, v := range fs.values {
			if !v.set {
				continue
			}
			vals := []string{v.val}
			if v.spec.repeatable() {
				vals = v.vals
			}
			for _, val := range vals {
				if err := v.spec.set(&r, val); err != nil {
					return r, fmt.Errorf("molotov: flag -molotov.%s: %w", v.spec.name, err)
				}
			}
		}
	}
	return r, nil
}

// commandLineFlags returns the flags registered on flag.CommandLine, or
// nil when none were.
func commandLineFlags() *FlagSet {
	cmdFlagsMu.Lock()
	defer cmdFlagsMu.Unlock()
	return cmdFlags
}
