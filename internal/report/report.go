// Package report writes the HTML report of a molotov-go run: one
// self-contained page that shows the verdict, the run over time, the
// latency distributions and the tables of a JSON result, or two results
// side by side with the comparison of molotov compare.
//
// The page needs no network: the chart library (uPlot, vendored under
// uplot/ by vendor.sh, checked against uplot/SHA256SUMS), its style and
// script, and the data are all inline. Text and tables are plain HTML;
// the script only draws the charts.
package report

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed page.html page.css page.js uplot/uPlot.iife.min.js uplot/uPlot.min.css uplot/LICENSE uplot/VERSION
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "page.html"))

// Write writes p as an HTML page to w.
func Write(w io.Writer, p *Page) error {
	data, err := json.Marshal(p) // escapes <, > and &: safe inside a script element
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	err = page.Execute(&buf, struct {
		*Page
		Data, Script, UPlotScript template.JS
		Style, UPlotStyle         template.CSS
		UPlotVersion              string
	}{
		Page:       p,
		Data:       template.JS(data),
		Style:      template.CSS(asset("page.css")),
		UPlotStyle: template.CSS(asset("uplot/uPlot.min.css")),
		Script:     template.JS(asset("page.js")),
		// The library's license travels with its code, as a comment.
		UPlotScript:  template.JS("/*! uPlot, " + asset("uplot/LICENSE") + "*/\n" + asset("uplot/uPlot.iife.min.js")),
		UPlotVersion: strings.TrimSpace(asset("uplot/VERSION")),
	})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = buf.WriteTo(w)
	return err
}

func asset(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return string(b)
}

// NewPage returns the page of one run, or of two compared (old first)
// with c, the comparison of molotov compare.
func NewPage(runs []*Run, c *Comparison) *Page {
	p := &Page{Runs: runs, Comparison: c, Title: "Load test report"}
	switch {
	case len(runs) == 2:
		p.Title = "Load test comparison: " + runs[0].Label + " → " + runs[1].Label
	case len(runs) == 1 && runs[0].Label != "":
		p.Title += ": " + runs[0].Label
	}
	return p
}
