package report

import (
	"math"
	"strconv"
	"time"
)

// Figures are what molotov.Compare reads of the run, a scenario or a
// request in one run. A Rate of NaN means it is missing from that run.
type Figures struct {
	Rate        float64 // per second
	P50, P99    time.Duration
	FailureRate float64 // a fraction
	// StartLagP99 is the open model's start lag p99, in the run's row
	// when both runs measured it; -1 otherwise.
	StartLagP99 time.Duration
}

// CompareRow is one row of molotov.Compare's result: Regressions names
// the figures that got worse beyond the tolerance ("rate", "p50", "p99",
// "failure_rate", "start_lag_p99").
type CompareRow struct {
	Kind, Name  string
	Old, New    Figures
	Regressions []string
}

// NewComparison formats the rows that molotov.Compare judged, each figure
// as "old → new (change)", for the page's table. When the runs' start lag
// was compared (both ran the open model), every row has a fifth cell,
// the start lag p99: the run's, empty for scenarios and requests.
func NewComparison(tolerance float64, rows []CompareRow) *Comparison {
	c := &Comparison{Tolerance: strconv.FormatFloat(tolerance*100, 'f', -1, 64) + "%"}
	for _, r := range rows {
		c.StartLag = c.StartLag || startLagCompared(r)
	}
	for _, r := range rows {
		row := ComparisonRow{Name: r.Kind}
		if r.Name != "" {
			row.Name += " " + r.Name
		}
		bad := map[string]bool{}
		for _, x := range r.Regressions {
			bad[x] = true
			c.Regressed = true
		}
		switch {
		case math.IsNaN(r.New.Rate):
			row.Only = "only in the old run"
		case math.IsNaN(r.Old.Rate):
			row.Only = "only in the new run"
		default:
			row.Cells = []ComparisonCell{
				change(strconv.FormatFloat(r.Old.Rate, 'f', 1, 64), strconv.FormatFloat(r.New.Rate, 'f', 1, 64), r.Old.Rate, r.New.Rate, bad["rate"]),
				change(dur(r.Old.P50), dur(r.New.P50), float64(r.Old.P50), float64(r.New.P50), bad["p50"]),
				change(dur(r.Old.P99), dur(r.New.P99), float64(r.Old.P99), float64(r.New.P99), bad["p99"]),
				change(percent(r.Old.FailureRate), percent(r.New.FailureRate), 0, 0, bad["failure_rate"]),
			}
			switch {
			case startLagCompared(r):
				row.Cells = append(row.Cells, change(dur(r.Old.StartLagP99), dur(r.New.StartLagP99), float64(r.Old.StartLagP99), float64(r.New.StartLagP99), bad["start_lag_p99"]))
			case c.StartLag:
				row.Cells = append(row.Cells, ComparisonCell{})
			}
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// startLagCompared reports whether r compares the start lag of two
// open-model runs.
func startLagCompared(r CompareRow) bool { return r.Old.StartLagP99 >= 0 && r.New.StartLagP99 >= 0 }

// change writes "old → new (+12.5%)"; the relative change is left out
// when old is zero.
func change(old, new string, o, n float64, regressed bool) ComparisonCell {
	s := old + " → " + new
	if o != 0 {
		d := strconv.FormatFloat((n-o)/o*100, 'f', 1, 64)
		if d[0] != '-' {
			d = "+" + d
		}
		s += " (" + d + "%)"
	}
	return ComparisonCell{Text: s, Regressed: regressed}
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) + "%" }
