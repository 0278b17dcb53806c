package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/molotov-go/molotov"
	"github.com/molotov-go/molotov/internal/suggest"
)

// commandFunc builds the command that molotov run starts: exec.Command,
// except in tests.
type commandFunc func(name string, arg ...string) *exec.Cmd

// defaultPackage is the package molotov run loads when none is named: the
// one molotov init writes.
const defaultPackage = "./loadtest"

const runUsage = `usage: molotov run [flags] [package] [-- -molotov.flags]

run runs a load test package (default ./loadtest) with Molotov's options:
it translates them into -molotov.* flags of
	go test -run Load -v -count=1 -timeout 0 PACKAGE -args -molotov.workers=N ...
shows the test's live output, prints Molotov's last line
	SUCCESSES: n | FAILURES: n | WORKERS: n
and exits with go test's exit status (0 when the load test passed).

Molotov's options:
  -w, --workers N            workers (-molotov.workers)
  -d, --duration D           how long the run lasts: seconds (60) or a Go duration (1m) (-molotov.duration)
  -r, --max-runs N           scenario runs per worker (-molotov.max-runs)
  -x, --exception            stop at the first failure (-molotov.exception)
  -f, --fail N               stop and fail after N failures (-molotov.fail)
  -s, --single-mode NAME     run only this scenario (-molotov.single-mode)
  -q, --quiet                print nothing (-molotov.quiet)
  -v, --verbose              failures with their errors; -vv or -v -v: also requests and responses (-molotov.verbose)
      --ramp-up D            spread worker starts over D (-molotov.ramp-up)
      --delay D              pause after every scenario run (-molotov.delay)
      --sizing               add workers until failures pass the tolerance (-molotov.sizing)
      --sizing-tolerance P   sizing's failure tolerance in percent (-molotov.sizing-tolerance)
      --single-run           each worker runs every scenario once (-molotov.single-run)
      --force-shutdown       cancel the runs in flight at the end (-molotov.force-shutdown)
      --console-update D     live line interval (-molotov.console-update)
  -c, --console              accepted, no effect: the console is always plain lines
      --statsd, --statsd-address URL   send metrics to statsd (-molotov.statsd)
      --list                 list the scenarios and their weights; run nothing
      --profile NAME         take options from profile NAME of molotov.json
      --config FILE          read the profiles from FILE instead of molotov.json:
                             {"profiles": {"smoke": {"workers": 2, "duration": "10s",
                               "package": "./loadtest", "molotov.threshold": ["p99<200ms"]}}}
Not supported: -p/--processes (workers are goroutines: raise -w), --use-extension.

Other flags:
  -timeout D                 go test's -timeout (default 0: none; the run bounds itself)
  -molotov.NAME=VALUE        any -molotov.* flag of the library (base-url, json,
                             threshold, seed...), before or after --; see
                             go doc github.com/molotov-go/molotov
`

// molotovOptions maps Molotov's option names to the library's flags.
var molotovOptions = []struct {
	names []string
	flag  string
}{
	{[]string{"w", "workers"}, "molotov.workers"},
	{[]string{"d", "duration"}, "molotov.duration"},
	{[]string{"r", "max-runs"}, "molotov.max-runs"},
	{[]string{"x", "exception"}, "molotov.exception"},
	{[]string{"f", "fail"}, "molotov.fail"},
	{[]string{"s", "single-mode"}, "molotov.single-mode"},
	{[]string{"q", "quiet"}, "molotov.quiet"},
	{[]string{"ramp-up"}, "molotov.ramp-up"},
	{[]string{"delay"}, "molotov.delay"},
	{[]string{"sizing"}, "molotov.sizing"},
	{[]string{"sizing-tolerance"}, "molotov.sizing-tolerance"},
	{[]string{"single-run"}, "molotov.single-run"},
	{[]string{"force-shutdown"}, "molotov.force-shutdown"},
	{[]string{"console-update"}, "molotov.console-update"},
}

// unsupportedOptions are Molotov options that molotov run refuses, with
// why; isBool tells those that take no value.
var unsupportedOptions = []struct {
	names  []string
	isBool bool
	why    string
}{
	{[]string{"p", "processes"}, false, "-p/--processes is not supported: workers are goroutines and one process runs thousands of them; raise -w instead"},
	{[]string{"use-extension"}, false, "--use-extension is not supported: import the package that registers the event handlers from the load test package"},
}

// runOptions is a parsed molotov run command line.
type runOptions struct {
	pkgs       []string
	flags      []string // -molotov.* flags for the test binary, in order
	timeout    string   // go test's -timeout
	quiet      bool
	verbose    int
	verboseSet bool // -v given
	singleMode string
	singleRun  bool
	refused    []string // why unsupported options were refused
	list       bool     // --list: list the scenarios, run nothing
}

// forward is a flag of molotov run that passes its value on to a
// -molotov.* flag, checked by the library's own parser.
type forward struct {
	name  string        // "molotov.workers"
	check *flag.FlagSet // the library's flags, for checking values
	o     *runOptions
}

func (f *forward) String() string { return "" }

func (f *forward) Set(v string) error {
	if err := f.check.Set(f.name, v); err != nil {
		return err
	}
	f.o.flags = append(f.o.flags, "-"+f.name+"="+v)
	switch f.name {
	case "molotov.quiet":
		f.o.quiet, _ = strconv.ParseBool(v)
	case "molotov.verbose":
		f.o.verbose, _ = strconv.Atoi(strings.TrimSpace(v))
	case "molotov.single-mode":
		f.o.singleMode = v
	case "molotov.single-run":
		f.o.singleRun, _ = strconv.ParseBool(v)
	}
	return nil
}

func (f *forward) IsBoolFlag() bool {
	b, ok := f.check.Lookup(f.name).Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// verboseCount is -v (adding 1) and -vv (adding 2), which Molotov counts.
type verboseCount struct {
	o    *runOptions
	step int
}

func (v *verboseCount) String() string { return "" }

func (v *verboseCount) Set(s string) error {
	v.o.verboseSet = true
	if b, err := strconv.ParseBool(s); err == nil {
		if b {
			v.o.verbose += v.step
		} else {
			v.o.verbose = 0
		}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("use -v, -vv, or -v=N with N from 0 to 2")
	}
	v.o.verbose = n
	return nil
}

func (v *verboseCount) IsBoolFlag() bool { return true }

// refusal is an option that molotov run does not support.
type refusal struct {
	why    string
	isBool bool
	o      *runOptions
}

func (r *refusal) String() string   { return "" }
func (r *refusal) IsBoolFlag() bool { return r.isBool }
func (r *refusal) Set(string) error {
	r.o.refused = append(r.o.refused, r.why)
	return nil
}

// runFlags are molotov run's options: head before "--", tail after it,
// check the library's -molotov.* flags that values are checked against.
type runFlags struct {
	check, head, tail *flag.FlagSet
	statsdOn          bool
	statsdAddr        string
}

// newRunFlags defines molotov run's options, which set o.
func newRunFlags(o *runOptions, stderr io.Writer) *runFlags {
	rf := &runFlags{}
	check := flag.NewFlagSet("check", flag.ContinueOnError)
	check.SetOutput(io.Discard)
	molotov.RegisterFlags(check)

	usage := func() { fmt.Fprint(stderr, runUsage) }
	head := flag.NewFlagSet("molotov run", flag.ContinueOnError)
	head.SetOutput(stderr)
	head.Usage = usage
	tail := flag.NewFlagSet("molotov run (after --)", flag.ContinueOnError)
	tail.SetOutput(stderr)
	tail.Usage = func() {
		fmt.Fprintln(stderr, "after --, give -molotov.* flags only (go doc github.com/molotov-go/molotov)")
	}

	check.VisitAll(func(f *flag.Flag) {
		head.Var(&forward{name: f.Name, check: check, o: o}, f.Name, f.Usage)
		tail.Var(&forward{name: f.Name, check: check, o: o}, f.Name, f.Usage)
	})
	for _, opt := range molotovOptions {
		if check.Lookup(opt.flag) == nil {
			continue // not in this version of the library
		}
		for _, n := range opt.names {
			head.Var(&forward{name: opt.flag, check: check, o: o}, n, "-"+opt.flag)
		}
	}
	head.Var(&verboseCount{o: o, step: 1}, "v", "verbose")
	head.Var(&verboseCount{o: o, step: 1}, "verbose", "verbose")
	head.Var(&verboseCount{o: o, step: 2}, "vv", "very verbose")
	for _, u := range unsupportedOptions {
		for _, n := range u.names {
			head.Var(&refusal{why: u.why, isBool: u.isBool, o: o}, n, u.why)
		}
	}
	// Molotov's --statsd turns statsd on, at --statsd-address.
	head.BoolVar(&rf.statsdOn, "statsd", false, "send metrics to statsd (-molotov.statsd)")
	head.StringVar(&rf.statsdAddr, "statsd-address", "", "statsd address, default udp://localhost:8125")
	head.BoolVar(&o.list, "list", false, "list the scenarios with their weights; run nothing")
	var console bool
	head.BoolVar(&console, "c", false, "no effect")
	head.BoolVar(&console, "console", false, "no effect")
	head.Func("timeout", "go test's -timeout", func(v string) error {
		if _, err := time.ParseDuration(v); err != nil {
			return fmt.Errorf("%q is not a Go duration such as 30m", v)
		}
		o.timeout = v
		return nil
	})
	rf.check, rf.head, rf.tail = check, head, tail
	return rf
}

// runOptionNames lists molotov run's option names, for checking the keys
// of a profile.
func runOptionNames() []string {
	var names []string
	newRunFlags(&runOptions{}, io.Discard).head.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// parseRun reads a molotov run command line. On an error it has said why
// on stderr and returns nil with the exit status.
func parseRun(args []string, stderr io.Writer) (*runOptions, int) {
	o := &runOptions{timeout: "0"}
	rf := newRunFlags(o, stderr)
	check, head, tail := rf.check, rf.head, rf.tail
	statsdOn, statsdAddr := &rf.statsdOn, &rf.statsdAddr

	// Flags may come before and after the package, as in Molotov; after
	// "--" only -molotov.* flags.
	headArgs, tailArgs := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			headArgs, tailArgs = args[:i], args[i+1:]
			break
		}
	}
	for rest := headArgs; ; {
		if err := head.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0
			}
			return nil, 2
		}
		if head.NArg() == 0 {
			break
		}
		o.pkgs = append(o.pkgs, head.Arg(0))
		rest = head.Args()[1:]
	}
	if len(o.refused) > 0 {
		fmt.Fprintln(stderr, "molotov run:", o.refused[0])
		return nil, 2
	}
	switch {
	case *statsdOn:
		addr := *statsdAddr
		if addr == "" {
			addr = "udp://localhost:8125"
		}
		if err := check.Set("molotov.statsd", addr); err != nil {
			fmt.Fprintf(stderr, "molotov run: --statsd-address %v\n", err)
			return nil, 2
		}
		o.flags = append(o.flags, "-molotov.statsd="+addr)
	case *statsdAddr != "":
		fmt.Fprintln(stderr, "molotov run: --statsd-address needs --statsd, as in Molotov")
		return nil, 2
	}
	if len(o.pkgs) > 1 {
		fmt.Fprintf(stderr, "molotov run: one package at most; got %s\n", strings.Join(o.pkgs, " "))
		return nil, 2
	}
	if o.verboseSet {
		o.verbose = min(o.verbose, 2) // Molotov's -vvv is -vv
		o.flags = append(o.flags, "-molotov.verbose="+strconv.Itoa(o.verbose))
	}
	if err := tail.Parse(tailArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
	}
	if tail.NArg() > 0 {
		fmt.Fprintf(stderr, "molotov run: after --, give -molotov.* flags only; %q is not one\n", tail.Arg(0))
		return nil, 2
	}
	if o.quiet && o.verbose > 0 {
		fmt.Fprintln(stderr, "molotov run: can't use -q and -v at the same time")
		return nil, 2
	}
	if o.singleMode != "" && o.singleRun {
		fmt.Fprintln(stderr, "molotov run: can't use -s (--single-mode) and --single-run at the same time")
		return nil, 2
	}
	return o, 0
}

// goArgs returns the arguments of go for pkg.
func (o *runOptions) goArgs(pkg string) []string {
	a := []string{"test", "-run", "Load"}
	if !o.quiet {
		a = append(a, "-v")
	}
	a = append(a, "-count=1", "-timeout", o.timeout, pkg)
	if len(o.flags) > 0 {
		a = append(append(a, "-args"), o.flags...)
	}
	return a
}

// runLoad is molotov run: it returns go test's exit status, 2 for a usage
// error and 1 when go test could not start.
func runLoad(args []string, stdout, stderr io.Writer, command commandFunc) int {
	args, err := withProfile(args)
	if err != nil {
		fmt.Fprintln(stderr, "molotov run:", err)
		return 2
	}
	o, code := parseRun(args, stderr)
	if o == nil {
		return code
	}
	pkg := defaultPackage
	if len(o.pkgs) == 1 {
		pkg = localPackage(o.pkgs[0])
	} else if fi, err := os.Stat(defaultPackage); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "molotov run: no %s directory here: write one with `molotov init`, or name the package to run\n", defaultPackage)
		return 1
	}
	if o.list {
		return listLoad(o, pkg, stdout, stderr, command)
	}
	goArgs := o.goArgs(pkg)
	if !o.quiet {
		fmt.Fprintf(stderr, "molotov run: go %s\n", shellJoin(goArgs))
	}

	cmd := command("go", goArgs...)
	out := &summaryWriter{w: stdout}
	cmd.Stdout = out // go test sends the test's stdout and stderr there
	cmd.Stderr = stderr

	// Ctrl-C reaches go test and the test binary too, as they share the
	// terminal's process group: the test stops the run, prints its
	// summary and fails. Wait for that, to print the last line.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	err = cmd.Run()
	signal.Stop(sig)
	out.flush()

	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		if code = exitErr.ExitCode(); code <= 0 {
			code = 1 // killed by a signal
		}
	case err != nil:
		fmt.Fprintln(stderr, "molotov run:", err)
		return 1
	}
	switch {
	case out.summaries > 0:
		fmt.Fprintf(stdout, "SUCCESSES: %d | FAILURES: %d | WORKERS: %d\n", out.ok, out.failed, out.workers)
	case code == 0 && !o.quiet:
		fmt.Fprintf(stderr, "molotov run: no load test summary in the output of %s: does a test matching Load call Runner.Test?\n", pkg)
	}
	return code
}

// localPackage returns a package argument as go test needs it: a
// directory named without ./ ("loadtest") gets it.
func localPackage(p string) string {
	if p == "" || strings.HasPrefix(p, ".") || filepath.IsAbs(p) || strings.Contains(p, "...") {
		return p
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return "./" + filepath.ToSlash(p)
	}
	return p
}

// shellJoin returns args as a shell would need them, for display.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// summaryRE matches the first line of the summary that Runner.Test logs
// (and Runner.Run prints), not the live lines, which have no "(max)".
var summaryRE = regexp.MustCompile(`SUCCESSES: (\d+) \| FAILURES: (\d+) \| (?:SETUP FAILED: \d+ \| )?WORKERS: (\d+) \(max\)`)

// maxLine bounds the part of a line that summaryWriter keeps.
const maxLine = 64 << 10

// summaryWriter passes the output of go test through and reads the
// summaries in it: their successes and failures add up, and workers is
// the largest number of workers.
type summaryWriter struct {
	w         io.Writer
	line      []byte
	long      bool // the current line passed maxLine: skip it
	summaries int
	ok        int64
	failed    int64
	workers   int
}

// Write never fails: a closed stdout must not stop the load test.
func (s *summaryWriter) Write(p []byte) (int, error) {
	n := len(p)
	s.w.Write(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.add(p)
			break
		}
		s.add(p[:i])
		s.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (s *summaryWriter) add(p []byte) {
	if s.long || len(s.line)+len(p) > maxLine {
		s.long, s.line = true, s.line[:0]
		return
	}
	s.line = append(s.line, p...)
}

func (s *summaryWriter) endLine() {
	if m := summaryRE.FindSubmatch(s.line); m != nil && !s.long {
		ok, err1 := strconv.ParseInt(string(m[1]), 10, 64)
		failed, err2 := strconv.ParseInt(string(m[2]), 10, 64)
		workers, err3 := strconv.Atoi(string(m[3]))
		if err1 == nil && err2 == nil && err3 == nil {
			s.summaries++
			s.ok += ok
			s.failed += failed
			s.workers = max(s.workers, workers)
		}
	}
	s.line, s.long = s.line[:0], false
}

// flush reads a last line without a newline.
func (s *summaryWriter) flush() {
	if len(s.line) > 0 {
		s.endLine()
	}
}

// scenarioLine is how the library lists a scenario under -molotov.list.
var scenarioLine = regexp.MustCompile(`^molotov-scenario ("(?:[^"\\]|\\.)*") (\d+)$`)

// listLoad is molotov run --list: it runs the package's load test with
// -molotov.list and prints its scenarios and weights.
func listLoad(o *runOptions, pkg string, stdout, stderr io.Writer, command commandFunc) int {
	o.flags = append(o.flags, "-molotov.list")
	o.quiet = false // the list comes through go test -v
	var out bytes.Buffer
	cmd := command("go", o.goArgs(pkg)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	n := 0
	for _, line := range strings.Split(out.String(), "\n") {
		m := scenarioLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		name, uerr := strconv.Unquote(m[1])
		if uerr != nil {
			continue
		}
		if n == 0 {
			fmt.Fprintln(tw, "SCENARIO\tWEIGHT")
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, m[2])
		n++
	}
	tw.Flush()
	if err != nil || n == 0 {
		stderr.Write(out.Bytes())
		if n == 0 {
			fmt.Fprintf(stderr, "molotov run --list: no scenario listed by %s: does a test matching Load call Runner.Test?\n", pkg)
		}
		return 1
	}
	return 0
}

// defaultConfig is the config file molotov run reads for --profile.
const defaultConfig = "molotov.json"

// config is a molotov.json: named profiles of molotov run options.
//
//	{
//	  "profiles": {
//	    "smoke": {"workers": 2, "duration": "10s", "package": "./loadtest"},
//	    "soak":  {"workers": 200, "duration": "10m", "ramp-up": "1m",
//	              "molotov.threshold": ["p99 < 500ms", "failure_rate < 1%"]}
//	  }
//	}
//
// A profile's keys are molotov run's long options (workers, duration,
// max-runs, exception, fail, single-mode, ramp-up, delay, sizing,
// sizing-tolerance, single-run, force-shutdown, console-update, statsd,
// statsd-address, quiet, timeout) or -molotov.* flags by their full name;
// a list repeats the option; "package" names the package.
type config struct {
	Profiles map[string]map[string]any `json:"profiles"`
}

// withProfile replaces --profile NAME (and --config FILE) in args with the
// profile's options, placed first so that options on the command line win.
func withProfile(args []string) ([]string, error) {
	var profile, file string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		for _, name := range []string{"profile", "config"} {
			for _, dash := range []string{"-", "--"} {
				flagName := dash + name
				var v string
				switch {
				case a == flagName && i+1 < len(args):
					v = args[i+1]
					i++
				case strings.HasPrefix(a, flagName+"="):
					v = a[len(flagName)+1:]
				default:
					continue
				}
				if name == "profile" {
					profile = v
				} else {
					file = v
				}
				a = ""
			}
		}
		if a != "" {
			rest = append(rest, a)
		}
	}
	if profile == "" {
		if file != "" {
			return nil, fmt.Errorf("--config %s needs --profile NAME: a config file holds named profiles", file)
		}
		return args, nil
	}
	if file == "" {
		file = defaultConfig
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--profile %s: %w (write the profiles in %s, see molotov run -h)", profile, err, file)
	}
	var c config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %v; the file holds {\"profiles\": {\"NAME\": {\"workers\": 10, ...}}}", file, err)
	}
	p, ok := c.Profiles[profile]
	if !ok {
		names := make([]string, 0, len(c.Profiles))
		for n := range c.Profiles {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%s has no profile %q; it has: %s", file, profile, strings.Join(names, ", "))
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	known := runOptionNames()
	var opts []string
	var pkg string
	for _, k := range keys {
		if k != "package" && !slices.Contains(known, k) {
			msg := fmt.Sprintf("%s: profile %q: %q is not an option of molotov run", file, profile, k)
			if s, ok := suggest.Nearest(k, known); ok {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, errors.New(msg + " (molotov run -h lists them)")
		}
		if k == "package" {
			s, ok := p[k].(string)
			if !ok {
				return nil, fmt.Errorf("%s: profile %q: \"package\" must be a string", file, profile)
			}
			pkg = s
			continue
		}
		vals, ok := p[k].([]any)
		if !ok {
			vals = []any{p[k]}
		}
		for _, v := range vals {
			switch v := v.(type) {
			case bool:
				opts = append(opts, fmt.Sprintf("--%s=%t", k, v))
			case float64:
				opts = append(opts, "--"+k+"="+strconv.FormatFloat(v, 'f', -1, 64))
			case string:
				opts = append(opts, "--"+k+"="+v)
			default:
				return nil, fmt.Errorf("%s: profile %q: %q must be a string, a number, a boolean or a list of them", file, profile, k)
			}
		}
	}
	if pkg != "" {
		opts = append(opts, pkg)
	}
	return append(opts, rest...), nil
}
