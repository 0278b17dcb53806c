package molotov

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonOf returns res as the JSON result: everything a result holds,
// histograms included.
func jsonOf(t *testing.T, res *Result) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, res.WriteJSON(&b))
	return b.String()
}

// assertSameResult checks that got is want, field by field through the
// JSON result, reporting the first difference only. The timeline's P50
// and P99 of a merge of merges may differ from those of one merge by the
// rounding of each merge to the nanosecond: they are compared within 1ns.
func assertSameResult(t *testing.T, want, got *Result) {
	t.Helper()
	if !assert.Len(t, got.Timeline, len(want.Timeline)) {
		return
	}
	g := *got
	g.Timeline = slices.Clone(got.Timeline)
	for i, w := range want.Timeline {
		p := &g.Timeline[i]
		assert.InDelta(t, w.P50, p.P50, 1, "second %d", i+1)
		assert.InDelta(t, w.P99, p.P99, 1, "second %d", i+1)
		p.P50, p.P99 = w.P50, w.P99
	}
	wl, gl := strings.Split(jsonOf(t, want), "\n"), strings.Split(jsonOf(t, &g), "\n")
	for i := range min(len(wl), len(gl)) {
		if wl[i] != gl[i] {
			t.Errorf("results differ at line %d of their JSON:\n%s\nwant %s\ngot  %s", i+1, strings.Join(wl[max(0, i-6):i], "\n"), wl[i], gl[i])
			return
		}
	}
	assert.Equal(t, len(wl), len(gl), "lines of JSON")
}

// split deals runs to k shares: round robin, in blocks (the slowest runs
// all in one share: runs sorted by latency, then cut in k), or at random.
func split(runs []fakeRun, k int, how string, rng *rand.Rand) [][]fakeRun {
	out := make([][]fakeRun, k)
	switch how {
	case "round robin":
		for i, r := range runs {
			out[i%k] = append(out[i%k], r)
		}
	case "by latency":
		sorted := slices.Clone(runs)
		slices.SortStableFunc(sorted, func(a, b fakeRun) int { return cmp.Compare(a.lat, b.lat) })
		for i, r := range sorted {
			out[i*k/len(sorted)] = append(out[i*k/len(sorted)], r)
		}
	default: // "at random"
		for _, r := range runs {
			i := rng.IntN(k)
			out[i] = append(out[i], r)
		}
	}
	return out
}

// The merge is exact: values split over k shares and merged give every
// percentile, the mean, the minimum and the maximum of one result holding
// them all, for the run, each scenario and each request, and every count.
func TestMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	runs := realisticRuns(rng, 20000)
	open := fakeOptions("p99 < 2s", "failure_rate < 5%")
	open.Rate, open.MaxWorkers, open.MaxLag = 400, 50, time.Second
	for _, opts := range []*runOptions{fakeOptions("p99 < 2s", "failure_rate < 5%"), open} {
		model := "closed"
		if opts.Rate > 0 {
			model = "open"
		}
		whole := fakeShare{opts: opts, runs: runs, workers: 48, busy: 20, dropped: 12}.result(t)
		for _, k := range []int{1, 2, 3, 7, 16} {
			for _, how := range []string{"round robin", "by latency", "at random"} {
				t.Run(fmt.Sprintf("%s/%d shares/%s", model, k, how), func(t *testing.T) {
					var shares []*Result
					for i, part := range split(runs, k, how, rng) {
						seg := fmt.Sprintf("%d/%d", i, k)
						if k == 1 {
							seg = ""
						}
						// Integer division splits workers and drops so that they add up.
						shares = append(shares, fakeShare{segment: seg, opts: opts, runs: part,
							workers: 48*(i+1)/k - 48*i/k, busy: 20*(i+1)/k - 20*i/k, dropped: int64(12*(i+1)/k - 12*i/k)}.result(t))
					}
					merged, err := Merge(shares...)
					require.NoError(t, err)

					assert.Equal(t, whole.latency, merged.latency, "run latency: min, mean, p50, p90, p95, p99, p999, max")
					assert.Equal(t, whole.all, merged.all, "run histogram")
					assert.Equal(t, whole.all.Quantile(0.9999), merged.all.Quantile(0.9999))
					for name, want := range whole.Scenarios {
						assert.Equal(t, want, merged.Scenarios[name], "scenario %s: counts, latency, service time and histograms", name)
					}
					assert.Equal(t, whole.Requests, merged.Requests, "requests: counts, errors, status, latency and histograms")
					assert.Equal(t, whole.Errors, merged.Errors)
					for _, f := range []struct {
						name       string
						got, wantV int64
					}{
						{"started", merged.Started, whole.Started}, {"ok", merged.OK, whole.OK}, {"failed", merged.Failed, whole.Failed},
						{"scheduled", merged.Scheduled, whole.Scheduled}, {"dropped", merged.Dropped, whole.Dropped},
						{"max workers", int64(merged.MaxWorkers), int64(whole.MaxWorkers)},
						{"peak busy", int64(merged.PeakBusy), int64(whole.PeakBusy)},
					} {
						assert.Equal(t, f.wantV, f.got, f.name)
					}
					require.Len(t, merged.Timeline, len(whole.Timeline))
					for i, p := range merged.Timeline {
						w := whole.Timeline[i]
						assert.Equal(t, [5]int64{int64(w.Second), w.OK, w.Failed, int64(w.Workers), int64(w.Busy)},
							[5]int64{int64(p.Second), p.OK, p.Failed, int64(p.Workers), int64(p.Busy)}, "second %d", i+1)
					}
					assert.Equal(t, whole.Thresholds, merged.Thresholds)
					assert.Equal(t, whole.Outcome(), merged.Outcome())
					assert.Equal(t, "", merged.Segment)
					assert.False(t, merged.Partial)
					if k == 1 {
						assertSameResult(t, whole, merged) // a whole run merged alone is itself
						assert.Equal(t, whole.Timeline, merged.Timeline)
					}
				})
			}
		}
	}
}

// runsOf returns n runs of scenario browse at lat, the first failed of
// them failing, spread over the first seconds.
func runsOf(n, failed int, lat time.Duration) []fakeRun {
	runs := make([]fakeRun, n)
	for i := range runs {
		runs[i] = fakeRun{scenario: "browse", request: "GET /", lat: lat, at: time.Duration(i%9) * time.Second, status: 200}
		if i < failed {
			runs[i].err, runs[i].status = "boom", 500
		}
	}
	return runs
}

// The run's thresholds and its failure budget are judged on the merged
// figures, whatever each share's own verdict was: counts and rates add up
// across shares, and a share's latencies or failures weigh with its size.
func TestMergeJudgesTheWholeRun(t *testing.T) {
	fast, slow := 10*time.Millisecond, 800*time.Millisecond
	tests := []struct {
		name        string
		threshold   string
		maxFailures int
		a, b        []fakeRun
		sharesPass  [2]bool
		mergedPass  bool
		outcome     Outcome
	}{
		{name: "each under a failure count, not the sum", threshold: "failed < 5",
			a: runsOf(100, 3, fast), b: runsOf(100, 3, fast), sharesPass: [2]bool{true, true}, mergedPass: false},
		{name: "each short of a run count, not the sum", threshold: "ok > 150",
			a: runsOf(100, 0, fast), b: runsOf(100, 0, fast), sharesPass: [2]bool{false, false}, mergedPass: true},
		{name: "each short of a request rate, not the sum", threshold: "rps >= 15",
			a: runsOf(100, 0, fast), b: runsOf(100, 0, fast), sharesPass: [2]bool{false, false}, mergedPass: true},
		// p99 of 1,010 runs is the 1,000th: fast, although the small
		// share's own p99 is slow.
		{name: "p99: a small share's slow runs are under 1% of the run", threshold: "p99 < 100ms",
			a: runsOf(1000, 0, fast), b: append(runsOf(5, 0, fast), runsOf(5, 0, slow)...), sharesPass: [2]bool{true, false}, mergedPass: true},
		{name: "p99: a large share's slow runs are over 1% of the run", threshold: "p99 < 100ms",
			a: runsOf(100, 0, fast), b: append(runsOf(970, 0, fast), runsOf(30, 0, slow)...), sharesPass: [2]bool{true, false}, mergedPass: false},
		// 2 failures in 1,020 runs: 0.2%.
		{name: "failure_rate: a small share's failures are under 1% of the run", threshold: "failure_rate < 1%",
			a: runsOf(1000, 0, fast), b: runsOf(20, 2, fast), sharesPass: [2]bool{true, false}, mergedPass: true},
		{name: "failure_rate: a large share's failures are over 1% of the run", threshold: "failure_rate < 1%",
			a: runsOf(100, 0, fast), b: runsOf(1000, 20, fast), sharesPass: [2]bool{true, false}, mergedPass: false},
		{name: "MaxFailures: each share under the budget, the run over it", threshold: "p99 < 1s", maxFailures: 5,
			a: runsOf(100, 3, fast), b: runsOf(100, 3, fast), sharesPass: [2]bool{true, true}, mergedPass: true, outcome: OutcomeFailures},
		{name: "MaxFailures: the run within the budget", threshold: "p99 < 1s", maxFailures: 7,
			a: runsOf(100, 3, fast), b: runsOf(100, 3, fast), sharesPass: [2]bool{true, true}, mergedPass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fakeOptions(tt.threshold)
			opts.MaxFailures = tt.maxFailures
			if tt.maxFailures == 0 {
				opts.MaxFailures = 1000 // failures are the thresholds' to judge
			}
			a := fakeShare{segment: "0/2", opts: opts, runs: tt.a}.result(t)
			b := fakeShare{segment: "1/2", opts: opts, runs: tt.b}.result(t)
			for i, share := range []*Result{a, b} {
				require.Len(t, share.Thresholds, 1)
				require.Equal(t, tt.sharesPass[i], share.Thresholds[0].Pass, "share %d alone: %v", i, share.Thresholds[0])
			}
			if tt.maxFailures > 0 {
				require.Equal(t, OutcomePassed, a.Outcome(), "each share alone is within the budget")
				require.Equal(t, OutcomePassed, b.Outcome())
			}
			merged, err := Merge(a, b)
			require.NoError(t, err)
			require.Len(t, merged.Thresholds, 1)
			assert.Equal(t, tt.threshold, merged.Thresholds[0].Expr)
			assert.Equal(t, tt.mergedPass, merged.Thresholds[0].Pass, "merged: %v", merged.Thresholds[0])
			want := tt.outcome
			if want == "" {
				want = OutcomeThresholds
				if tt.mergedPass {
					want = OutcomePassed
				}
			}
			assert.Equal(t, want, merged.Outcome())
			assert.Equal(t, want == OutcomePassed, merged.Passed())

			// The verdict survives the JSON result.
			back, err := ReadResult(bytes.NewReader([]byte(jsonOf(t, merged))))
			require.NoError(t, err)
			assert.Equal(t, merged.Thresholds, back.Thresholds)
			assert.Equal(t, want, back.Outcome())
		})
	}
}

// Every input Merge cannot take is refused with a *MergeError that names
// the result and the field, and no input is changed.
func TestMergeRefuses(t *testing.T) {
	share := func(seg string, edit ...func(*fakeShare)) *Result {
		f := fakeShare{segment: seg, runs: runsOf(10, 1, time.Millisecond)}
		for _, e := range edit {
			e(&f)
		}
		return f.result(t)
	}
	otherOpts := func(change func(*runOptions)) func(*fakeShare) {
		return func(f *fakeShare) {
			f.opts = fakeOptions()
			change(f.opts)
		}
	}
	tests := []struct {
		name    string
		results []*Result
		partial bool   // MergePartial
		who     string // MergeError.Result
		field   string
		msg     string
	}{
		{name: "no result", results: nil, msg: "no results to merge"},
		{name: "a nil result", results: []*Result{share("0/2"), nil}, who: "results[1]", msg: "nil"},
		{name: "a run in progress", results: []*Result{share("0/2"), func() *Result { r := share("1/2"); r.StopReason = ""; return r }()},
			who: "results[1]", field: "stop_reason", msg: "run in progress"},
		{name: "no start", results: []*Result{func() *Result { r := share("0/2"); r.Start = time.Time{}; return r }()},
			who: "results[0]", field: "start", msg: "finished runs"},
		{name: "other workers", results: []*Result{share("0/2"), share("1/2", otherOpts(func(o *runOptions) { o.Workers = 9 }))},
			who: "results[1]", field: "options.workers", msg: "9 here, 4 in results[0]: these are results of different runs"},
		{name: "other thresholds", results: []*Result{share("0/2"), share("1/2", otherOpts(func(o *runOptions) { o.Thresholds = []string{"p99<1s"} }))},
			who: "results[1]", field: "options.thresholds", msg: `["p99<1s"] here, [] in results[0]`},
		{name: "other base URL", results: []*Result{share("0/2"), share("1/2", otherOpts(func(o *runOptions) { o.BaseURL = "http://127.0.0.1:9" }))},
			who: "results[1]", field: "options.base_url", msg: `"http://127.0.0.1:9" here`},
		{name: "another aligned start", results: []*Result{share("0/2"), share("1/2", otherOpts(func(o *runOptions) { o.StartAt = "2026-12-05T10:00:00Z" }))},
			who: "results[1]", field: "options.start_at", msg: `"2026-12-05T10:00:00Z" here`},
		{name: "options missing", results: []*Result{share("0/2"), func() *Result { r := share("1/2"); r.opts = nil; return r }()},
			who: "results[1]", field: "options", msg: "missing here, present in results[0]"},
		{name: "another scenario", results: []*Result{share("0/2"), func() *Result {
			r := share("1/2")
			r.Scenarios["pay"] = r.Scenarios["buy"]
			return r
		}()}, who: "results[1]", field: "scenarios", msg: `has scenario "pay", which results[0] has not`},
		{name: "a scenario less", results: []*Result{share("0/2"), func() *Result { r := share("1/2"); delete(r.Scenarios, "buy"); return r }()},
			who: "results[1]", field: "scenarios", msg: `lacks scenario "buy"`},
		{name: "the same share twice", results: []*Result{share("0/3"), share("1/3"), share("1/3")},
			who: "results[2]", field: "segment", msg: "share 1/3 is also in results[1]"},
		{name: "a whole run twice", results: []*Result{share(""), share("")},
			who: "results[1]", field: "segment", msg: "the whole run is also in results[0]"},
		{name: "shares of two splits", results: []*Result{share("0/4"), share("1/3")},
			who: "results[1]", field: "segment", msg: `"1/3" splits the run in 3, but results[0]'s "0/4" splits it in 4`},
		{name: "a whole run and a share", results: []*Result{share(""), share("1/3")},
			who: "results[1]", field: "segment", msg: `"1/3" splits the run in 3, but results[0]'s "" splits it in 1`},
		{name: "a share missing", results: []*Result{share("0/3"), share("2/3")},
			field: "segment", msg: "no result covers share 1/3: the results given (results[0], results[1]) cover 0,2/3; add the results of the missing shares, or merge partially"},
		{name: "shares missing", results: []*Result{share("1/8")},
			field: "segment", msg: "no result covers shares 0,2-7/8: the results given (results[0]) cover 1/8"},
		{name: "a share missing from merges", results: []*Result{func() *Result { r, _ := MergePartial(share("0/4"), share("1/4")); return r }(), share("3/4")},
			field: "segment", msg: "no result covers share 2/4"},
		{name: "a share in a merge and alone", results: []*Result{func() *Result { r, _ := MergePartial(share("0/4"), share("1/4")); return r }(), share("1/4")},
			partial: true, who: "results[1]", field: "segment", msg: "share 1/4 is also in results[0]"},
		{name: "a bad segment", results: []*Result{share("4/4")}, who: "results[0]", field: "segment", msg: "share 4 is not below 4"},
		{name: "partial without a segment", results: []*Result{func() *Result { r := share(""); r.Partial = true; return r }()},
			who: "results[0]", field: "partial", msg: "segment is empty"},
		{name: "no histogram", results: []*Result{share("0/2"), func() *Result { r := share("1/2"); r.Scenarios["browse"].hist = nil; return r }()},
			who: "results[1]", field: "scenarios.browse.latency.histogram", msg: "cannot be merged exactly"},
		{name: "a threshold that does not parse", results: []*Result{func() *Result { r := share("0/1"); r.opts.Thresholds = []string{"p99 <"}; return r }()},
			who: "results[0]", field: "options.thresholds", msg: "expected a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := make([]string, len(tt.results))
			for i, r := range tt.results {
				if r != nil {
					before[i] = jsonOf(t, r)
				}
			}
			merge := Merge
			if tt.partial {
				merge = MergePartial
			}
			res, err := merge(tt.results...)
			require.Error(t, err)
			assert.Nil(t, res)
			var me *MergeError
			require.True(t, errors.As(err, &me), "%T: %v", err, err)
			assert.Equal(t, tt.who, me.Result, "%v", err)
			assert.Equal(t, tt.field, me.Field, "%v", err)
			assert.Contains(t, err.Error(), tt.msg)
			for i, r := range tt.results {
				if r != nil {
					assert.Equal(t, before[i], jsonOf(t, r), "results[%d] changed", i)
				}
			}
		})
	}
}

// Merges merge again: partial merges of some shares, written as JSON and
// read back, merge into the whole run, the same as merging every share at
// once, whatever the grouping.
func TestMergeOfMerges(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	runs := realisticRuns(rng, 4000)
	parts := split(runs, 4, "at random", rng)
	shares := make([]*Result, 4)
	for i := range shares {
		shares[i] = fakeShare{segment: fmt.Sprintf("%d/4", i), runs: parts[i], start: fakeStart.Add(time.Duration(i) * 70 * time.Millisecond)}.result(t)
	}
	all, err := Merge(shares...)
	require.NoError(t, err)
	tests := []struct {
		name     string
		groups   [][]int // merged partially first, each
		segments []string
	}{
		{"two halves", [][]int{{0, 1}, {2, 3}}, []string{"0-1/4", "2-3/4"}},
		{"odd and even", [][]int{{0, 2}, {1, 3}}, []string{"0,2/4", "1,3/4"}},
		{"a merge and two shares", [][]int{{3, 0, 1}, {2}}, []string{"0-1,3/4", "2/4"}},
		{"a merge of one", [][]int{{1}, {0}, {2}, {3}}, []string{"1/4", "0/4", "2/4", "3/4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var partials []*Result
			for i, g := range tt.groups {
				var in []*Result
				for _, k := range g {
					in = append(in, shares[k])
				}
				p, err := MergePartial(in...)
				require.NoError(t, err)
				assert.Equal(t, tt.segments[i], p.Segment)
				assert.True(t, p.Partial)
				back, err := ReadResult(bytes.NewReader([]byte(jsonOf(t, p))))
				require.NoError(t, err)
				partials = append(partials, back)
			}
			got, err := Merge(partials...)
			require.NoError(t, err)
			assert.Equal(t, "", got.Segment)
			assert.False(t, got.Partial)
			assertSameResult(t, all, got)
		})
	}
	// Merging partially what is all there is a complete merge.
	got, err := MergePartial(shares...)
	require.NoError(t, err)
	assertSameResult(t, all, got)
}

// Segment and Partial go through the JSON result, and files written
// before they existed still read, as whole runs.
func TestMergeSegmentJSON(t *testing.T) {
	for _, tt := range []struct {
		segment string
		partial bool
		json    string // in the file
	}{
		{"", false, ""},
		{"2/4", false, `"segment": "2/4"`},
		{"0-1,3/8", true, `"segment": "0-1,3/8",` + "\n" + `  "partial": true`},
	} {
		t.Run(tt.segment, func(t *testing.T) {
			r := fakeShare{segment: tt.segment, runs: runsOf(5, 0, time.Millisecond)}.result(t)
			r.Partial = tt.partial
			js := jsonOf(t, r)
			if tt.json == "" {
				assert.NotContains(t, js, `"segment"`)
				assert.NotContains(t, js, `"partial"`)
			} else {
				assert.Contains(t, js, tt.json)
			}
			back, err := ReadResult(bytes.NewReader([]byte(js)))
			require.NoError(t, err)
			assert.Equal(t, tt.segment, back.Segment)
			assert.Equal(t, tt.partial, back.Partial)
			assert.Equal(t, js, jsonOf(t, back))
		})
	}
	old, err := os.ReadFile(filepath.Join("cmd", "molotov", "testdata", "old.json"))
	require.NoError(t, err)
	require.NotContains(t, string(old), `"segment"`)
	r, err := ReadResult(bytes.NewReader(old))
	require.NoError(t, err)
	assert.Equal(t, "", r.Segment)
	assert.False(t, r.Partial)

	for _, bad := range []struct{ from, to, msg string }{
		{`"version": 1,`, `"version": 1, "segment": "4/4",`, "share 4 is not below 4"},
		{`"version": 1,`, `"version": 1, "segment": "1/0",`, "not a number of shares"},
		{`"version": 1,`, `"version": 1, "segment": "two/4",`, "not a share number"},
		{`"version": 1,`, `"version": 1, "partial": true,`, "segment is empty"},
	} {
		_, err := ReadResult(bytes.NewReader(bytes.Replace(old, []byte(bad.from), []byte(bad.to), 1)))
		require.Error(t, err, bad.to)
		assert.ErrorIs(t, err, ErrResultFormat)
		assert.Contains(t, err.Error(), bad.msg)
	}
}

// The timeline is aligned by wall clock: a share that started later has
// its seconds placed later, to the nearest second; its runs and workers
// are summed, its P50 and P99 averaged by runs.
func TestMergeTimelineByWallClock(t *testing.T) {
	at := func(sec int, n int, lat time.Duration) []fakeRun {
		runs := make([]fakeRun, n)
		for i := range runs {
			runs[i] = fakeRun{scenario: "browse", lat: lat, at: time.Duration(sec)*time.Second + 500*time.Millisecond}
		}
		return runs
	}
	a := fakeShare{segment: "0/3", elapsed: 3 * time.Second, workers: 1,
		runs: append(at(0, 10, 10*time.Millisecond), at(2, 30, 10*time.Millisecond)...)}.result(t)
	// 400ms later: the same seconds as a.
	b := fakeShare{segment: "1/3", elapsed: 3 * time.Second, workers: 2, start: fakeStart.Add(400 * time.Millisecond),
		runs: append(at(0, 30, 50*time.Millisecond), at(2, 10, 50*time.Millisecond)...)}.result(t)
	// 2.6s later: its first second is the run's fourth.
	c := fakeShare{segment: "2/3", elapsed: 2 * time.Second, workers: 4, start: fakeStart.Add(2600 * time.Millisecond),
		runs: at(0, 5, 20*time.Millisecond)}.result(t)
	merged, err := Merge(c, a, b)
	require.NoError(t, err)
	assert.Equal(t, fakeStart, merged.Start)
	assert.Equal(t, fakeStart.Add(4600*time.Millisecond), merged.End)
	assert.Equal(t, 4600*time.Millisecond, merged.Elapsed)
	want := []TimelinePoint{
		{Second: 1, OK: 40, Workers: 3, P50: 40 * time.Millisecond, P99: 40 * time.Millisecond}, // (10×10ms + 30×50ms) / 40
		{Second: 2, Workers: 3},
		{Second: 3, OK: 40, Workers: 3, P50: 20 * time.Millisecond, P99: 20 * time.Millisecond}, // (30×10ms + 10×50ms) / 40
		{Second: 4, OK: 5, Workers: 4, P50: 20 * time.Millisecond, P99: 20 * time.Millisecond},
		{Second: 5, Workers: 4},
	}
	require.Len(t, merged.Timeline, len(want))
	for i, w := range want {
		p := merged.Timeline[i]
		assert.Equal(t, [4]int64{int64(w.Second), w.OK, w.Failed, int64(w.Workers)}, [4]int64{int64(p.Second), p.OK, p.Failed, int64(p.Workers)}, "second %d", i+1)
		// The shares' own percentiles are within 0.4% (histogram buckets).
		assert.InEpsilon(t, float64(w.P50+1), float64(p.P50+1), 0.005, "second %d p50", i+1)
		assert.InEpsilon(t, float64(w.P99+1), float64(p.P99+1), 0.005, "second %d p99", i+1)
	}
}

// Sizing is judged on the whole run: two shares that each stay under the
// tolerance in their windows pass it together, and the merged result says
// when, and with how many workers.
func TestMergeJudgesSizing(t *testing.T) {
	opts := fakeOptions()
	opts.Sizing, opts.SizingTolerance, opts.MaxFailures = true, 5, 1000
	share := func(seg string, failedAt4 int) *Result {
		var runs []fakeRun
		for sec := range 10 {
			for i := range 60 {
				r := fakeRun{scenario: "buy", lat: time.Millisecond, at: time.Duration(sec) * time.Second}
				if sec >= 4 && i < failedAt4 {
					r.err = "boom"
				}
				runs = append(runs, r)
			}
		}
		return fakeShare{segment: seg, opts: opts, workers: 3, runs: runs}.result(t)
	}
	merged, err := Merge(share("0/2", 0), share("1/2", 40))
	require.NoError(t, err)
	// Seconds 1 to 4: 480 runs, none failed; second 5 brings 40 failures
	// over 560 successes: 7.1% > 5%.
	assert.Equal(t, 6, merged.MaxWorkers, "the workers of both shares at the second the tolerance was passed")
	assert.InDelta(t, 40.0/560*100, merged.SizingRatio, 1e-9)

	calm, err := Merge(share("0/2", 0), share("1/2", 1))
	require.NoError(t, err)
	assert.Zero(t, calm.SizingRatio, "1 failure per second in 120 runs is under 5%")
	assert.Equal(t, 6, calm.MaxWorkers)
}

func TestMoreTellingStopReason(t *testing.T) {
	for _, tt := range []struct {
		in   []StopReason
		want StopReason
	}{
		{[]StopReason{StopDuration, StopDuration}, StopDuration},
		{[]StopReason{StopDuration, StopMaxRuns}, StopDuration},
		{[]StopReason{StopMaxRuns, StopCancelled, StopThreshold}, StopCancelled},
		{[]StopReason{StopDuration, StopMaxFailures}, StopMaxFailures},
		{[]StopReason{"from-the-future", StopDuration}, StopDuration},
	} {
		var got StopReason
		for _, r := range tt.in {
			got = moreTelling(got, r)
		}
		assert.Equal(t, tt.want, got, "%v", tt.in)
	}
}

// A Merger takes results one at a time, refuses a bad one without losing
// what it has, and gives the merged result again after more are added.
func TestMerger(t *testing.T) {
	s0 := fakeShare{segment: "0/2", runs: runsOf(10, 1, time.Millisecond)}.result(t)
	s1 := fakeShare{segment: "1/2", runs: runsOf(20, 2, 2*time.Millisecond)}.result(t)
	var m Merger
	require.NoError(t, m.Add("a.json", s0))
	_, err := m.Result()
	var me *MergeError
	require.ErrorAs(t, err, &me)
	assert.Contains(t, me.Msg, "the results given (a.json) cover 0/2")
	err = m.Add("again.json", s0)
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "again.json", me.Result)
	assert.Contains(t, me.Msg, "share 0/2 is also in a.json")
	require.NoError(t, m.Add("b.json", s1))
	got, err := m.Result()
	require.NoError(t, err)
	want, err := Merge(s0, s1)
	require.NoError(t, err)
	assertSameResult(t, want, got)
	assert.EqualValues(t, 30, got.OK+got.Failed)
	got.Requests["GET /"].Status[200] = -1 // the merged result is the caller's
	again, err := m.Result()
	require.NoError(t, err)
	assertSameResult(t, want, again)
}

// End to end: real runs against a local server, given segments, written
// as JSON results and read back, merge into their sum; a real run merged
// alone is itself; Compare and the console summary read the merge like
// any result.
func TestMergeRealRuns(t *testing.T) {
	dir, srv := t.TempDir(), teapotServer(t)
	var shares []*Result
	for i := range 3 {
		res := jsonRunAt(t, "", srv.URL)
		res.Segment = fmt.Sprintf("%d/3", i)
		file := filepath.Join(dir, fmt.Sprintf("share%d.json", i))
		require.NoError(t, os.WriteFile(file, []byte(jsonOf(t, res)), 0o600))
		f, err := os.Open(file)
		require.NoError(t, err)
		back, err := ReadResult(f)
		f.Close()
		require.NoError(t, err)
		require.Equal(t, res.Segment, back.Segment)
		shares = append(shares, back)
	}
	merged, err := Merge(shares...)
	require.NoError(t, err)

	var ok, failed, requests, teapots int64
	workers := 0
	for _, s := range shares {
		ok, failed, requests = ok+s.OK, failed+s.Failed, requests+s.requestCount()
		teapots += s.Requests["GET /teapot"].Status[418]
		workers += s.MaxWorkers
	}
	assert.EqualValues(t, 180, merged.Started, "3 runs of 3 workers × 20 runs")
	assert.Equal(t, ok, merged.OK)
	assert.Equal(t, failed, merged.Failed)
	assert.Equal(t, merged.OK+merged.Failed, merged.all.Count, "every run is in the histogram once")
	assert.Equal(t, requests, merged.requestCount())
	assert.Equal(t, teapots, merged.Requests["GET /teapot"].Status[418])
	assert.Equal(t, workers, merged.MaxWorkers, "the shares' most workers at once, summed")
	assert.Equal(t, shares[0].Start, merged.Start)
	assert.Equal(t, shares[2].End, merged.End)
	var timelineRuns int64
	for _, p := range merged.Timeline {
		timelineRuns += p.OK + p.Failed
	}
	assert.Equal(t, merged.OK+merged.Failed, timelineRuns)
	require.Len(t, merged.Thresholds, 3)
	assert.Equal(t, float64(merged.Failed)/float64(merged.OK+merged.Failed), merged.Thresholds[1].Value, "failure_rate judged on the merge")
	assert.Equal(t, OutcomeThresholds, merged.Outcome(), "failure_rate < 1% broke on the merge, and it judges the failures")

	alone, err := Merge(jsonRun(t, ""))
	require.NoError(t, err)
	back, err := ReadResult(strings.NewReader(jsonOf(t, alone)))
	require.NoError(t, err)
	assertSameResult(t, alone, back)

	c := Compare(merged, back, 0.1)
	assert.NotEmpty(t, c.Rows)
	assert.Equal(t, summaryOf(merged).OK, merged.OK)
}
