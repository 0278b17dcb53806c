package molotov

import (
	"fmt"
	"slices"

	"github.com/molotov-go/molotov/internal/resultjson"
	"github.com/molotov-go/molotov/internal/segment"
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
		CPU: r.CPU, Procs: r.Procs,
		StopReason: string(r.StopReason), Outcome: string(r.Outcome()),
	}}
}

// sortShareRows orders rows by share. A row's segment is "i/n", or, from
// a partial merge written without rows, the shares it covered: it sorts
// by the first.
func sortShareRows(rows []shareRow) {
	first := func(r shareRow) int {
		c, _ := segment.ParseCoverage(r.Segment) // checked when the row was read
		if len(c.Ranges) == 0 {
			return 0
		}
		return c.Ranges[0].Lo
	}
	slices.SortStableFunc(rows, func(a, b shareRow) int { return first(a) - first(b) })
}

// checkShareRows checks the rows of a JSON result whose segment is seg:
// each names shares of the same split as the others and as the result.
func checkShareRows(rows []shareRow, seg string) error {
	n := 0
	if seg != "" {
		c, _ := segment.ParseCoverage(seg) // checked before
		n = c.N
	}
	for i, r := range rows {
		c, err := segment.ParseCoverage(r.Segment)
		switch {
		case err != nil:
			return fmt.Errorf("shares[%d].segment %v", i, err)
		case r.Segment == "":
			return fmt.Errorf("shares[%d].segment is empty; a row names its share, as i/n", i)
		case n != 0 && c.N != n:
			return fmt.Errorf("shares[%d].segment %q splits the run in %d, not in %d as the rest of the result does", i, r.Segment, c.N, n)
		}
		n = c.N
	}
	return nil
}
