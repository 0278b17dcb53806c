package molotov

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The page of a run says in words why it failed, and shows its scenarios,
// requests, thresholds and errors; it embeds everything it needs.
func TestWriteHTML(t *testing.T) {
	res := jsonRun(t, "")
	require.Equal(t, OutcomeFailures, res.Outcome(), "the flaky scenario fails half its runs")
	var buf bytes.Buffer
	require.NoError(t, res.WriteHTML(&buf))
	page := buf.String()

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	failed := res.Failed - res.Interrupted
	assert.Contains(t, page, fmt.Sprintf("Failed: %d of %d scenario runs failed", failed, res.OK+failed))
	assert.Contains(t, page, "none are allowed (MaxFailures is 0)")
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
