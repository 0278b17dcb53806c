package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/molotov-go/molotov/internal/advice"
)

// An open-model pool far larger than the load needed gets a note with
// the size that would do; one that ran out, or is near its peak, none.
func TestDecodeOversizedPool(t *testing.T) {
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
			run := decodeWith(t, "open-pool", func(r *result) {
				r.MaxWorkers, r.PeakBusy, r.Dropped = tt.pool, tt.peak, tt.dropped
			})
			notes := strings.Join(run.Verdict.Notes, "\n")
			assert.Equal(t, tt.wantOversized, strings.Contains(notes, advice.PoolOversizedText(tt.peak)), "notes:\n%s", notes)
		})
	}
}
