package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A partial merge names the shares it lacks, from its segment.
func TestMissingSegments(t *testing.T) {
	for _, tt := range []struct{ segment, want string }{
		{"0-1,3/4", "segment 2 of 4"},
		{"0-2,5/8", "segments 3-4,6-7 of 8"},
		{"1/2", "segment 0 of 2"},
		{"2-3/4", "segments 0-1 of 4"},
		{"1,3/5", "segments 0,2,4 of 5"},
		{"0-3/4", ""}, // complete
		{"", ""},
		{"0-1,1/4", ""}, // not a segment: overlapping
		{"3-1/4", ""},
		{"4/4", ""},
		{"x/4", ""},
		{"0/x", ""},
	} {
		assert.Equal(t, tt.want, missingSegments(tt.segment), "%q", tt.segment)
	}
}

// The table lists the shares by share number, whatever the order of the
// rows, and says each one's own verdict and how busy its process kept
// its CPUs, where it said.
func TestSegmentsAreSortedByShare(t *testing.T) {
	data := `{"schema":"molotov-go/result","version":1,"outcome":"passed","start":"2025-03-01T12:00:00Z","shares":[
		{"segment":"10/12","start":"2025-03-01T12:00:00.25Z","end":"2025-03-01T12:00:10Z","ok":9,"failed":1,"max_workers":3,"stop_reason":"duration","outcome":"failures"},
		{"segment":"2/12","start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:00:10Z","ok":10,"max_workers":3,"cpu_ns":19000000000,"procs":2,"stop_reason":"duration","outcome":"passed"},
		{"segment":"3-5/12","start":"2025-03-01T12:00:01Z","end":"2025-03-01T12:00:10Z","ok":30,"scheduled":40,"dropped":10,"max_workers":9,"peak_busy":4,"stop_reason":"max-runs","outcome":"some-new-outcome"}]}`
	run, err := Decode([]byte(data), "")
	require.NoError(t, err)
	require.Len(t, run.Segments, 3)
	assert.Equal(t, []string{"2/12", "3-5/12", "10/12"}, []string{run.Segments[0].Segment, run.Segments[1].Segment, run.Segments[2].Segment})
	assert.Equal(t, []string{"+0s", "10.0s", "10", "0 (0%)", "-", "3", "95%", "duration", "✔ passed"}, run.Segments[0].Cells)
	assert.Equal(t, []string{"+1.0s", "9.0s", "30", "0 (0%)", "-", "9 (4 busy)", "-", "max-runs", "some-new-outcome"}, run.Segments[1].Cells)
	assert.Equal(t, []string{"+250ms", "9.75s", "10", "1 (10%)", "-", "3", "-", "duration", "✘ too many failures"}, run.Segments[2].Cells)
	assert.Equal(t, []bool{true, false, false}, []bool{run.Segments[0].Passed, run.Segments[1].Passed, run.Segments[2].Passed})

	open, err := Decode([]byte(data[:len(data)-1]+`,"options":{"rate":10}}`), "")
	require.NoError(t, err)
	assert.Equal(t, "10 (25%)", open.Segments[1].Cells[4], "the open model's dropped starts")
}
