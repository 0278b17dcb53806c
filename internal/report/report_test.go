package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/hist"
	"github.com/molotov-go/molotov/internal/resultjson"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The data a page embeds, for fixed JSON results of real runs: a closed
// run that passed, an open run with dropped starts and failures within
// its budget, an open run whose few workers fell behind a rising rate,
// so that its starts began late, a run that broke thresholds, one where
// every worker's setup failed, so that no scenario ran, and the merge of
// a closed run split in 4 shares, one of which broke the thresholds on
// its own, and of 3 of them; and an open run whose pool of 20 had at most
// a few busy at once.
func TestGolden(t *testing.T) {
	for _, name := range []string{"closed", "open-drops", "open-lag", "thresholds", "no-runs", "merged", "merged-partial", "open-pool"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			require.NoError(t, err)
			run, err := Decode(data, name+".json")
			require.NoError(t, err)
			got, err := json.MarshalIndent(NewPage([]*Run{run}, nil), "", "  ")
			require.NoError(t, err)
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got)+"\n", "run go test -run TestGolden -update and review the diff")
		})
	}
}

// What the goldens hold, checked against the results themselves, so that
// a wrong golden cannot pass unnoticed.
func TestDecodeFigures(t *testing.T) {
	decode := func(name string) (*Run, *result) {
		data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		require.NoError(t, err)
		var r result
		require.NoError(t, json.Unmarshal(data, &r))
		run, err := Decode(data, name)
		require.NoError(t, err)
		return run, &r
	}

	t.Run("closed run that passed", func(t *testing.T) {
		run, r := decode("closed")
		assert.True(t, run.Verdict.Passed)
		assert.Equal(t, fmt.Sprintf("Passed: %s scenario runs in %s, none failed", count(r.OK), dur(r.Elapsed)), run.Verdict.Headline)
		assert.False(t, run.Open)
		assert.Nil(t, run.Timeline.Target, "no target rate in the closed model")
		assert.Len(t, run.Timeline.T, len(r.Timeline))
		// Every whole second's rate is its count.
		for i, p := range r.Timeline[:len(r.Timeline)-1] {
			assert.InDelta(t, float64(p.OK), *run.Timeline.OK[i], float64(p.OK)/1000+1e-9)
		}
		assert.Len(t, run.Scenarios, len(r.Scenarios))
		assert.Len(t, run.Requests, len(r.Requests))
	})

	t.Run("open run with dropped starts", func(t *testing.T) {
		run, r := decode("open-drops")
		require.True(t, run.Open)
		require.Positive(t, r.Dropped)
		var dropped float64
		for i, d := range run.Timeline.Dropped {
			if d != nil && i < len(r.Timeline)-1 {
				dropped += *d
			}
		}
		assert.Positive(t, dropped, "the dropped starts show over time")
		// The stages ramp 0 → 100/s over 2 s, then 100 → 300/s over 2 s.
		assert.Equal(t, []float64{25, 75, 150, 250, 300}, run.Timeline.Target)
		assert.Equal(t, []float64{2, 4}, run.Stages)
		for _, s := range run.Scenarios {
			if s.Curve != nil {
				assert.NotNil(t, s.ServiceCurve, "scenario %s: the open model shows the service time beside", s.Name)
				assert.Len(t, s.Service, 4)
			}
		}
		assert.Contains(t, strings.Join(run.Verdict.Notes, "\n"), fmt.Sprintf("%s of %s scheduled starts were dropped", count(r.Dropped), count(r.Scheduled)))
	})

	t.Run("thresholds broke", func(t *testing.T) {
		run, r := decode("thresholds")
		assert.False(t, run.Verdict.Passed)
		var broken []string
		for _, th := range r.Thresholds {
			if !th.Pass {
				broken = append(broken, th.Expr)
			}
		}
		require.NotEmpty(t, broken)
		assert.Equal(t, fmt.Sprintf("Failed: %d of %d thresholds broke", len(broken), len(r.Thresholds)), run.Verdict.Headline)
		require.Len(t, run.Verdict.Reasons, len(broken), "failures are within MaxFailures: only thresholds")
		for i, expr := range broken {
			assert.True(t, strings.HasPrefix(run.Verdict.Reasons[i], "Threshold "+expr+" broke: measured "), run.Verdict.Reasons[i])
		}
	})

	t.Run("merge of 4 shares", func(t *testing.T) {
		run, r := decode("merged")
		assert.True(t, run.Verdict.Passed, "the whole run passed, though share 3 broke its thresholds")
		assert.Equal(t, fmt.Sprintf("Passed: %s scenario runs in %s, %s failed, within the thresholds, 2 thresholds held", count(r.OK+r.Failed), dur(r.Elapsed), count(r.Failed)),
			run.Verdict.Headline, "failure_rate judges the failures: there is no MaxFailures to be under")
		assert.Empty(t, run.Verdict.Notes, "a complete merge is the whole run")
		require.Len(t, r.Shares, 4)
		require.Len(t, run.Segments, 4)
		var ended, failed int64
		for i, s := range run.Segments {
			row := r.Shares[i]
			assert.Equal(t, fmt.Sprintf("%d/4", i), s.Segment)
			assert.Equal(t, row.Outcome == "passed", s.Passed, s.Segment)
			assert.Equal(t, []string{
				"+" + dur(row.Start.Sub(r.Start)), dur(row.End.Sub(row.Start)), count(row.OK + row.Failed),
				count(row.Failed) + " (" + pct(row.Failed, row.OK+row.Failed) + ")", "-", fmt.Sprint(row.MaxWorkers),
				"-", "duration", outcomeWords[row.Outcome], // written before the CPU was measured
			}, s.Cells, s.Segment)
			ended, failed = ended+row.OK+row.Failed, failed+row.Failed
		}
		assert.Equal(t, r.OK+r.Failed, ended, "the shares' runs add up to the run's")
		assert.Equal(t, r.Failed, failed)
		assert.Equal(t, []bool{true, true, true, false}, []bool{run.Segments[0].Passed, run.Segments[1].Passed, run.Segments[2].Passed, run.Segments[3].Passed})
		assert.Equal(t, "✘ thresholds broke", run.Segments[3].Cells[8])
		assert.Empty(t, run.MissingSegments)
	})

	t.Run("partial merge", func(t *testing.T) {
		run, r := decode("merged-partial")
		require.Equal(t, "0-1,3/4", r.Segment)
		assert.Equal(t, "segment 2 of 4", run.MissingSegments)
		assert.Contains(t, run.Verdict.Notes, "A partial merge: segment 2 of 4 missing, so the figures and the verdict cover the other segments only.")
		assert.Equal(t, []string{"0/4", "1/4", "3/4"}, []string{run.Segments[0].Segment, run.Segments[1].Segment, run.Segments[2].Segment})
		var page bytes.Buffer
		require.NoError(t, Write(&page, NewPage([]*Run{run}, nil)))
		assert.Contains(t, page.String(), "<li>A partial merge: segment 2 of 4 missing,", "the verdict names the missing segment")
		assert.Contains(t, page.String(), `<p class="muted">Missing: segment 2 of 4.</p>`, "and so does the table of segments")
		for _, seg := range []string{"0/4", "1/4", "3/4"} {
			assert.Contains(t, page.String(), `<th scope="row">`+seg+`</th>`, "a row per segment merged")
		}
		assert.NotContains(t, page.String(), `<th scope="row">2/4</th>`)
	})

	t.Run("no scenario ran", func(t *testing.T) {
		run, _ := decode("no-runs")
		assert.False(t, run.Verdict.Passed)
		assert.Equal(t, "Failed: 2 workers failed their setup", run.Verdict.Headline)
		assert.Contains(t, run.Verdict.Notes, "No scenario run started: there is nothing to plot.")
		assert.Empty(t, run.Timeline.T)
		for _, s := range run.Scenarios {
			assert.Nil(t, s.Curve)
		}
	})
}

// The open model's start lag shows beside the starts scheduled and
// An open run that counted its busy workers shows them beside the pool,
// in the verdict's figures and second by second; a closed run and an
// open one written before they were counted show the pool alone.
func TestDecodeBusyWorkers(t *testing.T) {
	for _, tt := range []struct {
		name string
		busy bool
	}{
		{"closed", false},
		{"open-lag", false}, // written before busy workers were counted
		{"open-pool", true},
		{"example", true}, // its pool ran out
	} {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.name+".json"))
			require.NoError(t, err)
			var r result
			require.NoError(t, json.Unmarshal(data, &r))
			require.Equal(t, tt.busy, r.PeakBusy > 0, "the fixture")
			run, err := Decode(data, tt.name)
			require.NoError(t, err)
			var workers string
			for _, f := range run.Facts {
				if f.Label == "Workers" {
					workers = f.Value
				}
			}
			if !tt.busy {
				assert.Equal(t, fmt.Sprintf("%d at most", r.MaxWorkers), workers)
				assert.Nil(t, run.Timeline.Busy)
				return
			}
			assert.Equal(t, fmt.Sprintf("%d, at most %d busy at once", r.MaxWorkers, r.PeakBusy), workers)
			require.Len(t, run.Timeline.Busy, len(r.Timeline))
			peak := 0
			for i, p := range r.Timeline {
				assert.Equal(t, p.Busy, run.Timeline.Busy[i], "second %d", p.Second)
				peak = max(peak, p.Busy)
			}
			assert.Equal(t, r.PeakBusy, peak, "the run's peak is its busiest second's")
			exhausted := slices.Contains(run.Verdict.Notes, fmt.Sprintf("All %d workers were busy at once: raise MaxWorkers, or compare the latency with the service time to see whether the target slowed.", r.MaxWorkers))
			assert.Equal(t, r.PeakBusy >= r.MaxWorkers && r.Dropped > 0, exhausted, "the verdict's note on a pool that ran out: %q", run.Verdict.Notes)
		})
	}
}

// dropped, p50, p99 and max, and as a curve by percentile; a closed run,
// and an open one whose result does not record it, show none.
func TestDecodeStartLag(t *testing.T) {
	for _, tt := range []struct {
		name    string
		open    bool
		hasLag  bool // the result records the start lag
		lagNote bool // the page says so in the distribution's heading
	}{
		{"closed", false, false, false},
		{"thresholds", false, false, false},
		{"merged", false, false, false},
		{"open-drops", true, false, false}, // written before the start lag was measured
		{"open-lag", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.name+".json"))
			require.NoError(t, err)
			var r result
			require.NoError(t, json.Unmarshal(data, &r))
			require.Equal(t, tt.hasLag, r.StartLag != nil, "the fixture")
			run, err := Decode(data, tt.name)
			require.NoError(t, err)
			require.Equal(t, tt.open, run.Open)

			labels := make([]string, len(run.Facts))
			for i, f := range run.Facts {
				labels[i] = f.Label
			}
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, NewPage([]*Run{run}, nil)))
			page := markup(buf.String())
			assert.Equal(t, tt.lagNote, strings.Contains(page, "per scenario; and the open model's start lag"), "the distribution's heading")
			if !tt.hasLag {
				assert.NotContains(t, labels, "Start lag")
				assert.Nil(t, run.StartLag)
				assert.NotContains(t, strings.ToLower(page), "start lag")
				assert.NotContains(t, embeddedData(t, buf.String()), "start_lag")
				return
			}

			l := r.StartLag
			require.Positive(t, r.Started)
			require.Positive(t, l.Max)
			i := slices.Index(labels, "Start lag")
			require.Positive(t, i, "facts: %q", labels)
			assert.Equal(t, "Starts", labels[i-1], "beside the starts scheduled and dropped")
			want := fmt.Sprintf("p50 %s · p99 %s · max %s", dur(l.P50), dur(l.P99), dur(l.Max))
			assert.Equal(t, want, run.Facts[i].Value)
			assert.Contains(t, page, "<dt>Start lag</dt><dd>"+html.EscapeString(want)+"</dd>", "in the verdict's figures, without a script")

			c := run.StartLag
			require.NotNil(t, c, "the curve of the start lag")
			h, err := snapshotOf(l)
			require.NoError(t, err)
			assert.EqualValues(t, r.Started, h.Count, "one start lag per start")
			assert.Equal(t, curveOf(h), c)
			assert.Equal(t, sig(float64(l.Max)/1e6), c.Ms[len(c.Ms)-1], "the curve ends at the maximum")
			assert.InDelta(t, float64(l.P99)/1e6, c.Ms[2*pointsPerNine], float64(l.P99)/1e6/64, "nines 2 is the p99")
		})
	}
}

// A share of a distributed run, or a merge that lacked shares, says so:
// its figures are not the whole run's.
func TestDecodeSegments(t *testing.T) {
	base := `{"schema":"molotov-go/result","version":1,"outcome":"passed","started":1,"ok":1,`
	run, err := Decode([]byte(base+`"segment":"1/4"}`), "")
	require.NoError(t, err)
	assert.Contains(t, run.Verdict.Notes, "Segment 1/4 of a distributed run: the figures cover this share only.")
	run, err = Decode([]byte(base+`"partial":true}`), "")
	require.NoError(t, err)
	assert.Contains(t, run.Verdict.Notes, "A partial merge: some segments of the distributed run are missing, so the figures cover part of the run.")
	run, err = Decode([]byte(base+`"segment":""}`), "")
	require.NoError(t, err)
	assert.Empty(t, run.Verdict.Notes, "a whole run")
}

func TestMeasured(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	for _, tt := range []struct {
		expr string
		v    *float64
		want string
	}{
		{"p99 < 200ms", v(0.3125), "313ms"},
		{" p50<1s", v(1.5), "1.5s"},
		{"failure_rate < 1%", v(0.0123), "1.23%"},
		{"request(GET /x).error_rate < 0.01", v(0.5), "50%"},
		{"scenario(a.b).runs_per_s > 5", v(3.21), "3.2/s"},
		{"rps>=500", v(499.94), "499.9/s"},
		{"request(GET /x?a<b).count > 0", v(5), "5"},
		{"scenario(a).max <= 2s", v(0.000250), "250µs"},
		{"dropped == 0", v(17), "17"},
		{"p99 < 200ms", nil, "nothing measured"},
	} {
		assert.Equal(t, tt.want, measured(tt.expr, tt.v), tt.expr)
	}
}

// A curve is the histogram's quantiles, from the minimum to the maximum,
// as far as the count can tell.
func TestCurve(t *testing.T) {
	var h hist.Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	c := curveOf(h.Snapshot())
	require.NotNil(t, c)
	assert.Equal(t, 0.0, c.Nines[0])
	assert.Equal(t, 1.0, c.Ms[0], "the first point is the minimum")
	assert.Equal(t, 3.0, c.Nines[len(c.Nines)-1], "a thousand values tell up to 99.9%")
	assert.Equal(t, 1000.0, c.Ms[len(c.Ms)-1], "the last point is the maximum")
	assert.Len(t, c.Nines, 3*pointsPerNine+1)
	for i := 1; i < len(c.Ms); i++ {
		assert.GreaterOrEqual(t, c.Ms[i], c.Ms[i-1], "a percentile curve never falls")
		assert.Greater(t, c.Nines[i], c.Nines[i-1])
	}
	// Nines 1 and 2 are the 90th and 99th percentiles.
	assert.InDelta(t, 900, c.Ms[pointsPerNine], 900.0/128)
	assert.InDelta(t, 990, c.Ms[2*pointsPerNine], 990.0/128)

	assert.Nil(t, curveOf(nil))
	assert.Nil(t, curveOf(&hist.Snapshot{}))
	var one hist.Histogram
	one.Record(42 * time.Millisecond)
	assert.Equal(t, &Curve{Nines: []float64{0}, Ms: []float64{42}}, curveOf(one.Snapshot()))
}

func TestTarget(t *testing.T) {
	var o options
	require.NoError(t, json.Unmarshal([]byte(`{"rate": 50, "stages": [
		{"duration_ns": 10000000000, "rate": 100}, {"duration_ns": 10000000000, "rate": 100}, {"duration_ns": 5000000000, "rate": 0}]}`), &o))
	for _, tt := range []struct{ t, want float64 }{{0, 0}, {5, 50}, {10, 100}, {15, 100}, {22.5, 50}, {25, 0}, {40, 0}} {
		assert.InDelta(t, tt.want, o.target(tt.t), 1e-9, "at %vs", tt.t)
	}
	assert.Equal(t, []float64{10, 20}, stageEnds(&o, 24*time.Second), "stages that ended within the run")
	assert.Equal(t, 50.0, (&options{Rate: 50}).target(3), "no stages: the rate")
}

func TestDecodeRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "closed.json"))
	require.NoError(t, err)
	for _, tt := range []struct {
		name, data, msg string
	}{
		{"truncated", string(good[:len(good)/2]), "unexpected EOF"},
		{"foreign JSON", `{"name": "something else"}`, `schema ""`},
		{"not JSON", "<html></html>", "invalid character"},
		{"newer version", strings.Replace(string(good), `"version":1`, `"version":2`, 1), "version 2"},
		{"bucket out of range", `{"schema":"molotov-go/result","version":1,"scenarios":{"a":{"latency":{"histogram":{"scheme":"log-linear-128/v1","count":1,"buckets":[[99999,1]]}}}}}`, `scenario "a": histogram bucket [99999, 1] is out of range`},
		{"other histogram scheme", `{"schema":"molotov-go/result","version":1,"requests":{"GET /":{"latency":{"histogram":{"scheme":"hdr","count":0,"buckets":[]}}}}}`, `request "GET /": histogram scheme "hdr"`},
		{"start lag of another histogram scheme", `{"schema":"molotov-go/result","version":1,"scheduled":1,"start_lag":{"histogram":{"scheme":"hdr","count":0,"buckets":[]}}}`, `start lag: histogram scheme "hdr"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.data), "x.json")
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrFormat), "%v", err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// The page is one file: no script, style, image or font comes from
// elsewhere, and the data it embeds is the page's view model.
func TestPageIsSelfContained(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "open-drops.json"))
	require.NoError(t, err)
	run, err := Decode(data, "open-drops.json")
	require.NoError(t, err)
	p := NewPage([]*Run{run}, nil)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, p))
	page := buf.String()

	for _, ref := range []string{"src=", "href=", "url(", "@import", "<link", "<iframe", "<img"} {
		assert.NotContains(t, page, ref)
	}
	assert.Equal(t, embeddedData(t, page), mustJSON(t, p))
	assert.Contains(t, page, html.EscapeString(run.Verdict.Headline))
}

// Names and errors come from the load test and the target: they are
// text, never markup, in the tables and in the embedded data.
func TestPageEscapes(t *testing.T) {
	evil := `</script><script>alert(1)</script>`
	run := &Run{
		Label:     evil,
		Verdict:   Verdict{Headline: evil},
		Scenarios: []Scenario{{Name: evil, Cells: []string{evil}}},
		Errors:    []ErrorRow{{Count: 1, Error: evil}},
	}
	p := NewPage([]*Run{run}, nil)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, p))
	page := buf.String()
	assert.NotContains(t, page, evil)
	assert.Equal(t, 3, strings.Count(page, "<script"), "the data, uPlot and the page's script, nothing more")
	assert.Equal(t, embeddedData(t, page), mustJSON(t, p))
}

// A 10-minute run with 20 request names, every histogram bucket from a
// microsecond to ten seconds full, and 100 long errors: its page stays
// well under 2 MiB.
func TestPageSize(t *testing.T) {
	data := syntheticResult(t, 600, 20, 4)
	run, err := Decode(data, "big.json")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, NewPage([]*Run{run}, nil)))
	t.Logf("a 10-minute run with 20 request names: JSON result %d KiB, page %d KiB", len(data)>>10, buf.Len()>>10)
	assert.Less(t, buf.Len(), 2<<20)
	assert.Len(t, run.Requests, 20)
	assert.Len(t, run.Timeline.T, 600)
}

// syntheticResult writes the JSON result of an open-model run of the
// given seconds, request names and scenarios, every histogram full.
func syntheticResult(t *testing.T, seconds, names, scenarios int) []byte {
	t.Helper()
	full := func() *latency {
		l := &latency{P50: 20 * time.Millisecond, P90: 80 * time.Millisecond, P99: 300 * time.Millisecond, Max: 10 * time.Second}
		l.Histogram = &resultjson.Hist{Scheme: resultjson.HistScheme, Min: time.Microsecond, Max: 10 * time.Second}
		for i := hist.BucketIndex(int64(time.Microsecond)); i <= hist.BucketIndex(int64(10*time.Second)); i++ {
			l.Histogram.Buckets = append(l.Histogram.Buckets, [2]int64{int64(i), 1000})
			l.Histogram.Count += 1000
		}
		return l
	}
	r := result{Schema: resultjson.Schema, Version: resultjson.Version, Outcome: "passed", Passed: true,
		Elapsed: time.Duration(seconds) * time.Second, Started: 1e6, OK: 1e6, Scheduled: 1e6 + 10, Dropped: 10,
		Options:   &resultjson.Options{Rate: 2000, Stages: []resultjson.Stage{{Duration: time.Minute, Rate: 2000}}},
		Scenarios: map[string]scenario{}, Requests: map[string]request{}, Latency: full()}
	for i := range scenarios {
		r.Scenarios[fmt.Sprintf("scenario %d", i)] = scenario{OK: 1000, Latency: full(), ServiceTime: full()}
	}
	for i := range names {
		r.Requests[fmt.Sprintf("GET /api/v1/resource-%02d/{id}", i)] = request{Count: 1000, Status: map[string]int64{"200": 990, "503": 10}, Latency: full()}
	}
	for i := range 100 {
		r.Errors = append(r.Errors, resultjson.Error{Count: int64(100 - i), Error: fmt.Sprintf("error %d: %s", i, strings.Repeat("x", 200))})
	}
	for s := 1; s <= seconds; s++ {
		r.Timeline = append(r.Timeline, point{Second: s, OK: 1666, Failed: 1, P50: 20 * time.Millisecond, P90: 81 * time.Millisecond,
			P99: 299 * time.Millisecond, Workers: 40, Started: 1667, Dropped: int64(s % 3)})
	}
	data, err := json.Marshal(r)
	require.NoError(t, err)
	return data
}

// The vendored chart library is the one SHA256SUMS pins (vendor.sh
// refreshes both).
func TestVendoredChecksums(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join("uplot", "SHA256SUMS"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	require.Len(t, lines, 3)
	for _, line := range lines {
		want, name, ok := strings.Cut(line, "  ")
		require.True(t, ok, line)
		b, err := assets.ReadFile("uplot/" + name)
		require.NoError(t, err)
		got := sha256.Sum256(b)
		assert.Equal(t, want, hex.EncodeToString(got[:]), name)
	}
}

var scriptRE = regexp.MustCompile(`(?s)<script[^>]*>.*?</script>`)

// markup returns the page without its scripts: what it shows without
// them.
func markup(page string) string { return scriptRE.ReplaceAllString(page, "") }

var dataRE = regexp.MustCompile(`(?s)<script type="application/json" id="molotov-data">(.*?)</script>`)

func embeddedData(t *testing.T, page string) string {
	t.Helper()
	m := dataRE.FindStringSubmatch(page)
	require.NotNil(t, m, "the page embeds its data")
	var v any
	require.NoError(t, json.Unmarshal([]byte(m[1]), &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back any
	require.NoError(t, json.Unmarshal(b, &back))
	b, err = json.Marshal(back)
	require.NoError(t, err)
	return string(b)
}
