package console

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/molotov-go/molotov/internal/advice"
	"github.com/molotov-go/molotov/internal/ratio"
)

// maxErrorLen is the number of characters of an error text shown in the
// summary.
const maxErrorLen = 200

// Summary is the data shown by WriteSummary at the end of a run.
type Summary struct {
	Elapsed     time.Duration
	Started     int64 // scenario runs started (not shown)
	OK          int64 // scenario runs that succeeded
	Failed      int64 // scenario runs that failed
	SetupFailed int   // workers whose setup failed
	// Notes are lines shown after the header that explain the failures,
	// such as a target that looks down.
	Notes      []string
	MaxWorkers int
	PeakBusy   int    // the open model's most workers running a start at once
	StopReason string // why the run stopped, e.g. "duration"
	Scheduled  int64  // the open model's starts; zero in the closed model
	Dropped    int64  // the open model's starts that never began
	// StartLag is how late the open model's starts began against their
	// intended times (p50, p99, max), shown when the summary has
	// Scheduled starts.
	StartLag [3]time.Duration
	// CPU is the process's CPU time over Elapsed, on Procs (GOMAXPROCS);
	// zero when unknown. From advice.ShortOfCPU busy on (ratio.Busy),
	// the summary says the process was short of CPU.
	CPU   time.Duration
	Procs int
	// Connections is how many connections the sessions opened; zero: not
	// shown. When most requests (of Requests) opened one (advice.Churning,
	// beyond a first one per worker), the summary says why that costs.
	Connections int64

	// Scenarios, Requests and Errors are shown in the given order.
	Scenarios []ScenarioRow
	Requests  []RequestRow
	Errors    []ErrorRow
	// Thresholds are shown after the errors, in the given order.
	Thresholds []ThresholdRow
}

// ScenarioRow is one row of the scenarios table.
type ScenarioRow struct {
	Name               string
	OK, Failed         int64
	Rate               float64 // runs per second
	P50, P90, P99, Max time.Duration
	// ServiceP50 to ServiceMax are the open model's service times, shown
	// when the summary has Scheduled starts.
	ServiceP50, ServiceP90, ServiceP99, ServiceMax time.Duration
}

// RequestRow is one row of the requests table.
type RequestRow struct {
	Name               string
	Count, Errors      int64
	Rate               float64 // requests per second
	P50, P90, P99, Max time.Duration
	Status             map[int]int64 // responses by status code
}

// ErrorRow is one line of the top errors.
type ErrorRow struct {
	Error string
	Count int64
}

// WriteSummary writes s to w as a header line followed by the scenarios,
// requests and top errors tables; empty tables are omitted. Write errors are
// ignored: the summary is best effort.
func WriteSummary(w io.Writer, s Summary) {
	parts := []string{
		"SUCCESSES: " + strconv.FormatInt(s.OK, 10),
		"FAILURES: " + strconv.FormatInt(s.Failed, 10),
	}
	if s.SetupFailed > 0 {
		parts = append(parts, "SETUP FAILED: "+strconv.Itoa(s.SetupFailed))
	}
	parts = append(parts,
		"WORKERS: "+strconv.Itoa(s.MaxWorkers)+" (max)",
		"ELAPSED: "+formatElapsed(s.Elapsed))
	if s.Scheduled > 0 {
		parts = append(parts, "SCHEDULED: "+strconv.FormatInt(s.Scheduled, 10), "DROPPED: "+strconv.FormatInt(s.Dropped, 10))
	}
	if s.StopReason != "" {
		parts = append(parts, "STOP: "+clean(s.StopReason))
	}
	fmt.Fprintln(w, strings.Join(parts, " | "))
	for _, n := range s.Notes {
		fmt.Fprintln(w, clean(n))
	}
	busy := ratio.Busy(s.CPU, s.Elapsed, s.Procs)
	short := busy >= advice.ShortOfCPU
	if busy > 0 {
		fmt.Fprintf(w, "Process CPU: %s in %s on GOMAXPROCS=%d, %d%% busy\n", FormatDuration(s.CPU), FormatDuration(s.Elapsed), s.Procs, ratio.WholePercent(busy))
		if short {
			fmt.Fprintln(w, advice.ShortOfCPUText)
		}
	}
	if s.Connections > 0 {
		var requests int64
		for _, r := range s.Requests {
			requests += r.Count
		}
		fmt.Fprintf(w, "Connections opened: %d, for %d requests\n", s.Connections, requests)
		if advice.Churning(s.Connections, requests, int64(s.MaxWorkers)) {
			fmt.Fprintln(w, advice.ChurningText)
		}
	}
	if s.Scheduled > 0 && s.Started > 0 {
		fmt.Fprintf(w, "Start lag (open model: how late starts began against their intended times): p50 %s, p99 %s, max %s\n",
			FormatDuration(s.StartLag[0]), FormatDuration(s.StartLag[1]), FormatDuration(s.StartLag[2]))
		if s.PeakBusy > 0 { // zero: a result written before busy workers were counted
			fmt.Fprintf(w, "Workers busy at once: at most %d of %d", s.PeakBusy, s.MaxWorkers)
			switch {
			case s.Dropped > 0 && s.PeakBusy >= s.MaxWorkers:
				fmt.Fprint(w, "; all were busy and starts were dropped: "+advice.PoolExhausted(short))
			case advice.PoolOversized(s.PeakBusy, s.MaxWorkers, s.Dropped):
				fmt.Fprint(w, "; "+advice.PoolOversizedText(s.PeakBusy))
			}
			fmt.Fprintln(w)
		}
	}

	if len(s.Scenarios) > 0 {
		rows := [][]string{{"scenario", "runs", "failed", "runs/s", "p50", "p90", "p99", "max"}}
		for _, r := range s.Scenarios {
			rows = append(rows, append([]string{
				clean(r.Name),
				strconv.FormatInt(r.OK+r.Failed, 10),
				strconv.FormatInt(r.Failed, 10),
				formatRate(r.Rate),
			}, latencies(r.OK+r.Failed, r.P50, r.P90, r.P99, r.Max)...))
		}
		writeTable(w, "Scenarios", rows)
		if s.Scheduled > 0 {
			rows := [][]string{{"scenario", "p50", "p90", "p99", "max"}}
			for _, r := range s.Scenarios {
				rows = append(rows, append([]string{clean(r.Name)}, latencies(r.OK+r.Failed, r.ServiceP50, r.ServiceP90, r.ServiceP99, r.ServiceMax)...))
			}
			writeTable(w, "Service time (open model: from each run's actual start; the table above counts from its intended start)", rows)
		}
	}

	if len(s.Requests) > 0 {
		rows := [][]string{{"request", "count", "no response", "req/s", "p50", "p90", "p99", "max", "status"}}
		for _, r := range s.Requests {
			row := append([]string{
				clean(r.Name),
				strconv.FormatInt(r.Count, 10),
				strconv.FormatInt(r.Errors, 10),
				formatRate(r.Rate),
			}, latencies(r.Count, r.P50, r.P90, r.P99, r.Max)...)
			rows = append(rows, append(row, formatStatus(r.Status)))
		}
		writeTable(w, "Requests", rows)
	}

	if len(s.Errors) > 0 {
		rows := make([][]string, 0, len(s.Errors))
		for _, e := range s.Errors {
			rows = append(rows, []string{strconv.FormatInt(e.Count, 10), cut(clean(e.Error), maxErrorLen)})
		}
		writeTable(w, "Top errors", rows)
	}

	if len(s.Thresholds) > 0 {
		rows := [][]string{{"threshold", "measured", "verdict"}}
		for _, t := range s.Thresholds {
			verdict := "pass"
			if !t.Pass {
				verdict = "FAIL"
			}
			rows = append(rows, []string{cut(clean(t.Expr), maxErrorLen), t.Measured, verdict})
		}
		writeTable(w, "Thresholds", rows)
	}
}

// ThresholdRow is one threshold of the summary.
type ThresholdRow struct {
	Expr     string
	Measured string // the measured value in the threshold's unit, "312ms"
	Pass     bool
}

// LiveLine returns the live status line, Molotov's format plus the elapsed
// time and the rate of scenario runs, e.g.
//
//	SUCCESSES: 12 | FAILURES: 0 | WORKERS: 3 | ELAPSED: 2.0s | RATE: 6.0/s
//
// In the open model (busy >= 0) the workers say how many of the pool are
// running a start: WORKERS: 30 (9 busy).
func LiveLine(ok, failed int64, workers, busy int, elapsed time.Duration, rate float64) string {
	w := strconv.Itoa(workers)
	if busy >= 0 {
		w += " (" + strconv.Itoa(busy) + " busy)"
	}
	return "SUCCESSES: " + strconv.FormatInt(ok, 10) +
		" | FAILURES: " + strconv.FormatInt(failed, 10) +
		" | WORKERS: " + w +
		" | ELAPSED: " + formatElapsed(elapsed) +
		" | RATE: " + formatRate(rate) + "/s"
}

// FormatDuration formats d with at most three significant digits in the
// largest unit that keeps the value at least one, e.g. 850µs, 20.3ms, 1.25s,
// 3.0s. Durations of a minute or more are shown to the second, e.g. 2m05s or
// 1h02m03s.
func FormatDuration(d time.Duration) string {
	switch {
	case d == math.MinInt64:
		return d.String()
	case d < 0:
		return "-" + FormatDuration(-d)
	case d == 0:
		return "0s"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d >= time.Minute:
		return formatLong(d)
	}

	// Round to three significant digits.
	p := time.Duration(1)
	for n := d; n >= 1000; n /= 10 {
		p *= 10
	}
	r := d / p
	if (d%p)*2 >= p {
		r++
	}
	r *= p

	var unit time.Duration
	var suffix string
	switch {
	case r < time.Millisecond:
		unit, suffix = time.Microsecond, "µs"
	case r < time.Second:
		unit, suffix = time.Millisecond, "ms"
	case r < time.Minute:
		unit, suffix = time.Second, "s"
	default:
		return formatLong(r)
	}
	v := float64(r) / float64(unit)
	decimals := 2
	if v >= 100 {
		decimals = 0
	} else if v >= 10 {
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if decimals > 0 {
		// Keep at least one decimal: 3.00 -> 3.0, 1.20 -> 1.2.
		for s[len(s)-1] == '0' && s[len(s)-2] != '.' {
			s = s[:len(s)-1]
		}
	}
	return s + suffix
}

// formatLong formats a duration of at least a minute to the second.
func formatLong(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, sec)
	}
	return fmt.Sprintf("%dm%02ds", m, sec)
}

// formatElapsed formats an elapsed time, to a tenth of a second from one
// second on so that the live line does not flicker.
func formatElapsed(d time.Duration) string {
	if d >= time.Second {
		d = d.Round(100 * time.Millisecond)
	}
	return FormatDuration(d)
}

// formatRate formats a rate with one decimal; non-finite rates show as 0.
func formatRate(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		r = 0
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

// latencies formats the latency columns, or dashes when there were no samples.
func latencies(n int64, p50, p90, p99, pmax time.Duration) []string {
	if n <= 0 {
		return []string{"-", "-", "-", "-"}
	}
	return []string{FormatDuration(p50), FormatDuration(p90), FormatDuration(p99), FormatDuration(pmax)}
}

// formatStatus formats status code counts sorted by code, e.g. "200:95 500:5".
func formatStatus(m map[int]int64) string {
	if len(m) == 0 {
		return "-"
	}
	codes := make([]int, 0, len(m))
	for code := range m {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	var b strings.Builder
	for i, code := range codes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(code))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(m[code], 10))
	}
	return b.String()
}

// writeTable writes a blank line, the title and rows aligned in columns and
// indented by two spaces.
func writeTable(w io.Writer, title string, rows [][]string) {
	fmt.Fprintf(w, "\n%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
	}
	_ = tw.Flush()
}

// clean replaces control characters (tabs and newlines included), which
// would break the table layout, with spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// cut shortens s to at most n characters, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
