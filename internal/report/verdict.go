package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/molotov-go/molotov/internal/advice"
	"github.com/molotov-go/molotov/internal/ratio"
)

// stopWords says why a run stopped, by stop reason (README, "Stop
// reasons").
var stopWords = map[string]string{
	"duration":     "Stopped when its duration ran out",
	"max-runs":     "Stopped when every worker had done its runs (MaxRuns)",
	"single-run":   "Stopped when every worker had run every scenario once (SingleRun)",
	"failure":      "Stopped at the first failure (ExitOnFailure)",
	"max-failures": "Stopped when failures reached MaxFailures",
	"sizing":       "Stopped when failures passed the sizing tolerance (Sizing)",
	"stopped":      "Stopped by Run.Stop",
	"cancelled":    "Cancelled before it ended (its context, or SIGINT/SIGTERM)",
	"setup-failed": "Stopped because every worker's setup failed",
	"threshold":    "Stopped when a threshold broke during the run (ThresholdAbort)",
}

// verdictOf says in words whether the run passed and why not. The
// outcome is the result's own (Result.Outcome); every rule that broke is
// listed, not only the one that decided the outcome.
func verdictOf(r *result) Verdict {
	v := Verdict{Passed: r.Outcome == "passed"}
	ended := r.OK + r.Failed
	counted := ratio.Failures(r.Failed, r.Interrupted)

	var broken int
	for _, t := range r.Thresholds {
		if !t.Pass {
			broken++
			what := "measured " + measured(t.Expr, t.Value)
			if t.Value == nil {
				what = "nothing was measured"
			}
			v.Reasons = append(v.Reasons, fmt.Sprintf("Threshold %s broke: %s.", t.Expr, what))
		}
	}
	if r.OverBudget { // the result's own rule (Result.Outcome): the page never judges again

		allowed := "none are allowed (MaxFailures is 0)"
		if r.MaxFailures > 0 {
			allowed = fmt.Sprintf("fewer than %s are allowed (MaxFailures)", count(int64(r.MaxFailures)))
		}
		v.Reasons = append(v.Reasons, fmt.Sprintf("%s of %s scenario runs failed (%s); %s.", count(counted), count(ended-r.Interrupted), pct(counted, ended-r.Interrupted), allowed))
	}
	if r.SetupFailed > 0 {
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d workers failed their Setup or SetupSession.", r.SetupFailed))
	}

	switch r.Outcome {
	case "passed":
		parts := []string{fmt.Sprintf("%s scenario runs in %s", count(ended), dur(r.Elapsed))}
		switch {
		case counted == 0:
			parts = append(parts, "none failed")
		case r.MaxFailures > 0:
			parts = append(parts, fmt.Sprintf("%s failed, fewer than the %s allowed", count(counted), count(int64(r.MaxFailures))))
		default: // a threshold judged the failures (Result.Outcome)
			parts = append(parts, fmt.Sprintf("%s failed, within the thresholds", count(counted)))
		}
		if n := len(r.Thresholds); n > 0 {
			parts = append(parts, plural(n, "threshold", "thresholds")+" held")
		}
		v.Headline = "Passed: " + strings.Join(parts, ", ")
	case "interrupted":
		v.Headline = "Interrupted: the run was cancelled before it ended, so its figures are partial"
	case "setup-failed":
		v.Headline = fmt.Sprintf("Failed: %d workers failed their setup", r.SetupFailed)
	case "failures":
		v.Headline = fmt.Sprintf("Failed: %s of %s scenario runs failed", count(counted), count(ended-r.Interrupted))
	case "thresholds":
		if broken == 0 { // stopped by ThresholdAbort: the end-of-run check may pass
			v.Headline = "Failed: a threshold broke during the run"
		} else {
			v.Headline = fmt.Sprintf("Failed: %d of %s broke", broken, plural(len(r.Thresholds), "threshold", "thresholds"))
		}
	default:
		v.Headline = "Failed"
	}

	v.Stop = stopWords[r.StopReason]
	if v.Stop == "" {
		v.Stop = "Stopped: " + strconv.Quote(r.StopReason)
	}
	if r.Elapsed > 0 {
		v.Stop += " after " + dur(r.Elapsed)
	}
	v.Stop += "."

	if r.Started == 0 {
		v.Notes = append(v.Notes, "No scenario run started: there is nothing to plot.")
	}
	if r.Interrupted > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%s runs were cut short by the stop (ForceShutdown or a cancel); they are not held against the run.", count(r.Interrupted)))
	}
	busy := ratio.Busy(r.CPU, r.Elapsed, r.Procs)
	short := busy >= advice.ShortOfCPU
	if r.Dropped > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%s of %s scheduled starts were dropped (%s): no worker was free within MaxLag of their time, or the run was stopped first.", count(r.Dropped), count(r.Scheduled), pct(r.Dropped, r.Scheduled)))
		if r.PeakBusy > 0 && r.PeakBusy >= r.MaxWorkers {
			v.Notes = append(v.Notes, fmt.Sprintf("All %d workers were busy at once: %s.", r.MaxWorkers, advice.PoolExhausted(short)))
		}
	}
	if short {
		v.Notes = append(v.Notes, fmt.Sprintf("The process used %d%% of its CPUs. %s", ratio.WholePercent(busy), advice.ShortOfCPUText))
	}
	if advice.PoolOversized(r.PeakBusy, r.MaxWorkers, r.Dropped) {
		v.Notes = append(v.Notes, fmt.Sprintf("At most %d of %d workers were busy at once: %s.", r.PeakBusy, r.MaxWorkers, advice.PoolOversizedText(r.PeakBusy)))
	}
	if reqs, _ := requestTotals(r); advice.Churning(r.Connections, reqs, int64(r.MaxWorkers)) {
		v.Notes = append(v.Notes, fmt.Sprintf("%s connections were opened for %s requests. %s", count(r.Connections), count(reqs), advice.ChurningText))
	}
	switch missing := missingSegments(r.Segment); {
	case r.Partial && missing != "":
		v.Notes = append(v.Notes, "A partial merge: "+missing+" missing, so the figures and the verdict cover the other segments only.")
	case r.Partial:
		v.Notes = append(v.Notes, "A partial merge: some segments of the distributed run are missing, so the figures cover part of the run.")
	case r.Segment != "":
		v.Notes = append(v.Notes, "Segment "+r.Segment+" of a distributed run: the figures cover this share only.")
	}
	return v
}

// measured formats a threshold's measured value, which the result records
// in the threshold's unit: seconds for latencies, a fraction for rates,
// per second, or a count (molotov.ThresholdResult). The unit follows from
// the metric, the word before the operator.
func measured(expr string, v *float64) string {
	if v == nil {
		return "nothing measured"
	}
	metric := strings.TrimSpace(expr)
	if i := strings.LastIndex(metric, ")."); i >= 0 { // scenario(NAME).p99, request(NAME).p99
		metric = metric[i+2:]
	}
	if i := strings.IndexAny(metric, "<>=! \t"); i >= 0 {
		metric = metric[:i]
	}
	switch metric {
	case "p50", "p90", "p95", "p99", "p999", "min", "mean", "max":
		return dur(time.Duration(*v * 1e9).Round(10 * time.Microsecond))
	case "failure_rate", "error_rate":
		return strconv.FormatFloat(sig(*v*100), 'f', -1, 64) + "%"
	case "rps", "runs_per_s":
		return strconv.FormatFloat(*v, 'f', 1, 64) + "/s"
	default:
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
