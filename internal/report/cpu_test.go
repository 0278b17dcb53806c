package report

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/advice"
)

// withCPU returns the fixture name with the process's CPU time set to
// busy × its elapsed time × procs.
func withCPU(t *testing.T, name string, busy float64, procs int) []byte {
	t.Helper()
	r := fixture(t, name)
	r.Procs = procs
	r.CPU = time.Duration(math.Ceil(busy * float64(r.Elapsed) * float64(procs)))
	out, err := json.Marshal(r)
	require.NoError(t, err)
	return out
}

// The process's CPU shows among the facts; from advice.ShortOfCPU on the
// verdict says the figures include the generator's own delays, and a
// pool that ran out is then not blamed on its size. A result without CPU
// (written before it was measured, or on Windows) shows none.
func TestDecodeProcessCPU(t *testing.T) {
	for _, tt := range []struct {
		name       string
		busy       float64
		procs      int
		fact       string // the Process CPU fact; "" for none
		short      bool
		poolAdvice string // the pool's note ends so; "" for no note
	}{
		{"open-pool", 0.4, 2, "on GOMAXPROCS=2, 40% busy", false, ""},
		{"open-pool", 0.95, 1, "on GOMAXPROCS=1, 95% busy", true, ""},
		{"example", 0.5, 2, "on GOMAXPROCS=2, 50% busy", false, advice.PoolExhausted(false) + "."},
		{"example", 0.97, 1, "on GOMAXPROCS=1, 97% busy", true, advice.PoolExhausted(true) + "."},
		{"closed", 0, 0, "", false, ""},
		{"merged", 0.5, 8, "on GOMAXPROCS 8 in all, 4 shares, 50% busy", false, ""},
	} {
		t.Run(tt.name+"/"+tt.fact, func(t *testing.T) {
			run, err := Decode(withCPU(t, tt.name, tt.busy, tt.procs), tt.name)
			require.NoError(t, err)
			var fact string
			for _, f := range run.Facts {
				if f.Label == "Process CPU" {
					fact = f.Value
				}
			}
			if tt.fact == "" {
				assert.Empty(t, fact)
			} else {
				assert.True(t, strings.HasSuffix(fact, tt.fact), "fact %q, want it to end in %q", fact, tt.fact)
			}
			notes := strings.Join(run.Verdict.Notes, "\n")
			assert.Equal(t, tt.short, strings.Contains(notes, advice.ShortOfCPUText), "notes:\n%s", notes)
			if tt.poolAdvice != "" {
				assert.Contains(t, notes, "workers were busy at once: "+tt.poolAdvice)
			}
		})
	}
}
