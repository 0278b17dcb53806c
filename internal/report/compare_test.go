package report

import (
	"bytes"
	"html"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The comparison table has a column for the start lag p99 when both runs
// ran the open model, filled in the run's row only; without it, the
// table is as it was.
func TestNewComparisonStartLag(t *testing.T) {
	const ms = time.Millisecond
	figures := func(lag time.Duration) Figures {
		return Figures{Rate: 100, P50: 10 * ms, P99: 20 * ms, StartLagP99: lag}
	}
	missing := Figures{Rate: math.NaN(), P50: -1, P99: -1, FailureRate: math.NaN(), StartLagP99: -1}
	rows := func(old, new time.Duration, regressions ...string) []CompareRow {
		return []CompareRow{
			{Kind: "run", Old: figures(old), New: figures(new), Regressions: regressions},
			{Kind: "scenario", Name: "browse", Old: figures(-1), New: figures(-1)},
			{Kind: "scenario", Name: "gone", Old: figures(-1), New: missing},
		}
	}
	for _, tt := range []struct {
		name     string
		rows     []CompareRow
		lag      bool
		cell     ComparisonCell // the run's start lag p99
		verdicts bool           // the comparison regressed
	}{
		{"closed runs", rows(-1, -1), false, ComparisonCell{}, false},
		{"one run closed", rows(300*time.Microsecond, -1), false, ComparisonCell{}, false},
		{"open runs", rows(300*time.Microsecond, 320*time.Microsecond), true, ComparisonCell{Text: "300µs → 320µs (+6.7%)"}, false},
		{"open runs, the start lag regressed", rows(ms, 5*ms, "start_lag_p99"), true, ComparisonCell{Text: "1.0ms → 5.0ms (+400.0%)", Regressed: true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewComparison(0.1, tt.rows)
			assert.Equal(t, tt.lag, c.StartLag)
			assert.Equal(t, tt.verdicts, c.Regressed)
			require.Len(t, c.Rows, 3)
			run, browse, gone := c.Rows[0], c.Rows[1], c.Rows[2]
			assert.Empty(t, gone.Cells, "a row of one run only has no figures")
			assert.Equal(t, "only in the old run", gone.Only)

			var page bytes.Buffer
			require.NoError(t, Write(&page, NewPage([]*Run{{Label: "old"}, {Label: "new"}}, c)))
			shown := html.UnescapeString(markup(page.String())) // "+" is "&#43;" in the page
			if !tt.lag {
				require.Len(t, run.Cells, 4)
				require.Len(t, browse.Cells, 4)
				assert.NotContains(t, shown, "start lag p99")
				assert.Contains(t, shown, `<td colspan="4" class="muted">only in the old run</td>`)
				return
			}
			require.Len(t, run.Cells, 5)
			assert.Equal(t, tt.cell, run.Cells[4])
			require.Len(t, browse.Cells, 5, "a cell in every row, empty where there is no start lag")
			assert.Equal(t, ComparisonCell{}, browse.Cells[4])
			assert.Contains(t, shown, "<th>failures</th><th>start lag p99</th></tr>")
			assert.Contains(t, shown, `<td colspan="5" class="muted">only in the old run</td>`)
			want := "<td>" + tt.cell.Text + "</td></tr>"
			if tt.cell.Regressed {
				want = `<td class="regressed">` + tt.cell.Text + ` <span class="flag">▲ regressed</span></td></tr>`
			}
			assert.Equal(t, 1, strings.Count(shown, want), "the run's row ends with its start lag p99: %s", want)
		})
	}
}
