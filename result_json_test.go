package molotov

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonRun runs two scenarios, one failing every other time, with
// thresholds (one on a request never made), and writes the JSON result.
func jsonRun(t *testing.T, file string) *Result {
	t.Helper()
	return jsonRunAt(t, file, teapotServer(t).URL)
}

// teapotServer answers 418 at /teapot, and "ok" elsewhere.
func teapotServer(t *testing.T) *connServer {
	return serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		sbOK(w, r)
	})
}

// jsonRunAt is jsonRun against the server at url.
func jsonRunAt(t *testing.T, file, url string) *Result {
	t.Helper()
	reg := NewRegistry()
	reg.Scenario("get", 2, func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/items") })
	reg.Scenario("flaky", 1, func(ctx context.Context, s *Session) error {
		if s.Step()%2 == 0 {
			return getDrained(ctx, s, "/teapot", http.StatusTeapot)
		}
		return getDrained(ctx, s, "/teapot", http.StatusOK)
	})
	r := Runner{Registry: reg, BaseURL: url, Workers: 3, MaxRuns: 20, Seed: 7, Quiet: true, ResultFile: file,
		Thresholds: []string{"p99 < 10s", "failure_rate < 1%", "request(GET /never).count > 0"}}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	return res
}

func TestResultJSONRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "result.json")
	res := jsonRun(t, file)
	written, err := os.ReadFile(file)
	require.NoError(t, err)

	back, err := ReadResult(bytes.NewReader(written))
	require.NoError(t, err)
	var again bytes.Buffer
	require.NoError(t, back.WriteJSON(&again))
	assert.Equal(t, string(written), again.String(), "written, read back and written again: the same bytes")

	// What was read back is the run's Result, histograms included.
	assert.Equal(t, res.Started, back.Started)
	assert.Equal(t, res.OK, back.OK)
	assert.Equal(t, res.Failed, back.Failed)
	assert.Equal(t, res.StopReason, back.StopReason)
	assert.Equal(t, res.Start, back.Start)
	assert.Equal(t, res.End, back.End)
	assert.Equal(t, res.Elapsed, back.Elapsed)
	assert.Equal(t, res.Errors, back.Errors)
	assert.Equal(t, res.Timeline, back.Timeline)
	assert.Positive(t, res.Connections)
	assert.Equal(t, res.Connections, back.Connections)
	assert.Equal(t, res.opts, back.opts)
	assert.Equal(t, res.latency, back.latency)
	assert.Equal(t, res.all, back.all)
	assert.Equal(t, res.Passed(), back.Passed())
	require.Equal(t, len(res.Scenarios), len(back.Scenarios))
	for name, sc := range res.Scenarios {
		assert.Equal(t, sc, back.Scenarios[name], "scenario %s", name)
	}
	require.Equal(t, len(res.Requests), len(back.Requests))
	for name, rq := range res.Requests {
		assert.Equal(t, rq, back.Requests[name], "request %s", name)
	}
	require.Len(t, back.Thresholds, 3)
	for i, tr := range res.Thresholds {
		assert.Equal(t, tr.Expr, back.Thresholds[i].Expr)
		assert.Equal(t, tr.Pass, back.Thresholds[i].Pass)
		if math.IsNaN(tr.Value) {
			assert.True(t, math.IsNaN(back.Thresholds[i].Value), "nothing measured stays nothing measured")
		} else {
			assert.Equal(t, tr.Value, back.Thresholds[i].Value)
		}
	}

	// The figures a reader looks for are in the file by name.
	for _, want := range []string{`"schema": "molotov-go/result"`, `"version": 1`, `"stop_reason": "max-runs"`,
		`"scheme": "log-linear-128/v1"`, `"GET /items"`, `"418": `, `"value": null`, `"timeline"`, `"workers": 3`, `"connections": `} {
		assert.Contains(t, string(written), want)
	}
	assert.EqualValues(t, 60, res.Started)
	assert.Positive(t, res.Failed)
	assert.NotContains(t, string(written), "sizing_tolerance", "a run without Sizing has no sizing tolerance to record")
}

// Every scenario run is in exactly one second of the timeline.
func TestResultTimeline(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error {
		time.Sleep(5 * time.Millisecond)
		return sbGet(ctx, s, "/")
	})
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 2, Duration: 2200 * time.Millisecond, Quiet: true})
	require.GreaterOrEqual(t, len(res.Timeline), 2, "%+v", res.Timeline)
	require.LessOrEqual(t, len(res.Timeline), 4, "%+v", res.Timeline)
	var ok, failed, started int64
	for i, p := range res.Timeline {
		assert.Equal(t, i+1, p.Second)
		ok += p.OK
		failed += p.Failed
		started += p.Started
		assert.Zero(t, p.Dropped, "the closed model drops nothing")
		if p.OK > 0 {
			assert.GreaterOrEqual(t, p.P50, 5*time.Millisecond, "second %d", p.Second)
			assert.GreaterOrEqual(t, p.P90, p.P50)
			assert.GreaterOrEqual(t, p.P99, p.P90)
			assert.Less(t, p.P99, time.Second)
		}
	}
	assert.Equal(t, res.OK, ok)
	assert.Equal(t, res.Failed, failed)
	assert.Equal(t, res.Started, started)
	assert.Equal(t, 2, res.Timeline[0].Workers)
}

func TestReadResultRejects(t *testing.T) {
	var good bytes.Buffer
	require.NoError(t, jsonRun(t, "").WriteJSON(&good))
	tests := []struct {
		name, from, to, msg string
	}{
		{"not JSON", "{", "[", "invalid character"},
		{"another schema", `"molotov-go/result"`, `"k6/summary"`, `schema "k6/summary"`},
		{"a newer version", `"version": 1`, `"version": 2`, "upgrade"},
		{"another histogram scheme", `"log-linear-128/v1"`, `"hdr/v9"`, `scheme "hdr/v9"`},
		{"a bucket out of range", `"buckets": [`, `"buckets": [[99999, 1], `, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(good.String(), tt.from, tt.to, 1)
			require.NotEqual(t, good.String(), in, "the test must change the input")
			_, err := ReadResult(strings.NewReader(in))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrResultFormat), "%v", err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// -molotov.json (here its environment twin) writes the result under
// Runner.Test; a file that cannot be written fails the test, naming it,
// and the Result is still returned.
func TestResultFileUnderTest(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	file := filepath.Join(t.TempDir(), "out.json")
	tb := newFakeTB(t)
	t.Setenv("MOLOTOV_JSON", file)
	res := (&Runner{Registry: reg, MaxRuns: 3, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Empty(t, tb.errs)
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	back, err := ReadResult(f)
	require.NoError(t, err)
	assert.EqualValues(t, 3, back.OK)

	bad := filepath.Join(t.TempDir(), "missing-dir", "out.json")
	t.Setenv("MOLOTOV_JSON", bad)
	tb2 := newFakeTB(t)
	t.Setenv("MOLOTOV_JSON", bad) // newFakeTB cleared it
	res = (&Runner{Registry: reg, MaxRuns: 3, Quiet: true}).Test(tb2)
	assert.Nil(t, res, "a result file that cannot be written is found before the run")
	require.Len(t, tb2.errs, 1)
	assert.Contains(t, tb2.errs[0], "missing-dir")
	assert.Contains(t, tb2.errs[0], "-molotov.json")

	// A directory that disappears during the run: the run happened, only
	// writing its result failed.
	gone := filepath.Join(t.TempDir(), "gone")
	require.NoError(t, os.Mkdir(gone, 0o755))
	reg.GlobalTeardown(func(context.Context) { os.RemoveAll(gone) })
	tb3 := newFakeTB(t)
	t.Setenv("MOLOTOV_JSON", filepath.Join(gone, "out.json"))
	res = (&Runner{Registry: reg, MaxRuns: 3, Quiet: true}).Test(tb3)
	require.NotNil(t, res, "the run happened; only writing its result failed")
	assert.EqualValues(t, 3, res.OK)
	require.Len(t, tb3.errs, 1)
	assert.Contains(t, tb3.errs[0], "gone")
	assert.Contains(t, tb3.errs[0], "-molotov.json")
}

// A ResultFile that cannot be written is found before the first scenario
// run, not after a long run; GlobalSetup may still make its directory.
func TestResultFileCheckedBeforeTheRun(t *testing.T) {
	dir := t.TempDir()
	var entered, tornDown atomic.Int64
	newReg := func(mkdir string) *Registry {
		reg := sbOneScenario("s", func(context.Context, *Session) error { entered.Add(1); return nil })
		reg.GlobalSetup(func(context.Context, *Runner) error {
			if mkdir != "" {
				return os.Mkdir(mkdir, 0o755)
			}
			return nil
		})
		reg.GlobalTeardown(func(context.Context) { tornDown.Add(1) })
		return reg
	}
	missing := filepath.Join(dir, "missing", "result.json")
	_, err := (&Runner{Registry: newReg(""), MaxRuns: 1, Quiet: true, ResultFile: missing}).Run(context.Background())
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "ResultFile", ce.Field)
	assert.Contains(t, err.Error(), "does not exist")
	assert.Zero(t, entered.Load(), "no scenario ran")
	assert.EqualValues(t, 1, tornDown.Load(), "GlobalTeardown ran after GlobalSetup")

	later := filepath.Join(dir, "later")
	res, err := (&Runner{Registry: newReg(later), MaxRuns: 1, Quiet: true, ResultFile: filepath.Join(later, "result.json")}).Run(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.OK)
	entries, err := os.ReadDir(later)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left beside the result")
	fi, err := entries[0].Info()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

// The JSON result replaces an earlier file only once it is complete.
func TestWriteFileAtomicKeepsTheOldFileOnFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result.json")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	err := writeFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("disk full")
	})
	require.Error(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "the temporary file is removed")
}

// The JSON result is read by people and by tools, never embedded in HTML
// as is: "<", ">" and "&" in thresholds and errors are written as they are,
// not as \u003c, \u003e and \u0026.
func TestResultJSONDoesNotEscapeHTML(t *testing.T) {
	res := &Result{
		Thresholds: []ThresholdResult{{Expr: "p99 < 200ms", Value: 0.1, Pass: true}, {Expr: "ok > 10", Value: 12, Pass: true}},
		Errors:     []ErrorCount{{Error: "molotov: GET http://127.0.0.1/a?x=1&y=2: status 500 Internal Server Error, want 2xx", Count: 1}},
	}
	var buf bytes.Buffer
	require.NoError(t, res.WriteJSON(&buf))
	out := buf.String()
	for _, want := range []string{`"p99 < 200ms"`, `"ok > 10"`, `?x=1&y=2`} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, `\u00`, "HTML-escaped characters in the JSON result")
	back, err := ReadResult(&buf)
	require.NoError(t, err)
	assert.Equal(t, "p99 < 200ms", back.Thresholds[0].Expr)
}

// A run says where it wrote its files, as absolute paths (under go test a
// relative path is the package's directory); a Quiet run says nothing.
func TestRunSaysWhereItWroteItsFiles(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	for _, quiet := range []bool{false, true} {
		t.Chdir(t.TempDir()) // the files each pass writes are its own
		var out lockedBuffer
		r := Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 1, Output: &out, ConsoleUpdate: time.Hour, Quiet: quiet,
			ResultFile: "result.json", htmlFile: "report.html"}
		_, err := r.Run(context.Background())
		require.NoError(t, err)
		for _, f := range []struct{ what, path string }{{"JSON result", "result.json"}, {"HTML report", "report.html"}} {
			abs, err := filepath.Abs(f.path)
			require.NoError(t, err)
			require.FileExists(t, abs)
			line := "molotov: wrote the " + f.what + " to " + abs + "\n"
			if quiet {
				assert.NotContains(t, out.String(), "molotov: wrote")
			} else {
				assert.Contains(t, out.String(), line)
			}
		}
	}
}

// Results record the sizing tolerance only with Sizing; those written
// when every result recorded the default read as if they had not, so
// that comparing or merging them with newer ones sees no change.
func TestSizingToleranceRecordedWithSizingOnly(t *testing.T) {
	cfg := (&Runner{Sizing: true}).withDefaults()
	assert.Equal(t, DefaultSizingTolerance, optionsOf(&cfg).SizingTolerance)
	cfg = (&Runner{}).withDefaults()
	assert.Zero(t, optionsOf(&cfg).SizingTolerance)

	old, err := os.ReadFile(filepath.Join("internal", "report", "testdata", "closed.json"))
	require.NoError(t, err)
	require.Contains(t, string(old), `"sizing_tolerance":5`, "the fixture predates the change")
	a, err := ReadResult(bytes.NewReader(old))
	require.NoError(t, err)
	b, err := ReadResult(bytes.NewReader(bytes.Replace(old, []byte(`"sizing_tolerance":5,`), nil, 1)))
	require.NoError(t, err)
	assert.Empty(t, optionChanges(a, b), "an old result and a new one of the same options")
}
