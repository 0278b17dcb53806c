package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/advice"
)

// An open-model pool far larger than the load needed gets a note with
// the size that would do; one that ran out, or is near its peak, none.
func TestDecodeOversizedPool(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "open-pool.json"))
	require.NoError(t, err)
	var base result
	require.NoError(t, json.Unmarshal(data, &base))
	for _, tt := range []struct {
		name          string
		pool, peak    int
		dropped       int64
		wantOversized bool
	}{
		{"oversized", 300, 2, 0, true},
		{"near its peak", 30, 20, 0, false},
		{"ran out", 300, 2, 5, false}, // dropped starts: the pool note is about that
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			r.MaxWorkers, r.PeakBusy, r.Dropped = tt.pool, tt.peak, tt.dropped
			data, err := json.Marshal(&r)
			require.NoError(t, err)
			run, err := Decode(data, "open-pool")
			require.NoError(t, err)
			notes := strings.Join(run.Verdict.Notes, "\n")
			assert.Equal(t, tt.wantOversized, strings.Contains(notes, advice.PoolOversizedText(tt.peak)), "notes:\n%s", notes)
		})
	}
}
