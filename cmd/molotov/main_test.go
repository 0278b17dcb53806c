package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The compare output for two fixed results, against a golden file
// (go test ./cmd/molotov -update rewrites it).
func TestCompareGolden(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"compare", "testdata/old.json", "testdata/new.json"}, &out, &errOut)
	assert.Equal(t, 1, code, "a regression exits 1; stderr: %s", errOut.String())
	golden := filepath.Join("testdata", "compare.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String())
}

func TestCompareExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"equal runs", []string{"compare", "testdata/old.json", "testdata/old.json"}, 0, "no regression beyond 10%", ""},
		{"regression", []string{"compare", "testdata/old.json", "testdata/new.json"}, 1, "REGRESSION", ""},
		{"tolerance out of range", []string{"compare", "-tolerance", "3000%", "testdata/old.json", "testdata/new.json"}, 2, "", "out of range"},
		{"tolerance as a fraction", []string{"compare", "-tolerance=0.6", "testdata/old.json", "testdata/new.json"}, 1, "more than 60%", ""},
		{"improvement is no regression", []string{"compare", "testdata/new.json", "testdata/old.json"}, 0, "no regression", ""},
		{"one file", []string{"compare", "testdata/old.json"}, 2, "", "need two result files"},
		{"missing file", []string{"compare", "testdata/old.json", "testdata/nope.json"}, 2, "", "nope.json"},
		{"not a result", []string{"compare", "testdata/old.json", "main.go"}, 2, "", "not a readable molotov-go result"},
		{"bad tolerance", []string{"compare", "-tolerance", "ten", "testdata/old.json", "testdata/new.json"}, 2, "", "-tolerance \"ten\""},
		{"flags after the files", []string{"compare", "testdata/old.json", "testdata/new.json", "-tolerance=0.6"}, 1, "more than 60%", ""},
		{"unknown flag", []string{"compare", "-tol", "5%", "testdata/old.json", "testdata/new.json"}, 2, "", "usage: molotov compare"},
		{"unknown command", []string{"bench"}, 2, "", `unknown command "bench"`},
		{"no command", nil, 2, "", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			assert.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			if tt.stdout != "" {
				assert.Contains(t, out.String(), tt.stdout)
			}
			if tt.stderr != "" {
				assert.Contains(t, errOut.String(), tt.stderr)
			}
		})
	}
}

// molotov compare -h prints compare's own usage and flags, on stdout.
func TestCompareHelp(t *testing.T) {
	for _, h := range []string{"-h", "-help", "--help"} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 0, run([]string{"compare", h}, &out, &errOut))
		assert.True(t, strings.HasPrefix(out.String(), "usage: molotov compare [-tolerance 10%] old.json new.json\n"), out.String())
		assert.Contains(t, out.String(), "-tolerance")
		assert.NotContains(t, out.String(), "molotov init", "the usage of every command, not compare's")
		assert.Empty(t, errOut.String())
	}
}

// Two results of runs with other options: the comparison says so first,
// naming each option that changed.
func TestCompareWarnsOfOtherOptions(t *testing.T) {
	data, err := os.ReadFile("testdata/old.json")
	require.NoError(t, err)
	withOptions := func(name, options string) string {
		path := filepath.Join(t.TempDir(), name)
		text := strings.Replace(string(data), `"version": 1,`, `"version": 1, "options": `+options+`,`, 1)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	old := withOptions("old.json", `{"workers": 10, "duration_ns": 10000000000, "request_timeout_ns": 30000000000, "max_response_bytes": 67108864}`)
	cur := withOptions("new.json", `{"workers": 20, "duration_ns": 10000000000, "request_timeout_ns": 30000000000, "max_response_bytes": 67108864, "rate": 100}`)
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run([]string{"compare", old, cur}, &out, &errOut), errOut.String())
	first, _, _ := strings.Cut(out.String(), "\n")
	assert.Equal(t, "warning: the runs had different options, so their figures may differ for that alone: workers 10 → 20, rate 0 → 100", first)

	out.Reset()
	assert.Equal(t, 0, run([]string{"compare", old, old}, &out, &errOut), errOut.String())
	assert.NotContains(t, out.String(), "warning")
}

// Only the figures that got worse are marked.
func TestCompareMarksOnlyRegressions(t *testing.T) {
	var out bytes.Buffer
	run([]string{"compare", "testdata/old.json", "testdata/new.json"}, &out, &bytes.Buffer{})
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "scenario list_items"), strings.HasPrefix(line, "request GET /items"):
			assert.NotContains(t, line, "!", "within 10%%: %s", line)
		case strings.HasPrefix(line, "request POST /items"):
			assert.Equal(t, 4, strings.Count(line, "!"), "rate, p50, p99 and failures regressed: %s", line)
		}
	}
}
