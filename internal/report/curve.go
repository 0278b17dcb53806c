package report

import (
	"math"
	"time"

	"github.com/molotov-go/molotov/internal/hist"
)

// pointsPerNine is how many points a latency curve has for each nine of
// percentile (from 0 to 90%, from 90% to 99%, ...).
const pointsPerNine = 10

// curveOf returns the latency distribution of h, HdrHistogram style: the
// latency at percentiles evenly spaced in nines, up to the percentile that
// the count can tell (99.9% needs a thousand runs), then the maximum. It
// returns nil for an empty histogram.
func curveOf(h *hist.Snapshot) *Curve {
	if h == nil || h.Count <= 0 {
		return nil
	}
	c := &Curve{}
	top := math.Log10(float64(h.Count)) // the nines of the last rank: 1 - 1/Count
	for k := 0; float64(k)/pointsPerNine < top; k++ {
		n := float64(k) / pointsPerNine
		c.add(n, h.Quantile(1-math.Pow(10, -n)))
	}
	c.add(sig(top), h.Max)
	return c
}

func (c *Curve) add(nines float64, d time.Duration) {
	c.Nines = append(c.Nines, nines)
	c.Ms = append(c.Ms, sig(float64(d)/1e6))
}
