package molotov

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/molotov-go/molotov/internal/parse"
	"github.com/molotov-go/molotov/internal/segment"
	"github.com/molotov-go/molotov/internal/statsd"
	"github.com/molotov-go/molotov/internal/suggest"
)

// The -molotov.* flags mirror Runner's fields (and Molotov's options);
// each has an environment twin, MOLOTOV_ and the flag's name in capitals
// with dashes as underscores (-molotov.max-runs → MOLOTOV_MAX_RUNS).
// Runner.Test applies them to a copy of the Runner: flag beats environment
// beats field.
//
// The flags are registered on flag.CommandLine only when os.Args holds one
// of them or asks for help (-h, -help), as net/http/httptest does for
// -httptest.serve: go test ./loadtest -args -h lists them, and binaries
// that never use them see no extra flags. A command or a TestMain may
// register them explicitly with RegisterFlags.
//
// docs/flags.md lists every flag; a test keeps it in step with flagSpecs.
var flagSpecs = []flagSpec{
	{"workers", "number of workers, 1 to 1000000 (Runner.Workers, Molotov -w)", intSetter(func(r *Runner) *int { return &r.Workers }, maxWorkers), false},
	{"duration", "how long the run lasts, e.g. 30s or 30 (Runner.Duration, Molotov -d)", durSetter(func(r *Runner) *time.Duration { return &r.Duration }, minDuration), false},
	{"rate", "open model: scenario runs started per second, e.g. 500 or 500/s; 0: closed model (Runner.Rate)", rateSetter, false},
	{"max-workers", "open model: sessions available to take the starts (Runner.MaxWorkers)", intSetter(func(r *Runner) *int { return &r.MaxWorkers }, maxWorkers), false},
	{"max-lag", "open model: how late a start may begin before it is dropped (Runner.MaxLag)", durSetter(func(r *Runner) *time.Duration { return &r.MaxLag }, 0), false},
	{"stages", "load shape: DURATION:WORKERS,... (closed model) or DURATION:RATE/s,... (open model), e.g. 30s:10,1m:50,30s:0 (Runner.Stages)", stagesSetter, false},
	{"max-runs", "scenario runs per worker (Runner.MaxRuns, Molotov -r)", intSetter(func(r *Runner) *int { return &r.MaxRuns }, noMax), false},
	{"ramp-up", "spread worker starts over this time (Runner.RampUp)", durSetter(func(r *Runner) *time.Duration { return &r.RampUp }, minDuration), false},
	{"delay", "pause after every step (Runner.Delay)", durSetter(func(r *Runner) *time.Duration { return &r.Delay }, minDuration), false},
	{"exception", "stop at the first failure (Runner.ExitOnFailure, Molotov -x)", boolSetter(func(r *Runner) *bool { return &r.ExitOnFailure }), true},
	{"fail", "stop and fail after this many failures (Runner.MaxFailures, Molotov -f)", intSetter(func(r *Runner) *int { return &r.MaxFailures }, noMax), false},
	{"single-mode", "run only this scenario (Runner.SingleMode, Molotov -s)", strSetter(func(r *Runner) *string { return &r.SingleMode }), false},
	{"single-run", "each worker runs every scenario once (Runner.SingleRun)", boolSetter(func(r *Runner) *bool { return &r.SingleRun }), true},
	{"sizing", "add workers until failures pass the tolerance (Runner.Sizing)", boolSetter(func(r *Runner) *bool { return &r.Sizing }), true},
	{"sizing-tolerance", "sizing's failure tolerance in percent, 0 to 100 (Runner.SizingTolerance)", toleranceSetter(func(r *Runner) *float64 { return &r.SizingTolerance }), false},
	{"force-shutdown", "cancel runs in flight at a stop (Runner.ForceShutdown)", boolSetter(func(r *Runner) *bool { return &r.ForceShutdown }), true},
	{"request-timeout", "bound on a whole request (Runner.RequestTimeout)", durSetter(func(r *Runner) *time.Duration { return &r.RequestTimeout }, minDuration), false},
	{"quiet", "print nothing (Runner.Quiet, Molotov -q)", boolSetter(func(r *Runner) *bool { return &r.Quiet }), true},
	{"verbose", "0: none; 1: failures with errors and stacks; 2: also requests and responses (Runner.Verbose)", intSetter(func(r *Runner) *int { return &r.Verbose }, maxVerbose), false},
	{"console-update", "live console refresh interval, at least 1ms (Runner.ConsoleUpdate)", durSetter(func(r *Runner) *time.Duration { return &r.ConsoleUpdate }, minConsoleUpdate), false},
	{"base-url", "base URL of the target (Runner.BaseURL)", baseURLSetter, false},
	{"seed", "seed for reproducible scenario picking (Runner.Seed)", int64Setter(func(r *Runner) *int64 { return &r.Seed }), false},
	{"insecure", "skip TLS certificate verification, for self-signed targets (Runner.InsecureSkipVerify)", boolSetter(func(r *Runner) *bool { return &r.InsecureSkipVerify }), true},
	{"statsd", "send metrics to this statsd server, e.g. udp://127.0.0.1:8125 (Runner.Statsd, Molotov --statsd-address)", statsdSetter, false},
	{"list", "list the registered scenarios with their weights instead of running them (molotov run --list)", boolSetter(func(r *Runner) *bool { return &r.list }), true},
	{"prometheus", "serve the run's metrics at http://ADDR/metrics while it lasts, e.g. 127.0.0.1:9100 (needs the prom package imported)", strSetter(func(r *Runner) *string { return &r.prometheus }), false},
	{"json", "write the JSON result to this file at the end (Runner.ResultFile)", resultFileSetter, false},
	{"html", "write the HTML report to this file at the end (Result.WriteHTML)", htmlFileSetter, false},
	{"threshold-abort", "stop the run as soon as a threshold breaks (Runner.ThresholdAbort)", boolSetter(func(r *Runner) *bool { return &r.ThresholdAbort }), true},
	{"segment", "run share i (from 0) of n of a run split over n instances, like 0/4; auto: i from JOB_COMPLETION_INDEX, n from MOLOTOV_SEGMENTS (Runner.Segment)", segmentSetter, false},
	{"start-at", "start the run at this time, RFC 3339, like 2025-01-02T15:04:05Z; GlobalSetup runs before the wait (Runner.StartAt)", startAtSetter, false},
	{"threshold", "pass/fail rule added to Runner.Thresholds, e.g. 'p99<200ms'; repeat the flag for more (environment: separate them with ;)", thresholdSetter, false},
	{"max-buffered", "bytes of response bodies that the runs in flight may hold in all, e.g. 2GiB; 0: a quarter of the memory (Runner.MaxBufferedBytes)", bytesSetter(func(r *Runner) *int64 { return &r.MaxBufferedBytes }), false},
	{"redact", "more names whose values are hidden in dumps and errors, comma-separated, e.g. x-tenant,pin (Runner.Redact)", redactSetter, false},
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

// bytesSetter reads a size (see parse.Bytes).
func bytesSetter(field func(*Runner) *int64) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		n, err := parse.Bytes(v)
		if err != nil {
			return err
		}
		*field(r) = n
		return nil
	}
}

// redactSetter adds the comma-separated names to Runner.Redact.
func redactSetter(r *Runner, v string) error {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			r.Redact = append(r.Redact, name)
		}
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

// Accepted ranges, shared by the -molotov.* flags and Runner's validation
// (Run, Start), so that a value a flag accepts is one a run accepts.
const (
	maxWorkers         = 1_000_000 // each worker is a goroutine with its own HTTP client
	maxVerbose         = 2         // 1: failures; 2: also requests and responses
	maxSizingTolerance = 100.0     // percent of failures per success
	minConsoleUpdate   = time.Millisecond
	maxDuration        = parse.MaxDuration // 2562047h47m16.854775807s, about 292 years
	noMax              = math.MaxInt       // intSetter: no upper bound
)

// wholeRange says which whole numbers a flag accepts.
func wholeRange(max int) string {
	if max == noMax {
		return "use a whole number >= 0"
	}
	return fmt.Sprintf("use a whole number from 0 to %d", max)
}

// intSetter accepts a whole number from 0 to max (noMax: no bound).
func intSetter(field func(*Runner) *int, max int) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case errors.Is(err, strconv.ErrRange):
			return fmt.Errorf("%q is out of range; %s", v, wholeRange(max))
		case err != nil:
			return fmt.Errorf("%q is not a whole number; %s", v, wholeRange(max))
		case n < 0:
			return fmt.Errorf("%q is negative; %s", v, wholeRange(max))
		case n > max:
			return fmt.Errorf("%q is above %d; %s", v, max, wholeRange(max))
		}
		*field(r) = n
		return nil
	}
}

func int64Setter(field func(*Runner) *int64) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%q is out of range; use a whole number from %d to %d", v, math.MinInt64, math.MaxInt64)
		}
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(r) = n
		return nil
	}
}

// toleranceSetter accepts a percentage from 0 to 100, with or without
// its % sign; zero means DefaultSizingTolerance.
func toleranceSetter(field func(*Runner) *float64) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		x, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "%"), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(x) {
			return fmt.Errorf("%q is not a number; use a percentage from 0 to %g (0 means %g)", v, maxSizingTolerance, DefaultSizingTolerance)
		}
		if err != nil || x < 0 || x > maxSizingTolerance {
			return fmt.Errorf("%q is out of range; use a percentage from 0 to %g (0 means %g)", v, maxSizingTolerance, DefaultSizingTolerance)
		}
		*field(r) = x
		return nil
	}
}

// parseDurationFlag reads a duration flag (see parse.Duration): a Go
// duration or a number of seconds; every error quotes v.
func parseDurationFlag(v string) (time.Duration, error) { return parse.Duration(v) }

// durSetter accepts a duration (see parseDurationFlag) that is zero or at
// least min.
func durSetter(field func(*Runner) *time.Duration, min time.Duration) func(*Runner, string) error {
	return func(r *Runner, v string) error {
		d, err := parseDurationFlag(v)
		if err != nil {
			return err
		}
		if d != 0 && d < min {
			return fmt.Errorf("%q is below %v; use 0 for the default or at least %v", v, min, min)
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

// baseURLSetter accepts an empty value or an http(s) URL with a host, as
// Runner.BaseURL does.
func baseURLSetter(r *Runner, v string) error {
	if v != "" {
		if err := checkBaseURL(v); err != nil {
			return err
		}
	}
	r.BaseURL = v
	return nil
}

// resultFileSetter accepts an empty value or a path that may name a file,
// as Runner.ResultFile does.
func resultFileSetter(r *Runner, v string) error {
	if v != "" {
		if err := checkResultFile(v); err != nil {
			return err
		}
	}
	r.ResultFile = v
	return nil
}

// checkResultFile refuses a path that can never be written as a file: one
// with a NUL byte, or one that names a directory. A directory that does
// not exist yet is accepted: GlobalSetup may create it.
func checkResultFile(path string) error { return checkOutputPath(path, "result.json") }

// flagValue is a -molotov.* flag: it keeps its value raw until it is
// applied to a Runner, and checks it as its flag set parses it, except on
// flag.CommandLine (a go test binary's flags), where it checks it only
// when applied (lazy): a bad value then fails the test with its error
// alone, where the flag package would print it above the test binary's
// whole usage and exit.
type flagValue struct {
	spec *flagSpec
	val  string
	vals []string // every value of a repeatable flag
	set  bool
	lazy bool // checked by FlagSet.Apply only
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return f.val
}

func (f *flagValue) Set(v string) error {
	var scratch Runner
	if err := f.spec.set(&scratch, v); err != nil && !f.lazy {
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
		if wantsFlags(a) {
			RegisterFlags(nil)
			if msg := unknownFlagHelp(os.Args[1:]); msg != "" {
				// Instead of every -test.* flag after "flag provided but not
				// defined", say which -molotov.* flag was meant.
				flag.CommandLine.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), msg) }
			}
			return
		}
	}
}

// unknownFlagHelp returns what to say of the first -molotov.* argument
// that names no flag: the nearest flag, and where the list is; "" when
// every one is known.
func unknownFlagHelp(args []string) string {
	names := make([]string, len(flagSpecs))
	for i := range flagSpecs {
		names[i] = flagSpecs[i].name
	}
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "-")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(strings.TrimPrefix(name, "-"), "=")
		short, ok := strings.CutPrefix(name, "molotov.")
		if !ok || slices.Contains(names, short) {
			continue
		}
		msg := "molotov: -" + name + " is not a flag"
		if s, ok := suggest.Nearest(short, names); ok {
			msg += "; did you mean -molotov." + s + "?"
		}
		return msg + "\n(-h lists the -molotov.* flags; docs/flags.md documents them)\n"
	}
	return ""
}

// unknownEnv returns a warning for each MOLOTOV_* environment variable
// that no flag reads, with the nearest name: a typo there is otherwise
// silently ignored.
func unknownEnv(environ []string) []string {
	known := []string{"MOLOTOV_SEGMENTS"} // read by -molotov.segment=auto
	for i := range flagSpecs {
		known = append(known, flagSpecs[i].envName())
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "MOLOTOV_") || slices.Contains(known, k) {
			continue
		}
		msg := "molotov: environment variable " + k + " is not one of molotov's and is ignored"
		if s, ok := suggest.Nearest(k, known); ok {
			msg += "; did you mean " + s + "?"
		}
		out = append(out, msg)
	}
	return out
}

// wantsFlags reports a command-line argument that calls for the
// -molotov.* flags on flag.CommandLine: one of them (-molotov.workers=5,
// --molotov.quiet), or a request for help (-h, --help), so that the usage
// the flag package prints lists them.
func wantsFlags(arg string) bool {
	name, ok := strings.CutPrefix(arg, "-")
	if !ok {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	name, _, _ = strings.Cut(name, "=")
	return strings.HasPrefix(name, "molotov.") || name == "h" || name == "help"
}

// RegisterFlags registers the -molotov.* flags on fs (flag.CommandLine
// when nil) and returns them; Runner.Test reads the ones on
// flag.CommandLine. Registering on flag.CommandLine twice returns the
// first registration. Go test binaries do this by themselves when a
// -molotov.* flag, -h or -help is on the command line. The flags on
// flag.CommandLine check their values when FlagSet.Apply applies them;
// those on another flag set, as that set parses them.
func RegisterFlags(fs *flag.FlagSet) *FlagSet {
	if fs == nil || fs == flag.CommandLine {
		cmdFlagsMu.Lock()
		defer cmdFlagsMu.Unlock()
		if cmdFlags == nil {
			cmdFlags = registerOn(flag.CommandLine, true)
		}
		return cmdFlags
	}
	return registerOn(fs, false)
}

// registerOn registers the flags on fs; lazy ones check their values
// only when applied.
func registerOn(fs *flag.FlagSet, lazy bool) *FlagSet {
	set := &FlagSet{}
	for i := range flagSpecs {
		v := &flagValue{spec: &flagSpecs[i], lazy: lazy}
		fs.Var(v, "molotov."+v.spec.name, v.spec.usage+" [env "+v.spec.envName()+"]")
		set.values = append(set.values, v)
	}
	return set
}

// sourceError is an option's error with the flag or environment variable
// that gave the value: "molotov: flag -molotov.threshold: threshold …",
// once "molotov:" however the option's own error begins.
type sourceError struct {
	source string // "flag -molotov.threshold", "environment variable MOLOTOV_RATE"
	err    error
}

func (e *sourceError) Error() string {
	return "molotov: " + e.source + ": " + strings.TrimPrefix(e.err.Error(), "molotov: ")
}

func (e *sourceError) Unwrap() error { return e.err }

// Apply returns a copy of r with the MOLOTOV_* environment variables and
// then the flags that were set applied: flag beats environment beats
// field. An environment variable that does not parse is an error naming
// it. fs may be nil (environment only).
//
// Stages given by a flag or the environment replace a Duration written in
// the code: the stages set the run's length, unless a Duration is given
// beside them the same way.
func (fs *FlagSet) Apply(r Runner) (Runner, error) {
	given := map[string]bool{}
	for i := range flagSpecs {
		spec := &flagSpecs[i]
		if v, ok := os.LookupEnv(spec.envName()); ok && v != "" {
			if err := spec.set(&r, v); err != nil {
				return r, &sourceError{"environment variable " + spec.envName(), err}
			}
			given[spec.name] = true
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
					return r, &sourceError{"flag -molotov." + v.spec.name, err}
				}
			}
			given[v.spec.name] = true
		}
	}
	if given["stages"] && !given["duration"] {
		r.Duration = 0
	}
	if given["max-workers"] && !given["workers"] && (r.Rate > 0 || stagesOpen(r.Stages)) {
		r.Workers = 0 // the open model's pool is the one given, not a Workers in the code
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

// statsdSetter checks a statsd address.
func statsdSetter(r *Runner, v string) error {
	if v == "" {
		r.Statsd = ""
		return nil
	}
	if _, err := statsd.ParseAddress(v); err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	r.Statsd = v
	return nil
}

// rateSetter reads the open model's rate: "500" or "500/s".
func rateSetter(r *Runner, v string) error {
	x, err := parse.Rate(v, maxRate)
	if err != nil {
		return fmt.Errorf("%q is not a rate; use scenario runs per second from 0 to %g, like 500 or 500/s", v, float64(maxRate))
	}
	r.Rate = x
	return nil
}

// stagesSetter reads -molotov.stages.
func stagesSetter(r *Runner, v string) error {
	st, err := ParseStages(v)
	if err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	r.Stages = st
	return nil
}

// segmentSetter checks a segment: "i/n", "auto" (resolved from the
// environment, as the run will) or empty.
func segmentSetter(r *Runner, v string) error {
	if _, err := segment.Parse(v, os.Getenv); err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	r.Segment = strings.TrimSpace(v)
	return nil
}

// startAtSetter reads an RFC 3339 time no more than a second in the past,
// as a run accepts it; empty: start at once.
func startAtSetter(r *Runner, v string) error {
	s := strings.TrimSpace(v)
	if s == "" {
		r.StartAt = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time; write it like 2025-01-02T15:04:05Z or 2025-01-02T16:04:05+01:00", v)
	}
	if late := time.Since(t); late > maxStartLate {
		return fmt.Errorf("%q is %v in the past; give a start time in the future", v, late.Round(time.Millisecond))
	}
	r.StartAt = t
	return nil
}
