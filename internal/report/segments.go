package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/molotov-go/molotov/internal/ratio"
	"github.com/molotov-go/molotov/internal/resultjson"
	"github.com/molotov-go/molotov/internal/segment"
)

// shareRow is one share of a merged run, as the JSON result's "shares"
// records it: the share's own figures and verdict.
type shareRow = resultjson.Share

// outcomeWords says a share's own verdict in a table cell.
var outcomeWords = map[string]string{
	"passed":       "✔ passed",
	"thresholds":   "✘ thresholds broke",
	"failures":     "✘ too many failures",
	"setup-failed": "✘ setup failed",
	"interrupted":  "✘ interrupted",
}

// segmentsOf returns the table of a merged run's shares, by share: when
// each started from the run's start (so that one sees whether they were
// aligned), how long it ran, its runs, failures and dropped starts, its
// workers, why it stopped and its own verdict.
func segmentsOf(r *result, open bool) []Segment {
	rows := slices.Clone(r.Shares)
	slices.SortStableFunc(rows, func(a, b shareRow) int { return cmp.Compare(firstShare(a.Segment), firstShare(b.Segment)) })
	out := make([]Segment, 0, len(rows))
	for _, s := range rows {
		ended, counted := s.OK+s.Failed, s.Failed-s.Interrupted
		dropped := "-"
		if open {
			dropped = count(s.Dropped) + " (" + pct(s.Dropped, s.Scheduled) + ")"
		}
		outcome := outcomeWords[s.Outcome]
		if outcome == "" {
			outcome = s.Outcome
		}
		out = append(out, Segment{Segment: s.Segment, Passed: s.Outcome == "passed", Cells: []string{
			"+" + dur(s.Start.Sub(r.Start)),
			dur(s.End.Sub(s.Start)),
			count(ended),
			count(s.Failed) + " (" + pct(counted, ended-s.Interrupted) + ")",
			dropped,
			shareWorkers(s),
			shareCPU(s),
			s.StopReason,
			outcome,
		}})
	}
	return out
}

// shareWorkers is a share's workers, and in the open model how many of
// its pool were busy at once: "40", "40 (12 busy)".
func shareWorkers(s shareRow) string {
	if s.PeakBusy > 0 {
		return strconv.Itoa(s.MaxWorkers) + " (" + strconv.Itoa(s.PeakBusy) + " busy)"
	}
	return strconv.Itoa(s.MaxWorkers)
}

// shareCPU is how busy a share's process kept its CPUs, "95%"; "-" when
// the share did not say.
func shareCPU(s shareRow) string {
	busy := ratio.Busy(s.CPU, s.End.Sub(s.Start), s.Procs)
	if busy == 0 {
		return "-"
	}
	return strconv.Itoa(ratio.WholePercent(busy)) + "%"
}

// firstShare returns the first share a segment names: 2 for "2/4" and for
// "2-3,5/8"; -1 when it names none.
func firstShare(seg string) int {
	c, err := segment.ParseCoverage(seg)
	if seg == "" || err != nil {
		return -1
	}
	return c.Ranges[0].Lo
}

// missingSegments names the shares that a partial merge's segment,
// "0-2,5/8", lacks: "segments 3-4,6-7 of 8", "segment 3 of 4"; "" when
// the segment does not read.
func missingSegments(seg string) string {
	c, err := segment.ParseCoverage(seg)
	if err != nil {
		return ""
	}
	m := c.Missing()
	if len(m.Ranges) == 0 {
		return ""
	}
	list, _, _ := strings.Cut(m.String(), "/")
	if len(m.Ranges) == 1 && m.Ranges[0].Lo == m.Ranges[0].Hi {
		return "segment " + list + " of " + strconv.Itoa(m.N)
	}
	return "segments " + list + " of " + strconv.Itoa(m.N)
}
