package molotov

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStages(t *testing.T) {
	got, err := ParseStages("30s:10, 1m:50,30s:0")
	require.NoError(t, err)
	assert.Equal(t, []Stage{{30 * time.Second, 10, 0}, {time.Minute, 50, 0}, {30 * time.Second, 0, 0}}, got)
	got, err = ParseStages("30s:100/s,1m:500/s,90:0/s")
	require.NoError(t, err)
	assert.Equal(t, []Stage{{30 * time.Second, 0, 100}, {time.Minute, 0, 500}, {90 * time.Second, 0, 0}}, got)
	for _, bad := range []struct{ in, msg string }{
		{"30s", "DURATION:TARGET"},
		{"0s:10", "duration > 0"},
		{"x:10", "not a duration"},
		{"30s:-1", "number of workers"},
		{"30s:ten", "number of workers"},
		{"30s:-5/s", "not a rate"},
		{"30s:10,", "stage 2"},
	} {
		_, err := ParseStages(bad.in)
		require.Error(t, err, bad.in)
		assert.Contains(t, err.Error(), bad.msg, bad.in)
	}
}

func TestStageTargetAndClock(t *testing.T) {
	stages := []Stage{{Duration: 2 * time.Second, Workers: 4}, {Duration: time.Second, Workers: 4}, {Duration: 2 * time.Second}}
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{{0, 0}, {time.Second, 2}, {2 * time.Second, 4}, {2500 * time.Millisecond, 4}, {4 * time.Second, 2}, {5 * time.Second, 0}, {time.Hour, 0}} {
		assert.InDelta(t, c.want, stageTarget(stages, c.at, false), 1e-9, "at %v", c.at)
	}

	// A steady 100/s (a clock that starts at 100/s): start i is due at i×10ms.
	clock := &stageClock{stages: []Stage{{Duration: time.Second, Rate: 100}, {Duration: time.Second, Rate: 100}}, from: 100}
	for _, i := range []int{0, 1, 50, 99, 100, 199} {
		d, ok := clock.due(i)
		require.True(t, ok)
		assert.InDelta(t, float64(time.Duration(i)*10*time.Millisecond), float64(d), float64(time.Microsecond), "start %d", i)
	}
	d, ok := clock.due(250)
	require.True(t, ok)
	assert.InDelta(t, float64(2500*time.Millisecond), float64(d), float64(time.Microsecond), "past the last stage, its rate holds")
	_, ok = (&stageClock{stages: []Stage{{Duration: time.Second, Rate: 100}, {Duration: time.Second}}}).due(100)
	assert.False(t, ok, "a shape that ends at zero schedules nothing more")

	// A ramp from 0 to 100/s over 1s, then 1s at 100/s: 50 + 100 starts,
	// the ramp's start i due at sqrt(2i/100) s.
	n := 0
	var last time.Duration = -1
	lin := &stageClock{stages: []Stage{{Duration: time.Second, Rate: 100}, {Duration: time.Second, Rate: 100}}}
	for i := 0; ; i++ {
		d, ok := lin.due(i)
		require.True(t, ok)
		if d >= 2*time.Second { // the end of the stages
			break
		}
		require.Greater(t, d, last, "due times increase")
		last = d
		if i < 50 {
			assert.InDelta(t, math.Sqrt(2*float64(i)/100), d.Seconds(), 1e-6, "ramp start %d", i)
		}
		n++
	}
	assert.Equal(t, 150, n, "50 starts in the ramp, 100 in the steady stage")
}

// A closed-model shape: the timeline's workers follow the plan within one.
func TestStagesClosedModelFollowsThePlan(t *testing.T) {
	reg := sbOneScenario("nap", func(ctx context.Context, s *Session) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	})
	stages := []Stage{{Duration: 2 * time.Second, Workers: 4}, {Duration: time.Second, Workers: 4}, {Duration: 2 * time.Second}}
	res := sbRun(t, Runner{Registry: reg, Stages: stages, Quiet: true})
	assert.Equal(t, StopDuration, res.StopReason)
	assert.Equal(t, res.Started, res.OK+res.Failed)
	require.GreaterOrEqual(t, len(res.Timeline), 4, "%+v", res.Timeline)
	plan := []int{2, 4, 4, 2} // at the end of seconds 1 to 4
	for i, want := range plan {
		assert.InDelta(t, want, res.Timeline[i].Workers, 1, "second %d: %+v", i+1, res.Timeline)
	}
	assert.Equal(t, 4, res.MaxWorkers)
}

// An open-model shape: a rate ramp schedules the starts its integral says.
func TestStagesOpenModelRamp(t *testing.T) {
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Quiet: true,
		Stages: []Stage{{Duration: time.Second, Rate: 100}, {Duration: time.Second, Rate: 100}}})
	assert.EqualValues(t, 150, res.Scheduled, "50 in the ramp from 0 to 100/s, 100 at 100/s")
	assert.Equal(t, res.Scheduled, res.Started+res.Dropped)
}

func TestStagesValidation(t *testing.T) {
	reg, _ := noHTTPRegistry(nil)
	for _, tt := range []struct {
		r     Runner
		field string
	}{
		{Runner{Stages: []Stage{{Duration: time.Second, Workers: 2}}, Rate: 50}, "Stages"},
		{Runner{Stages: []Stage{{Duration: 0, Workers: 2}}}, "Stages"},
		{Runner{Stages: []Stage{{Duration: time.Second, Workers: 2}, {Duration: time.Second, Rate: 5}}}, "Stages"},
		{Runner{Stages: []Stage{{Duration: time.Second, Workers: 2}}, MaxRuns: 3}, "Stages"},
		{Runner{Stages: []Stage{{Duration: time.Second}}}, "Stages"},
	} {
		tt.r.Registry, tt.r.Quiet = reg, true
		_, err := tt.r.Run(context.Background())
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "%+v", tt.r)
		assert.Equal(t, tt.field, ce.Field, "%v", err)
	}
}

// Duration cuts a shape short or holds its last value; a run with Stages
// is bounded under Runner.Test; Workers does not cap the shape.
func TestStagesAndDuration(t *testing.T) {
	reg := sbOneScenario("nap", func(ctx context.Context, s *Session) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	res := sbRun(t, Runner{Registry: reg, Workers: 1, Quiet: true, Duration: 1500 * time.Millisecond,
		Stages: []Stage{{Duration: 500 * time.Millisecond, Workers: 3}}})
	assert.InDelta(t, 1500*time.Millisecond, res.Elapsed, float64(500*time.Millisecond), "held until Duration")
	assert.Equal(t, 3, res.MaxWorkers, "the shape, not Workers, sizes the pool")

	srv := serveFunc(t, sbOK)
	get := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
	res = sbRun(t, Runner{Registry: get, BaseURL: srv.URL, Quiet: true, Duration: 1500 * time.Millisecond,
		Stages: []Stage{{Duration: time.Second, Rate: 100}}})
	assert.EqualValues(t, 50+50, res.Scheduled, "the ramp's 50, then 100/s held for half a second")

	tb := newFakeTB(t)
	res = (&Runner{Registry: reg, Quiet: true, Stages: []Stage{{Duration: 300 * time.Millisecond, Workers: 2}}}).Test(tb)
	require.NotNil(t, res, "fatals: %v", tb.fatals)
	assert.Empty(t, tb.errs)
	assert.Equal(t, StopDuration, res.StopReason)
}
