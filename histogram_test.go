package molotov

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/hist"
)

func TestHistogramView(t *testing.T) {
	var h hist.Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	v := Histogram{h.Snapshot()}
	assert.EqualValues(t, 1000, v.Count())
	assert.Equal(t, 500500*time.Millisecond, v.Sum())
	assert.InEpsilon(t, float64(500*time.Millisecond), float64(v.Quantile(0.5)), 0.005)
	for _, d := range []time.Duration{time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 999 * time.Millisecond} {
		want := int64(d / time.Millisecond)
		assert.InDelta(t, want, v.CountAtOrBelow(d), float64(want)*0.01+1, "values <= %v", d)
	}
	assert.EqualValues(t, 0, v.CountAtOrBelow(time.Microsecond))
	assert.EqualValues(t, 1000, v.CountAtOrBelow(time.Hour))
	assert.Zero(t, Histogram{}.Count(), "the zero Histogram is empty")
	assert.Zero(t, Histogram{}.CountAtOrBelow(time.Second))
}

func TestResultHistograms(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	res, err := (&Runner{Registry: reg, Workers: 2, MaxRuns: 10, Quiet: true}).Run(context.Background())
	require.NoError(t, err)
	h := res.Scenarios["work"].Histogram()
	assert.EqualValues(t, 20, h.Count())
	assert.EqualValues(t, 20, h.CountAtOrBelow(time.Hour))
}
