package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov"
)

// shareFiles runs n shares of a run against a local server that fails
// every request to /fail, and writes their JSON results to dir as
// share0.json…; edit changes a share's Runner before it runs. Each share
// runs 2 workers × 5 runs of a scenario that GETs path.
func shareFiles(t *testing.T, dir, path string, n int, edit func(i int, r *molotov.Runner)) []string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	var files []string
	for i := range n {
		reg := molotov.NewRegistry()
		reg.Scenario("get", 1, func(ctx context.Context, s *molotov.Session) error {
			resp, err := s.Get(ctx, path)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			return molotov.ExpectStatus(resp, http.StatusOK)
		})
		r := molotov.Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, MaxRuns: 5, Quiet: true, Seed: 1,
			Thresholds: []string{"p99 < 10s", "failure_rate < 50%"}, MaxFailures: 1000}
		if edit != nil {
			edit(i, &r)
		}
		res, err := r.Run(context.Background())
		require.NoError(t, err)
		res.Segment = fmt.Sprintf("%d/%d", i, n)
		var b bytes.Buffer
		require.NoError(t, res.WriteJSON(&b))
		file := filepath.Join(dir, fmt.Sprintf("share%d.json", i))
		require.NoError(t, os.WriteFile(file, b.Bytes(), 0o600))
		files = append(files, file)
	}
	return files
}

// readFile reads a JSON result.
func readFile(t *testing.T, path string) *molotov.Result {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	res, err := molotov.ReadResult(f)
	require.NoError(t, err)
	return res
}

// The merge of a run's shares passes or fails as the whole run does, and
// compare reads the merged result like any other.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	ok := shareFiles(t, dir, "/", 3, nil)
	fail := shareFiles(t, t.TempDir(), "/fail", 2, func(_ int, r *molotov.Runner) { r.MaxFailures = 15 })
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		runs   int64 // in the merged file
		seg    string
	}{
		{"the whole run", append([]string{"merge", "-o"}, append([]string{"OUT"}, ok...)...), 0,
			[]string{"merged 3 results: the whole run, 30 runs (0 failed)", "PASS", "wrote OUT"}, 30, ""},
		{"flags after the files", append(append([]string{"merge"}, ok...), "-o", "OUT"), 0, []string{"PASS"}, 30, ""},
		{"a share missing, merged partially", []string{"merge", ok[2], "-partial", ok[0], "-o", "OUT"}, 0,
			[]string{"merged 2 results: shares 0,2/3 of the run only (partial), 20 runs", "PASS"}, 20, "0,2/3"},
		{"without -o", []string{"merge", ok[0], ok[1], ok[2]}, 0, []string{"PASS"}, -1, ""},
		// Each share fails 10 runs, under its budget of 15; the run fails 20.
		{"the failure budget of the whole run", append([]string{"merge", "-o", "OUT"}, fail...), 1,
			[]string{"20 runs (20 failed)", "FAIL: 20 of 20 scenario runs failed, more than MaxFailures allows",
				"FAIL: threshold broken: failure_rate < 50% (measured 100%)"}, 20, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "total.json")
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "OUT", out)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			for _, want := range tt.stdout {
				assert.Contains(t, stdout.String(), strings.ReplaceAll(want, "OUT", out))
			}
			if tt.runs < 0 {
				assert.NoFileExists(t, out)
				return
			}
			merged := readFile(t, out)
			assert.Equal(t, tt.runs, merged.OK+merged.Failed)
			assert.Equal(t, tt.seg, merged.Segment)
			assert.Equal(t, tt.seg != "", merged.Partial)
			assert.Equal(t, tt.code == 0, merged.Passed())

			// compare takes a merged result like any other.
			stdout.Reset()
			assert.Equal(t, 0, run([]string{"compare", out, out}, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), "no regression")
			assert.NotEqual(t, 2, run([]string{"compare", ok[0], out}, &stdout, &stderr), stderr.String())
		})
	}
}

// Bad input exits 2 with an error that names the file, and writes
// nothing.
func TestMergeCommandRefuses(t *testing.T) {
	dir := t.TempDir()
	shares := shareFiles(t, dir, "/", 2, nil)
	other := shareFiles(t, t.TempDir(), "/", 2, func(_ int, r *molotov.Runner) { r.Workers = 3 })
	good, err := os.ReadFile(shares[1])
	require.NoError(t, err)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	truncated := write("truncated.json", good[:len(good)/2])
	schema := write("k6.json", bytes.Replace(good, []byte(`"molotov-go/result"`), []byte(`"k6/summary"`), 1))
	newer := write("newer.json", bytes.Replace(good, []byte(`"version": 1`), []byte(`"version": 2`), 1))
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"an empty list", []string{"-o", "OUT"}, []string{"no result files given", "usage: molotov merge"}},
		{"a truncated file", []string{shares[0], truncated, "-o", "OUT"}, []string{truncated, "not a readable molotov-go result", "unexpected EOF"}},
		{"a missing file", []string{shares[0], filepath.Join(dir, "nope.json"), "-o", "OUT"}, []string{"nope.json", "no such file"}},
		{"another schema", []string{shares[0], schema}, []string{schema, `schema "k6/summary"`}},
		{"a newer version", []string{shares[0], newer}, []string{newer, "version 2", "upgrade"}},
		{"a result of another run", []string{shares[0], other[1], "-o", "OUT"}, []string{other[1], "options.workers: 3 here, 2 in " + shares[0], "different runs"}},
		{"a duplicate share", []string{shares[0], shares[1], shares[1], "-o", "OUT"}, []string{shares[1] + ": segment: share 1/2 is also in " + shares[1]}},
		{"a missing share", []string{shares[1], "-o", "OUT"}, []string{"segment: no result covers share 0/2: the results given (" + shares[1] + ") cover 1/2", "-partial"}},
		{"an unknown flag", []string{"-x", shares[0]}, []string{"flag provided but not defined: -x", "usage: molotov merge"}},
		{"an unwritable output", []string{shares[0], shares[1], "-o", filepath.Join(dir, "no", "such", "dir.json")}, []string{"dir.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "total.json")
			args := []string{"merge"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "OUT", out))
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			assert.Equal(t, 2, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			for _, want := range tt.stderr {
				assert.Contains(t, stderr.String(), want)
			}
			entries, err := os.ReadDir(outDir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written")
		})
	}
}

// merge -h prints merge's own usage and exits 0.
func TestMergeCommandHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run([]string{"merge", "-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "usage: molotov merge [-partial] [-o total.json] result.json...")
	assert.Contains(t, stderr.String(), "-partial")
}

// After "--", every argument is a file, even one that looks like a flag.
func TestMergeCommandDashDash(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"merge", "-partial", "--", "-o"}, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "open -o: no such file")
}
