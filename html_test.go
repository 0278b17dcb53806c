package molotov

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The page of a run says in words why it failed, and shows its scenarios,
// requests, thresholds and errors; it embeds everything it needs.
func TestWriteHTML(t *testing.T) {
	res := jsonRun(t, "")
	// The flaky scenario fails half its runs; failure_rate < 1% judges them.
	require.Equal(t, OutcomeThresholds, res.Outcome())
	var buf bytes.Buffer
	require.NoError(t, res.WriteHTML(&buf))
	page := buf.String()

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Contains(t, page, "Failed: 2 of 3 thresholds broke")
	assert.Contains(t, page, html.EscapeString("Threshold failure_rate < 1% broke"))
	assert.NotContains(t, page, "none are allowed", "a threshold on failures is the failure verdict")

	// Without it, the failures themselves are the verdict, and the page says so.
	res.Thresholds = res.Thresholds[:1] // p99 < 10s
	buf.Reset()
	require.NoError(t, res.WriteHTML(&buf))
	failed := res.Failed - res.Interrupted
	assert.Contains(t, buf.String(), fmt.Sprintf("Failed: %d of %d scenario runs failed", failed, res.OK+failed))
	assert.Contains(t, buf.String(), "none are allowed (MaxFailures is 0)")
	// The threshold on a request never made measured nothing, and broke.
	assert.Contains(t, page, html.EscapeString("Threshold request(GET /never).count > 0 broke: nothing was measured."))
	for name := range res.Scenarios {
		assert.Contains(t, page, "<th scope=\"row\">"+name+"</th>")
	}
	for name := range res.Requests {
		assert.Contains(t, page, html.EscapeString(name))
	}
	assert.Contains(t, page, html.EscapeString(res.Errors[0].Error))
	assert.NotContains(t, page, "src=")
}

// A result read back from its JSON gives the same page as the run did.
func TestWriteHTMLFromJSON(t *testing.T) {
	res := jsonRun(t, "")
	var js, direct, back bytes.Buffer
	require.NoError(t, res.WriteJSON(&js))
	read, err := ReadResult(&js)
	require.NoError(t, err)
	require.NoError(t, res.WriteHTML(&direct))
	require.NoError(t, read.WriteHTML(&back))
	assert.Equal(t, direct.String(), back.String())
}

// -molotov.html (here its environment twin) writes the page under
// Runner.Test; a file that cannot be written fails the test, naming it,
// and the Result is still returned.
func TestHTMLFileUnderTest(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	file := filepath.Join(t.TempDir(), "report.html")
	tb := newFakeTB(t)
	t.Setenv("MOLOTOV_HTML", file)
	res := (&Runner{Registry: reg, MaxRuns: 3, Quiet: true}).Test(tb)
	require.NotNil(t, res)
	assert.Empty(t, tb.errs)
	page, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(page), "Passed: 3 scenario runs in")

	bad := filepath.Join(t.TempDir(), "missing-dir", "report.html")
	tb2 := newFakeTB(t)
	t.Setenv("MOLOTOV_HTML", bad) // newFakeTB cleared it
	res = (&Runner{Registry: reg, MaxRuns: 3, Quiet: true}).Test(tb2)
	assert.Nil(t, res, "a page that cannot be written is found before the run")
	require.Len(t, tb2.errs, 1)
	assert.Contains(t, tb2.errs[0], "missing-dir")
	assert.Contains(t, tb2.errs[0], "-molotov.html")

	// A directory that disappears during the run: the run happened, only
	// writing its page failed.
	gone := filepath.Join(t.TempDir(), "gone")
	require.NoError(t, os.Mkdir(gone, 0o755))
	reg.GlobalTeardown(func(context.Context) { os.RemoveAll(gone) })
	tb3 := newFakeTB(t)
	t.Setenv("MOLOTOV_HTML", filepath.Join(gone, "report.html"))
	res = (&Runner{Registry: reg, MaxRuns: 3, Quiet: true}).Test(tb3)
	require.NotNil(t, res, "the run happened; only writing its page failed")
	require.Len(t, tb3.errs, 1)
	assert.Contains(t, tb3.errs[0], "gone")
	assert.Contains(t, tb3.errs[0], "-molotov.html")
}

// A path that can never be written as a file is refused before the run,
// by the flag and by the run, and the message shows what to write.
func TestHTMLFileChecked(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ path, want string }{
		{dir, filepath.Join(dir, "report.html")},
		{"reports/", "reports/report.html"},
		{"a\x00.html", "NUL"},
	} {
		err := htmlFileSetter(&Runner{}, tt.path)
		require.Error(t, err, "%q", tt.path)
		assert.Contains(t, err.Error(), tt.want)

		reg, entered := noHTTPRegistry(nil)
		_, err = (&Runner{Registry: reg, MaxRuns: 1, Quiet: true, htmlFile: tt.path}).Run(context.Background())
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%v", err)
		assert.Equal(t, "-molotov.html", ce.Field)
		assert.Contains(t, err.Error(), tt.want)
		assert.Zero(t, entered.Load(), "nothing ran")
	}
	var r Runner
	require.NoError(t, htmlFileSetter(&r, filepath.Join(dir, "later", "report.html")), "a directory GlobalSetup may create")
}
