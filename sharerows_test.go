package molotov

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// threeShares returns the three shares of a run judged by failure_rate <
// 5%: share 1 fails a tenth of its runs, so it fails its own threshold,
// while the run as a whole passes it; each started at its own time, with
// its own workers, and share 2 stopped on its own.
func threeShares(t *testing.T) []*Result {
	opts := fakeOptions("failure_rate < 5%")
	s0 := fakeShare{segment: "0/3", opts: opts, workers: 2, runs: runsOf(300, 0, time.Millisecond)}.result(t)
	s1 := fakeShare{segment: "1/3", opts: opts, workers: 3, start: fakeStart.Add(40 * time.Millisecond), elapsed: 9 * time.Second,
		runs: runsOf(100, 10, 2*time.Millisecond)}.result(t)
	s2 := fakeShare{segment: "2/3", opts: opts, workers: 1, start: fakeStart.Add(15 * time.Millisecond),
		runs: runsOf(200, 2, 3*time.Millisecond)}.result(t)
	s2.StopReason, s2.Interrupted = StopCancelled, 1
	return []*Result{s0, s1, s2}
}

// wantRow is the row of the table of shares that share r makes.
func wantRow(r *Result) shareRow {
	return shareRow{Segment: r.Segment, Start: r.Start, End: r.End, Started: r.Started, OK: r.OK, Failed: r.Failed,
		Interrupted: r.Interrupted, Scheduled: r.Scheduled, Dropped: r.Dropped, MaxWorkers: r.MaxWorkers,
		StopReason: string(r.StopReason), Outcome: string(r.Outcome())}
}

// A merge keeps one row per share, in share order whatever the order
// given, each with the share's own figures and its own verdict.
func TestMergeKeepsARowPerShare(t *testing.T) {
	shares := threeShares(t)
	require.Equal(t, []Outcome{OutcomePassed, OutcomeThresholds, OutcomeInterrupted},
		[]Outcome{shares[0].Outcome(), shares[1].Outcome(), shares[2].Outcome()}, "the shares' own verdicts")
	merged, err := Merge(shares[2], shares[0], shares[1])
	require.NoError(t, err)
	assert.Equal(t, []shareRow{wantRow(shares[0]), wantRow(shares[1]), wantRow(shares[2])}, merged.shares)
	assert.Equal(t, OutcomeInterrupted, merged.Outcome())

	// Without the interrupted share, the run passes its threshold though
	// share 1 broke it: the rows keep share 1's own verdict.
	partial, err := MergePartial(shares[1], shares[0])
	require.NoError(t, err)
	assert.Equal(t, OutcomePassed, partial.Outcome())
	assert.Equal(t, []shareRow{wantRow(shares[0]), wantRow(shares[1])}, partial.shares)

	// A Merger gives each result its own rows.
	var m Merger
	require.NoError(t, m.Add("", shares[0]))
	require.NoError(t, m.Add("", shares[1]))
	m.Partial = true
	first, err := m.Result()
	require.NoError(t, err)
	require.NoError(t, m.Add("", shares[2]))
	second, err := m.Result()
	require.NoError(t, err)
	assert.Len(t, first.shares, 2)
	assert.Equal(t, merged.shares, second.shares)

	whole := fakeShare{runs: runsOf(10, 0, time.Millisecond)}.result(t)
	alone, err := Merge(whole)
	require.NoError(t, err)
	assert.Nil(t, alone.shares, "a whole run merged alone is itself: no shares")
	assert.NotContains(t, jsonOf(t, alone), `"shares"`)
}

// Merges of merges keep the rows of the original shares, through the
// JSON result, whatever the grouping.
func TestMergeOfMergesKeepsTheSharesRows(t *testing.T) {
	shares := threeShares(t)
	want := []shareRow{wantRow(shares[0]), wantRow(shares[1]), wantRow(shares[2])}
	viaJSON := func(r *Result) *Result {
		back, err := ReadResult(strings.NewReader(jsonOf(t, r)))
		require.NoError(t, err)
		return back
	}
	for _, groups := range [][][]int{{{0, 2}, {1}}, {{2}, {1, 0}}, {{0}, {1}, {2}}} {
		t.Run(fmt.Sprint(groups), func(t *testing.T) {
			var partials []*Result
			for _, g := range groups {
				var in []*Result
				for _, k := range g {
					in = append(in, shares[k])
				}
				p, err := MergePartial(in...)
				require.NoError(t, err)
				require.Len(t, p.shares, len(g))
				partials = append(partials, viaJSON(p))
			}
			merged, err := Merge(partials...)
			require.NoError(t, err)
			require.Len(t, merged.shares, 3)
			for i, w := range want {
				assert.True(t, w.Start.Equal(merged.shares[i].Start) && w.End.Equal(merged.shares[i].End), "share %d: times", i)
				w.Start, w.End = merged.shares[i].Start, merged.shares[i].End // the same instants, read back from JSON
				assert.Equal(t, w, merged.shares[i], "share %d", i)
			}
			again, err := Merge(viaJSON(merged))
			require.NoError(t, err)
			assert.Equal(t, merged.shares, again.shares, "a merged run merged alone keeps its rows")
		})
	}
}

// The rows go through the JSON result as "shares"; ReadResult refuses
// rows that do not name shares of the result's split.
func TestShareRowsJSON(t *testing.T) {
	shares := threeShares(t)
	merged, err := Merge(shares...)
	require.NoError(t, err)
	js := jsonOf(t, merged)
	assert.Contains(t, js, `"shares": [`)
	assert.Contains(t, js, `"segment": "1/3",`)
	assert.Contains(t, js, `"outcome": "thresholds"`, "share 1's own verdict")
	back, err := ReadResult(strings.NewReader(js))
	require.NoError(t, err)
	assert.Equal(t, js, jsonOf(t, back))
	require.Len(t, back.shares, 3)
	assert.Equal(t, shares[1].Started, back.shares[1].Started)
	assert.True(t, shares[1].Start.Equal(back.shares[1].Start))
	assert.NotContains(t, jsonOf(t, shares[0]), `"shares"`, "a share is no merge")

	partial, err := MergePartial(shares[0], shares[2])
	require.NoError(t, err)
	pjs := []byte(jsonOf(t, partial))
	for _, bad := range []struct{ from, to, msg string }{
		{`"segment": "2/3"`, `"segment": "2/4"`, `shares[1].segment "2/4" splits the run in 4, not in 3`},
		{`"segment": "0/3"`, `"segment": ""`, "shares[0].segment is empty"},
		{`"segment": "0/3"`, `"segment": "3/3"`, "shares[0].segment \"3/3\": share 3 is not below 3"},
	} {
		require.Contains(t, string(pjs), bad.from)
		_, err := ReadResult(bytes.NewReader(bytes.Replace(pjs, []byte(bad.from), []byte(bad.to), 1)))
		require.Error(t, err, bad.to)
		assert.ErrorIs(t, err, ErrResultFormat)
		assert.Contains(t, err.Error(), bad.msg)
	}
}

// The HTML report of a merge shows its segments, and a partial merge's
// names the segments it lacks.
func TestShareRowsInTheReport(t *testing.T) {
	shares := threeShares(t)
	partial, err := MergePartial(shares[2], shares[0])
	require.NoError(t, err)
	var page bytes.Buffer
	require.NoError(t, partial.WriteHTML(&page))
	assert.Contains(t, page.String(), "A partial merge: segment 1 of 3 missing")
	assert.Contains(t, page.String(), `<th scope="row">0/3</th>`)
	assert.Contains(t, page.String(), `<th scope="row">2/3</th>`)
	assert.NotContains(t, page.String(), `<th scope="row">1/3</th>`)
	assert.Contains(t, page.String(), "✘ interrupted", "share 2's own verdict")
}
