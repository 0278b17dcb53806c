package molotov

import (
	"fmt"
	"slices"

	"github.com/molotov-go/molotov/internal/resultjson"
)

// shareRow is one share of a merged run as the share's own result had it:
// a row of the merged result's table of shares (the JSON result's
// "shares"), so that a reader sees each share's figures and verdict
// beside the whole run's.
type shareRow = resultjson.Share

// shareRowsOf returns the rows that r brings to a merge: a merged
// result's own, so that the rows stay one per share however merges nest;
// one for a share; none for a whole run.
func shareRowsOf(r *Result) []shareRow {
	if len(r.shares) > 0 || r.Segment == "" {
		return r.shares
	}
	return []shareRow{{
		Segment: r.Segment, Start: r.Start, End: r.End,
		Started: r.Started, OK: r.OK, Failed: r.Failed, Interrupted: r.Interrupted,
		Scheduled: r.Scheduled, Dropped: r.Dropped, MaxWorkers: r.MaxWorkers, PeakBusy: r.PeakBusy,
		StopReason: string(r.StopReason), Outcome: string(r.Outcome()),
	}}
}

// sortShareRows orders rows by share. A row's segment is "i/n", or, from
// a partial merge written without rows, the shares it covered: it sorts
// by the first.
func sortShareRows(rows []shareRow) {
	first := func(r shareRow) int {
		c, _ := parseCoverage(r.Segment) // checked when the row was read
		if len(c.ranges) == 0 {
			return 0
		}
		return c.ranges[0].lo
	}
	slices.SortStableFunc(rows, func(a, b shareRow) int { return first(a) - first(b) })
}

// checkShareRows checks the rows of a JSON result whose segment is
// segment: each names shares of the same split as the others and as the
// result.
func checkShareRows(rows []shareRow, segment string) error {
	n := 0
	if segment != "" {
		c, _ := parseCoverage(segment) // checked before
		n = c.n
	}
	for i, r := range rows {
		c, err := parseCoverage(r.Segment)
		switch {
		case err != nil:
			return fmt.Errorf("shares[%d].segment %v", i, err)
		case r.Segment == "":
			return fmt.Errorf("shares[%d].segment is empty; a row names its share, as i/n", i)
		case n != 0 && c.n != n:
			return fmt.Errorf("shares[%d].segment %q splits the run in %d, not in %d as the rest of the result does", i, r.Segment, c.n, n)
		}
		n = c.n
	}
	return nil
}
