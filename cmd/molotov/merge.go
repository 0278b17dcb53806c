package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/molotov-go/molotov"
)

const mergeUsage = `usage: molotov merge [-partial] [-o total.json] result.json...

merge merges the JSON results of the shares of one run (each run with
-molotov.segment=i/n and -molotov.json) into the result of the whole run:
counts are summed and histograms added, so every percentile is exact, and
the run's thresholds and failure budget (MaxFailures) are judged again on
the whole. It prints the verdict, and exits 0 when the run passed, 1 when
it failed, and 2 on bad input: a file that is not a result, results of
different runs, a share given twice or missing. On bad input it writes
nothing.

  -o file    write the merged result to file, replacing it
  -partial   merge the shares given even when some are missing: the
             result says which shares it covers, and is judged on them
`

func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("molotov merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, mergeUsage) }
	out := fs.String("o", "", "write the merged result to this file")
	partial := fs.Bool("partial", false, "merge the shares given even when some are missing")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "molotov merge: no result files given\n%s", mergeUsage)
		return 2
	}
	m := molotov.Merger{Partial: *partial}
	for _, file := range files {
		// One file at a time: the Merger keeps the merged figures only.
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(stderr, "molotov merge:", err)
			return 2
		}
		res, err := molotov.ReadResult(bytes.NewReader(data))
		if err != nil {
			fmt.Fprintf(stderr, "molotov merge: %s: %v\n", file, err)
			return 2
		}
		if err := m.Add(file, res); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	merged, err := m.Result()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *out != "" {
		if err := writeResult(*out, merged); err != nil {
			fmt.Fprintln(stderr, "molotov merge:", err)
			return 2
		}
	}
	writeVerdict(stdout, len(files), merged)
	if *out != "" {
		fmt.Fprintln(stdout, "wrote", *out)
	}
	if !merged.Passed() {
		return 1
	}
	return 0
}

// writeResult writes res to path through a temporary file beside it, so
// that path is either left as it was or holds the whole result.
func writeResult(path string, res *molotov.Result) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	err = res.WriteJSON(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeVerdict prints what was merged and the verdict on it: PASS, or a
// FAIL line for each reason.
func writeVerdict(w io.Writer, files int, res *molotov.Result) {
	what, plural := "the whole run", "s"
	if res.Partial {
		what = "shares " + res.Segment + " of the run only (partial)"
	}
	if files == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "merged %d result%s: %s, %d runs (%d failed) in %v\n",
		files, plural, what, res.OK+res.Failed, res.Failed, res.Elapsed.Round(time.Millisecond))
	switch res.Outcome() {
	case molotov.OutcomePassed:
		fmt.Fprintln(w, "PASS")
		return
	case molotov.OutcomeInterrupted:
		fmt.Fprintln(w, "FAIL: interrupted: a share's run was cancelled before it ended; its figures are partial")
	case molotov.OutcomeSetupFailed:
		fmt.Fprintf(w, "FAIL: %d workers failed their Setup or SetupSession\n", res.SetupFailed)
	case molotov.OutcomeFailures:
		fmt.Fprintf(w, "FAIL: %d of %d scenario runs failed, more than MaxFailures allows\n", res.Failed-res.Interrupted, res.OK+res.Failed)
	}
	broken := false
	for _, tr := range res.Thresholds {
		if !tr.Pass {
			fmt.Fprintln(w, "FAIL: threshold broken:", tr)
			broken = true
		}
	}
	if !broken && res.StopReason == molotov.StopThreshold {
		fmt.Fprintln(w, "FAIL: a share stopped at a broken threshold (Runner.ThresholdAbort)")
	}
}
