package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/molotov-go/molotov"
	"github.com/molotov-go/molotov/internal/report"
)

const reportUsage = `usage: molotov report [-o report.html] [-tolerance 10%] result.json [new.json]

report writes one self-contained HTML page from a JSON result (written with
-molotov.json or Result.WriteJSON): the verdict, the run over time, the
latency distribution of each scenario, and the tables of the summary. The
page needs no network to open.

With two results, old then new, both runs share the charts' axes and the
page has the comparison of molotov compare, its regressions marked.

Exit status: 0 when the run (the new run, with two) passed and nothing
regressed; 1 when it failed a threshold or its failure budget, or
regressed; 2 for a usage error or a file that is not a JSON result, and
then no page is written.

Flags (before or after the files):
`

// reportCmd is molotov report.
func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("molotov report", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are printed below, with the usage
	out := fs.String("o", "report.html", "the page to write")
	tol := fs.String("tolerance", "10%", "with two results: a change worse than this is a regression, 10% or 0.1")
	files, code, ok := parseFiles(fs, args, reportUsage, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) < 1 || len(files) > 2 {
		fmt.Fprintf(stderr, "molotov report: need one result file, or two to compare (old, new); got %d\n", len(files))
		printUsage(stderr, fs, reportUsage)
		return 2
	}
	tolerance, err := parseTolerance(*tol)
	if err != nil {
		fmt.Fprintf(stderr, "molotov report: -tolerance %q: %v\n", *tol, err)
		return 2
	}

	var results []*molotov.Result
	var runs []*report.Run
	for _, path := range files {
		res, err := loadResult("molotov report", path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		// The page shows the result as this version writes it (as
		// Result.WriteHTML does): with the outcome it judges, whatever
		// version wrote the file.
		var data bytes.Buffer
		if err := res.WriteJSON(&data); err != nil {
			fmt.Fprintf(stderr, "molotov report: %s: %v\n", path, err)
			return 2
		}
		run, err := report.Decode(data.Bytes(), filepath.Base(path))
		if err != nil {
			fmt.Fprintf(stderr, "molotov report: %s: %v\n", path, err)
			return 2
		}
		results, runs = append(results, res), append(runs, run)
	}
	var cmp *report.Comparison
	regressed := false
	if len(results) == 2 {
		c := molotov.Compare(results[0], results[1], tolerance)
		rows := make([]report.CompareRow, len(c.Rows))
		for i, r := range c.Rows {
			rows[i] = report.CompareRow{Kind: r.Kind, Name: r.Name, Old: report.Figures(r.Old), New: report.Figures(r.New), Regressions: r.Regressions}
		}
		cmp, regressed = report.NewComparison(tolerance, rows), c.Regressed()
	}

	var page bytes.Buffer
	if err := report.Write(&page, report.NewPage(runs, cmp)); err != nil {
		fmt.Fprintln(stderr, "molotov report:", err)
		return 2
	}
	if err := os.WriteFile(*out, page.Bytes(), 0o644); err != nil {
		fmt.Fprintln(stderr, "molotov report:", err)
		return 2
	}
	last := results[len(results)-1]
	verdict := "passed"
	if !last.Passed() {
		verdict = "failed (" + string(last.Outcome()) + ")"
	}
	if len(results) == 2 {
		verdict = "the new run " + verdict
		if regressed {
			verdict += ", and regressed"
		}
	}
	fmt.Fprintf(stdout, "molotov report: wrote %s: %s\n", *out, verdict)
	if !last.Passed() || regressed {
		return 1
	}
	return 0
}

// parseFiles parses the flags of a command, given before, between or
// after its files, and returns the files. ok is false when the command
// ends there, with exit status code: 0 after -h, which prints the usage
// on stdout; 2 after a bad flag, named on stderr with the usage.
func parseFiles(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (files []string, code int, ok bool) {
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, usage)
		return nil, 0, false
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		printUsage(stderr, fs, usage)
		return nil, 2, false
	}
	return files, 0, true
}

// printUsage writes a command's usage text and its flags to w.
func printUsage(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// loadResult reads a JSON result file; errors name the command and the
// file.
func loadResult(cmd, path string) (*molotov.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	res, err := molotov.ReadResult(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", cmd, path, err)
	}
	return res, nil
}
