package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// results are fixed JSON results of real runs, shared with the report's
// own tests.
var results = filepath.Join("..", "..", "internal", "report", "testdata")

func TestReportExitStatus(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.json")
	whole, err := os.ReadFile(filepath.Join(results, "closed.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(truncated, whole[:len(whole)/3], 0o644))

	closed, thresholds := filepath.Join(results, "closed.json"), filepath.Join(results, "thresholds.json")
	tests := []struct {
		name   string
		args   []string // after "report -o FILE"
		code   int
		stdout string // "" with code 2: no page is written
		stderr string
	}{
		{"passed", []string{closed}, 0, "passed", ""},
		{"thresholds broke", []string{thresholds}, 1, "failed (thresholds)", ""},
		{"no scenario ran", []string{filepath.Join(results, "no-runs.json")}, 1, "failed (setup-failed)", ""},
		{"flags after the file", []string{closed, "-tolerance", "5%"}, 0, "passed", ""},
		{"two equal runs", []string{closed, closed}, 0, "the new run passed", ""},
		{"a regression", []string{"testdata/old.json", "testdata/new.json"}, 1, "regressed", ""},
		{"no file", nil, 2, "", "need one result file, or two"},
		{"three files", []string{closed, closed, closed}, 2, "", "got 3"},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, 2, "", "nope.json: no such file"},
		{"truncated", []string{truncated}, 2, "", "truncated.json: molotov: not a readable molotov-go result: unexpected EOF"},
		{"foreign JSON", []string{"testdata/molotov.json"}, 2, "", `molotov.json: molotov: not a readable molotov-go result: schema ""`},
		{"bad second file", []string{closed, "main.go"}, 2, "", "main.go: molotov: not a readable molotov-go result"},
		{"bad tolerance", []string{"-tolerance", "ten", closed, closed}, 2, "", `-tolerance "ten"`},
		{"unknown flag", []string{"-x", closed}, 2, "", "flag provided but not defined: -x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := filepath.Join(t.TempDir(), "report.html")
			var out, errOut bytes.Buffer
			code := run(append([]string{"report", "-o", page}, tt.args...), &out, &errOut)
			assert.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			assert.Contains(t, errOut.String(), tt.stderr)
			_, err := os.Stat(page)
			if tt.code == 2 {
				assert.True(t, os.IsNotExist(err), "bad input writes no page")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "molotov report: wrote "+page+": ", out.String()[:len("molotov report: wrote "+page+": ")])
			assert.Contains(t, out.String(), tt.stdout)
		})
	}
}

// The page of a result with no scenario run says so.
func TestReportNoRuns(t *testing.T) {
	page := filepath.Join(t.TempDir(), "report.html")
	run([]string{"report", "-o", page, filepath.Join(results, "no-runs.json")}, &bytes.Buffer{}, &bytes.Buffer{})
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(b), "No scenario run started: there is nothing to plot.")
	assert.Contains(t, string(b), "Failed: 2 workers failed their setup")
}

func TestReportHelp(t *testing.T) {
	for _, h := range []string{"-h", "-help", "--help"} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 0, run([]string{"report", h}, &out, &errOut))
		assert.True(t, strings.HasPrefix(out.String(), "usage: molotov report [-o report.html]"), out.String())
		assert.Contains(t, out.String(), "-tolerance")
		assert.Empty(t, errOut.String())
	}
}

// The comparison page embeds molotov compare's table, with the figures
// compare marks "!" marked as regressed, and both runs; against a golden
// file (go test ./cmd/molotov -update rewrites it).
func TestReportComparisonGolden(t *testing.T) {
	page := filepath.Join(t.TempDir(), "diff.html")
	var out, errOut bytes.Buffer
	code := run([]string{"report", "-o", page, "testdata/old.json", "testdata/new.json"}, &out, &errOut)
	require.Equal(t, 1, code, "stderr: %s", errOut.String())
	b, err := os.ReadFile(page)
	require.NoError(t, err)

	m := regexp.MustCompile(`(?s)<script type="application/json" id="molotov-data">(.*?)</script>`).FindSubmatch(b)
	require.NotNil(t, m)
	var data struct {
		Runs       []json.RawMessage
		Comparison struct {
			Regressed bool
			Rows      []struct {
				Name  string
				Only  string
				Cells []struct{ Regressed bool }
			}
		}
	}
	require.NoError(t, json.Unmarshal(m[1], &data))
	assert.Len(t, data.Runs, 2)
	assert.True(t, data.Comparison.Regressed)

	var text bytes.Buffer
	run([]string{"compare", "testdata/old.json", "testdata/new.json"}, &text, &bytes.Buffer{})
	lines := strings.Split(text.String(), "\n")
	for len(lines) > 0 && !strings.Contains(lines[0], "rate/s") {
		lines = lines[1:] // the lines above the table
	}
	lines = lines[1:] // after the table's header
	require.Len(t, data.Comparison.Rows, 7)
	for i, row := range data.Comparison.Rows {
		require.True(t, strings.HasPrefix(lines[i], row.Name), "row %d: %q is compare's %q", i, row.Name, lines[i])
		marked := 0
		for _, c := range row.Cells {
			if c.Regressed {
				marked++
			}
		}
		assert.Equal(t, strings.Count(lines[i], "!"), marked, "row %q", row.Name)
		assert.Equal(t, strings.Contains(lines[i], "only in"), row.Only != "", "row %q", row.Name)
	}

	var indented bytes.Buffer
	require.NoError(t, json.Indent(&indented, m[1], "", "  "))
	indented.WriteByte('\n')
	golden := filepath.Join("testdata", "report-diff.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, indented.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), indented.String())
}

// Of two open-model runs that both measured their start lag, molotov
// compare and the comparison page show the start lag p99 of the run;
// otherwise neither does.
func TestCompareStartLag(t *testing.T) {
	lag, drops, closed := filepath.Join(results, "open-lag.json"), filepath.Join(results, "open-drops.json"), filepath.Join(results, "closed.json")
	for _, tt := range []struct {
		name     string
		old, new string
		want     bool
	}{
		{"two open runs", lag, lag, true},
		{"an open run without it", drops, lag, false},
		{"a closed run", closed, lag, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var text bytes.Buffer
			run([]string{"compare", tt.old, tt.new}, &text, &bytes.Buffer{})
			assert.Equal(t, tt.want, strings.Contains(text.String(), "start lag p99"), text.String())
			if tt.want {
				assert.Contains(t, text.String(), "99.4ms → 99.4ms (+0.0%)", "the run's start lag p99, from the results")
			}

			page := filepath.Join(t.TempDir(), "diff.html")
			var errOut bytes.Buffer
			run([]string{"report", "-o", page, tt.old, tt.new}, &bytes.Buffer{}, &errOut)
			b, err := os.ReadFile(page)
			require.NoError(t, err, errOut.String())
			m := regexp.MustCompile(`(?s)<script type="application/json" id="molotov-data">(.*?)</script>`).FindSubmatch(b)
			require.NotNil(t, m)
			var data struct {
				Comparison struct {
					StartLag bool `json:"start_lag"`
					Rows     []struct{ Cells []struct{ Text string } }
				}
			}
			require.NoError(t, json.Unmarshal(m[1], &data))
			assert.Equal(t, tt.want, data.Comparison.StartLag)
			require.NotEmpty(t, data.Comparison.Rows)
			if tt.want {
				require.Len(t, data.Comparison.Rows[0].Cells, 5)
				assert.Equal(t, "99.4ms → 99.4ms (+0.0%)", data.Comparison.Rows[0].Cells[4].Text)
			} else {
				assert.Len(t, data.Comparison.Rows[0].Cells, 4)
			}
		})
	}
}
