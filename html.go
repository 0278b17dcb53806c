package molotov

import (
	"bytes"
	"fmt"
	"io"

	"github.com/molotov-go/molotov/internal/report"
)

// WriteHTML writes the result as one self-contained HTML page: the
// verdict in words, the run second by second on one time axis (runs per
// second, latency, errors, workers, and the open model's starts), the
// latency distribution of each scenario, and the tables of the summary
// (docs/report.md). Everything it needs is inline: it opens offline, as a
// CI artifact. -molotov.html=FILE (MOLOTOV_HTML) writes it at the end of a
// run, and molotov report writes it from a JSON result.
func (r *Result) WriteHTML(w io.Writer) error {
	// The page is a view of the JSON result, which holds every figure it
	// shows: one format to read, for a run in progress and for a file.
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		return fmt.Errorf("molotov: writing the HTML report: %w", err)
	}
	run, err := report.Decode(buf.Bytes(), "")
	if err != nil {
		return fmt.Errorf("molotov: writing the HTML report: %w", err)
	}
	return report.Write(w, report.NewPage([]*report.Run{run}, nil))
}

// htmlFileSetter accepts an empty value or a path that may name a file,
// for -molotov.html.
func htmlFileSetter(r *Runner, v string) error {
	if v != "" {
		if err := checkOutputPath(v, "report.html"); err != nil {
			return err
		}
	}
	r.htmlFile = v
	return nil
}

// writeHTMLFile writes res as an HTML page to path, replacing the file.
func writeHTMLFile(path string, res *Result) error {
	if err := writeFileAtomic(path, res.WriteHTML); err != nil {
		return fmt.Errorf("molotov: writing the HTML report (-molotov.html) to %s: %w", path, err)
	}
	return nil
}
