// Command molotov works with molotov-go load tests from the command line.
//
//	molotov init [moduleDir]
//	molotov run [flags] [package] [-- -molotov.flags]
//	molotov compare [-tolerance 10%] old.json new.json
//	molotov report [-o report.html] [-tolerance 10%] result.json [new.json]
//	molotov merge [-partial] [-o total.json] result.json...
//
// init writes a load test package, loadtest/, into a Go module (the
// module of the current directory, or moduleDir): two weighted scenarios
// and a Setup fixture, a TestLoad that runs them with molotov.Runner.Test,
// a demo server that TestLoad loads until it is given a target, so that
// the new test passes at once, and a README.md that says how to point it
// at a service. It never overwrites a file, and needs a go.mod (run go mod
// init first). It exits 1 when it cannot write the package.
//
// run is Molotov's command line over go test: it translates Molotov's
// options (-w workers, -d duration in seconds or as a Go duration, -r
// max runs, -x, -f, -s, -q, -v/-vv, --ramp-up, --delay, --sizing,
// --sizing-tolerance, --single-run, --force-shutdown, --console-update,
// --statsd with --statsd-address) and any -molotov.* flag, given before
// or after "--", into the library's -molotov.* flags of
//
//	go test -run Load -v -count=1 -timeout 0 PACKAGE -args -molotov.workers=N ...
//
// for PACKAGE (default ./loadtest), shows the test's live output, prints
// Molotov's last line, "SUCCESSES: n | FAILURES: n | WORKERS: n", read
// from the summary that Runner.Test logs, and exits with go test's exit
// status; a bad option exits 2 with a message naming it. --profile NAME
// takes options from a named profile of molotov.json, or of the file that
// --config names (Molotov's --config); --list lists the scenarios and
// their weights instead of running them. -p and --use-extension are
// refused, and -c is accepted without effect.
//
// compare reads two JSON results (written with -molotov.json or
// Result.WriteJSON) and prints, per scenario and per request, the change
// in rate, p50, p99 and failure rate (a request fails without a complete
// response or with a status of 400 or more), and, when both runs ran the
// open model, the change in the run's start lag p99, after a warning
// when the runs had different options. Figures that got worse by more than
// the tolerance are marked with "!", and the exit status is 1; it is 0
// when nothing regressed, and 2 for a usage error or an unreadable file.
//
// report writes one self-contained HTML page from a JSON result, or from
// two with the comparison of compare; it exits 0 when the (new) run
// passed and nothing regressed, 1 when not, and 2 for bad input, writing
// no page then.
// merge merges the JSON results of the shares of one run
// (-molotov.segment=i/n) into the result of the whole run, exactly (see
// molotov.Merge), judges the run's thresholds and failure budget on the
// whole, prints the verdict and writes the merged result to the -o file.
// It exits 0 when the run passed, 1 when it failed, and 2 on bad input
// (a file that is not a result, results of different runs, a share given
// twice or missing; -partial merges what is there), writing nothing.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/molotov-go/molotov"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  molotov init [moduleDir]                            write a load test package, loadtest/, into a Go module
  molotov run [flags] [package] [-- -molotov.flags]   run a load test with Molotov's options (go test -run Load)
  molotov compare [-tolerance 10%] old.json new.json  compare two JSON results
  molotov report [-o FILE] result.json [new.json]     an HTML report of a result, or of two compared
  molotov merge [-partial] [-o total.json] a.json...  merge the results of a run's shares

"molotov COMMAND -h" describes a command.
`

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, stdout, stderr, exec.Command)
}

// runWith is run with the function that builds the go test command of
// molotov run, which tests replace.
func runWith(args []string, stdout, stderr io.Writer, command commandFunc) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "init":
		return initCmd(args[1:], stdout, stderr)
	case "run":
		return runLoad(args[1:], stdout, stderr, command)
	case "compare":
		return compare(args[1:], stdout, stderr)
	case "report":
		return reportCmd(args[1:], stdout, stderr)
	case "merge":
		return mergeCmd(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "molotov: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

const compareUsage = `usage: molotov compare [-tolerance 10%] old.json new.json

compare reads two JSON results (written with -molotov.json or
Result.WriteJSON) and prints, per scenario and per request, the change in
rate, p50, p99 and failure rate. Figures that got worse by more than the
tolerance are marked "!". A warning comes first when the runs had different
options (workers, rate, duration...): their figures may differ for that
alone. The failures of the run and of scenarios are failed runs; those of
requests are requests with no complete response or a status of 400 or more.
When both runs ran the open model (-molotov.rate), a last column compares
the run's start lag p99, how late its starts began against their intended
times; it regresses when it rises beyond the tolerance and by more than 1ms.

Exit status: 0 when nothing regressed, 1 when a figure did, 2 for a usage
error or a file that is not a JSON result.

Flags (before or after the files):
`

func compare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("molotov compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are printed below, with the usage
	tol := fs.String("tolerance", "10%", "a change worse than this is a regression: 10% or 0.1")
	files, code, ok := parseFiles(fs, args, compareUsage, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) != 2 {
		fmt.Fprintf(stderr, "molotov compare: need two result files, old and new; got %d\n", len(files))
		printUsage(stderr, fs, compareUsage)
		return 2
	}
	tolerance, err := parseTolerance(*tol)
	if err != nil {
		fmt.Fprintf(stderr, "molotov compare: -tolerance %q: %v\n", *tol, err)
		return 2
	}
	old, err := readResult(files[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cur, err := readResult(files[1])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	c := molotov.Compare(old, cur, tolerance)
	if err := c.WriteText(stdout); err != nil {
		fmt.Fprintln(stderr, "molotov compare:", err)
		return 2
	}
	if c.Regressed() {
		return 1
	}
	return 0
}

// parseTolerance reads "10%" or "0.1".
func parseTolerance(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	x, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil {
		return 0, errors.New("not a number; write it like 10% or 0.1")
	}
	if pct {
		x /= 100
	}
	if x < 0 || x > 10 {
		return 0, errors.New("out of range; use 0% to 1000%")
	}
	return x, nil
}

func readResult(path string) (*molotov.Result, error) {
	return loadResult("molotov compare", path)
}
