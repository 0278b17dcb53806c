package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/advice"
)

// The connections the sessions opened show among the facts; when there
// were about as many as requests, the verdict says what that costs and
// why it comes. A result without the figure shows neither.
func TestDecodeConnections(t *testing.T) {
	var reqs int64
	for _, q := range fixture(t, "closed").Requests {
		reqs += q.Count
	}
	require.GreaterOrEqual(t, reqs, int64(100), "the fixture needs enough requests to judge")
	for _, tt := range []struct {
		name     string
		conns    int64
		fact     string
		churning bool
	}{
		{"none recorded", 0, "", false},
		{"kept", 4, "4 opened", false},
		{"one per request", reqs, count(reqs) + " opened", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := decodeWith(t, "closed", func(r *result) { r.Connections = tt.conns })
			var fact string
			for _, f := range run.Facts {
				if f.Label == "Connections" {
					fact = f.Value
				}
			}
			assert.Equal(t, tt.fact, fact)
			notes := strings.Join(run.Verdict.Notes, "\n")
			assert.Equal(t, tt.churning, strings.Contains(notes, advice.ChurningText), "notes:\n%s", notes)
		})
	}
}
