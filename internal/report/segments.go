package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/molotov-go/molotov/internal/resultjson"
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
			strconv.Itoa(s.MaxWorkers),
			s.StopReason,
			outcome,
		}})
	}
	return out
}

// firstShare returns the first share a segment names: 2 for "2/4" and for
// "2-3,5/8"; -1 when it names none.
func firstShare(segment string) int {
	i, err := strconv.Atoi(segment[:strings.IndexFunc(segment+"/", notDigit)])
	if err != nil {
		return -1
	}
	return i
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// missingSegments names the shares that a partial merge's segment,
// "0-2,5/8", lacks: "segments 3-4,6-7 of 8", "segment 3 of 4"; "" when
// the segment does not read.
func missingSegments(segment string) string {
	list, total, _ := strings.Cut(segment, "/")
	n, err := strconv.Atoi(total)
	if err != nil || n < 1 {
		return ""
	}
	var missing []string
	gap := func(lo, hi int) {
		switch {
		case lo == hi:
			missing = append(missing, strconv.Itoa(lo))
		case lo < hi:
			missing = append(missing, strconv.Itoa(lo)+"-"+strconv.Itoa(hi))
		}
	}
	next := 0 // the first share not yet seen
	for _, item := range strings.Split(list, ",") {
		a, b, isRange := strings.Cut(item, "-")
		lo, err := strconv.Atoi(a)
		hi := lo
		if err == nil && isRange {
			hi, err = strconv.Atoi(b)
		}
		if err != nil || lo < next || hi < lo || hi >= n {
			return ""
		}
		gap(next, lo-1)
		next = hi + 1
	}
	gap(next, n-1)
	switch {
	case len(missing) == 0:
		return ""
	case len(missing) == 1 && !strings.Contains(missing[0], "-"):
		return "segment " + missing[0] + " of " + strconv.Itoa(n)
	}
	return "segments " + strings.Join(missing, ",") + " of " + strconv.Itoa(n)
}
