package molotov

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/molotov-go/molotov/internal/segment"
)

// runSegments runs the n shares of a run at once, as n instances would,
// all starting at one StartAt; build returns share i's Runner, to which
// runSegments adds the segment and the start.
func runSegments(t *testing.T, n int, build func(i int) Runner) []*Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now().Add(300 * time.Millisecond)
	results := make([]*Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		r := build(i)
		r.Segment = fmt.Sprintf("%d/%d", i, n)
		r.StartAt = start
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = r.Run(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "segment %d/%d", i, n)
		require.NotNil(t, results[i], "segment %d/%d", i, n)
		assert.True(t, results[i].Start.Equal(start), "segment %d/%d starts at StartAt: %v, want %v", i, n, results[i].Start, start)
	}
	return results
}

// Four shares of a closed run of 10 workers × MaxRuns run exactly its
// runs, with its 10 workers numbered as in the whole run, each once.
func TestSegmentsClosedModelAddUpToTheRun(t *testing.T) {
	srv := serveFunc(t, sbOK)
	const n, workers, maxRuns = 4, 10, 7
	var mu sync.Mutex
	owner := map[int]int{} // worker number → share
	results := runSegments(t, n, func(i int) Runner {
		reg := NewRegistry()
		reg.Scenario("get", 1, func(ctx context.Context, s *Session) error {
			mu.Lock()
			if o, ok := owner[s.Worker]; ok && o != i {
				t.Errorf("worker %d runs in shares %d and %d", s.Worker, o, i)
			}
			owner[s.Worker] = i
			mu.Unlock()
			return sbGet(ctx, s, "/")
		})
		return Runner{Registry: reg, BaseURL: srv.URL, Workers: workers, MaxRuns: maxRuns, Quiet: true}
	})
	var runs int64
	for i, res := range results {
		runs += res.OK + res.Failed
		assert.Zero(t, res.Failed, "share %d: %v", i, res.Errors)
		assert.Equal(t, StopMaxRuns, res.StopReason, "share %d", i)
		// Its workers may not all be active at once: a worker can be done
		// before another begins.
		assert.LessOrEqual(t, res.MaxWorkers, segment.Segment{I: i, N: n}.Count(workers), "share %d", i)
		assert.Equal(t, workers, res.opts.Workers, "share %d records the whole run's options", i)
		assert.Equal(t, maxRuns, res.opts.MaxRuns, "share %d", i)
	}
	assert.EqualValues(t, workers*maxRuns, runs, "the shares' runs add up to the run's")
	assert.Len(t, owner, workers, "the shares' workers add up to the run's")
	for w := range workers {
		assert.Equal(t, w%n, owner[w], "worker %d runs in share w mod n", w)
	}
}

// Four shares of an open run at 400/s for 3s schedule its 1,200 starts
// between them, each start of the whole run's schedule once, interleaved:
// the gaps of the union stay at 1/Rate.
func TestSegmentsOpenModelInterleaveIntoTheRunsSchedule(t *testing.T) {
	srv := serveFunc(t, sbOK)
	const n, rate, dur = 4, 400.0, 3 * time.Second
	var intended, actual timeLog
	results := runSegments(t, n, func(int) Runner {
		reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })
		reg.OnEvent(func(ev Event) {
			if ev.Kind == ScenarioStart {
				actual.add(ev.Time)
			}
		})
		return Runner{Registry: reg, BaseURL: srv.URL, Rate: rate, MaxWorkers: 40, Duration: dur, Quiet: true, onSchedule: intended.add}
	})
	var scheduled int64
	for i, res := range results {
		scheduled += res.Scheduled
		assert.Equal(t, res.Scheduled, res.Started+res.Dropped, "share %d: nothing silently lost", i)
		assert.LessOrEqual(t, res.MaxWorkers, 10, "share %d: its share of MaxWorkers", i)
		assert.InDelta(t, 300, res.Scheduled, 3, "share %d", i)
		assert.Equal(t, rate, res.opts.Rate, "share %d records the whole run's rate", i)
	}
	assert.InDelta(t, 1200, scheduled, 12, "the shares' starts add up to the run's, within 1%")
	union := intended.sorted()
	assert.EqualValues(t, len(union), scheduled, "the hook saw every scheduled start")
	assert.Equal(t, 1200, checkStartsOfSchedule(t, Runner{Rate: rate, Duration: dur}, results[0].Start, union))
	cv := gapCV(union)
	t.Logf("%d intended starts: coefficient of variation of the gaps %.3g (of the actual starts, for information: %.3g)", len(union), cv, gapCV(actual.sorted()))
	assert.LessOrEqual(t, cv, 0.2, "arrivals interleave, not in bursts of %d", n)
}

// timeLog collects times from many goroutines.
type timeLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (l *timeLog) add(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times = append(l.times, at)
}

// sorted returns the times collected, in order.
func (l *timeLog) sorted() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := slices.Clone(l.times)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	return s
}

// checkStartsOfSchedule checks that every sorted intended start is one of
// the whole run's schedule (r's open model, from start), none twice, and
// returns the schedule's length.
func checkStartsOfSchedule(t *testing.T, r Runner, start time.Time, intended []time.Time) int {
	t.Helper()
	whole := map[int64]bool{}
	cfg := r.withDefaults()
	due := cfg.openDue()
	for k := 0; ; k++ {
		off, ok := due(k)
		if !ok {
			break
		}
		whole[start.Add(off).UnixNano()] = true
	}
	for i, at := range intended {
		require.True(t, whole[at.UnixNano()], "start %v is not in the whole run's schedule", at.Sub(start))
		require.True(t, i == 0 || at.After(intended[i-1]), "start %v scheduled twice", at.Sub(start))
	}
	return len(whole)
}

// gapCV is the coefficient of variation of the gaps between sorted times.
func gapCV(times []time.Time) float64 {
	var sum, sq float64
	for i := 1; i < len(times); i++ {
		g := float64(times[i].Sub(times[i-1]))
		sum += g
		sq += g * g
	}
	k := float64(len(times) - 1)
	mean := sum / k
	return math.Sqrt(max(sq/k-mean*mean, 0)) / mean
}

// A burst, as shares that all followed Rate/n from the start would make,
// fails the gap check: the check can tell.
func TestGapCVSeesBursts(t *testing.T) {
	t0 := time.Now()
	var even, burst []time.Time
	for k := range 400 {
		even = append(even, t0.Add(time.Duration(k)*2500*time.Microsecond))
		burst = append(burst, t0.Add(time.Duration(k/4)*10*time.Millisecond+time.Duration(k%4)))
	}
	assert.Less(t, gapCV(even), 1e-9)
	assert.Greater(t, gapCV(burst), 0.2)
}

// With Stages, the shares' workers follow the shape together: at the top
// of the shape they add up to its workers. In the open model their starts
// are the whole shape's.
func TestSegmentsWithStagesAddUp(t *testing.T) {
	srv := serveFunc(t, sbOK)
	get := func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") }

	t.Run("workers", func(t *testing.T) {
		const n, top = 4, 6
		stages := []Stage{{Duration: 200 * time.Millisecond, Workers: top}, {Duration: 400 * time.Millisecond, Workers: top}, {Duration: 200 * time.Millisecond, Workers: 1}}
		results := runSegments(t, n, func(int) Runner {
			return Runner{Registry: sbOneScenario("get", get), BaseURL: srv.URL, Stages: stages, Delay: time.Millisecond, Quiet: true}
		})
		pool := 0
		for i, res := range results {
			pool += res.MaxWorkers
			assert.Equal(t, segment.Segment{I: i, N: n}.Count(top), res.MaxWorkers, "share %d", i)
			assert.Equal(t, StopDuration, res.StopReason, "share %d", i)
			assert.Positive(t, res.OK, "share %d", i)
		}
		assert.Equal(t, top, pool)
	})

	t.Run("rate", func(t *testing.T) {
		const n = 3
		stages := []Stage{{Duration: 500 * time.Millisecond, Rate: 300}, {Duration: 500 * time.Millisecond, Rate: 300}}
		var intended timeLog
		results := runSegments(t, n, func(int) Runner {
			return Runner{Registry: sbOneScenario("get", get), BaseURL: srv.URL, Stages: stages, MaxWorkers: 30, Quiet: true, onSchedule: intended.add}
		})
		whole := checkStartsOfSchedule(t, Runner{Stages: stages}, results[0].Start, intended.sorted())
		var scheduled int64
		for _, res := range results {
			scheduled += res.Scheduled
		}
		assert.Equal(t, 225, whole, "the shape's starts: 75 up the ramp, 150 at the top") // 0.5s × 300/s / 2 + 0.5s × 300/s
		assert.InDelta(t, whole, scheduled, 3, "the shares' starts add up to the shape's")
	})
}

// A share with nothing to run returns at once a valid Result, without
// running GlobalSetup or GlobalTeardown, and says why.
func TestSegmentEmptyShareRunsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Runner
	}{
		{"closed", Runner{Workers: 2, MaxRuns: 3, Segment: "3/4"}},
		{"stages", Runner{Stages: []Stage{{Duration: time.Second, Workers: 3}}, Segment: "3/4"}},
		{"open", Runner{Rate: 1, Duration: 2 * time.Second, Segment: "2/4"}}, // starts 0 and 1 only
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := sbOneScenario("a", func(context.Context, *Session) error { t.Error("a scenario ran"); return nil })
			reg.GlobalSetup(func(context.Context, *Runner) error { t.Error("GlobalSetup ran"); return nil })
			reg.GlobalTeardown(func(context.Context) { t.Error("GlobalTeardown ran") })
			var out lockedBuffer
			r := tc.r
			r.Registry, r.Output, r.StartAt = reg, &out, time.Now().Add(time.Hour)
			begun := time.Now()
			res := sbRun(t, r)
			assert.Less(t, time.Since(begun), 2*time.Second, "returns at once, without waiting for StartAt")
			assert.Equal(t, StopEmptySegment, res.StopReason)
			assert.Zero(t, res.Started)
			assert.Zero(t, res.MaxWorkers)
			assert.Equal(t, OutcomePassed, res.Outcome())
			assert.Contains(t, out.String(), "segment "+r.Segment+": this share of the run is empty")
			assert.Contains(t, res.Scenarios, "a", "a valid result names every scenario")
		})
	}
}

// Each share stops on its share of MaxFailures (at least one), and its
// result holds the whole run's budget, which the merge applies to the
// merged failures. One worker per share fails in turn, so the count is
// exact.
func TestSegmentStopsOnItsShareOfMaxFailures(t *testing.T) {
	fail := errors.New("boom")
	for _, tc := range []struct {
		seg                       string
		workers, maxFailures, got int
	}{
		{"1/4", 4, 10, 3}, // failures 1, 5 and 9 of the whole run's 10
		{"3/4", 4, 10, 2}, // 3 and 7
		{"3/4", 4, 2, 1},  // none of 2 is this share's: at least one
		{"", 1, 5, 5},
	} {
		t.Run(fmt.Sprintf("%s of %d", tc.seg, tc.maxFailures), func(t *testing.T) {
			reg := sbOneScenario("a", func(context.Context, *Session) error { return fail })
			res := sbRun(t, Runner{Registry: reg, Segment: tc.seg, Workers: tc.workers, MaxRuns: 100, MaxFailures: tc.maxFailures, Quiet: true})
			assert.Equal(t, StopMaxFailures, res.StopReason)
			assert.EqualValues(t, tc.got, res.Failed)
			assert.Equal(t, tc.maxFailures, res.opts.MaxFailures, "the whole run's options")
			assert.Equal(t, tc.maxFailures, res.maxFailures, "the whole run's budget, for the merge")
			want := OutcomePassed // the share's failures are within the whole run's budget
			if tc.got >= tc.maxFailures {
				want = OutcomeFailures
			}
			assert.Equal(t, want, res.Outcome())
		})
	}
}

// StartAt: GlobalSetup runs at once, the first start waits for StartAt,
// and Duration counts from it.
func TestStartAtWaitsForTheStart(t *testing.T) {
	const wait, dur = 400 * time.Millisecond, 300 * time.Millisecond
	var setupAt, firstAt atomic.Int64
	reg := sbOneScenario("a", func(context.Context, *Session) error {
		firstAt.CompareAndSwap(0, time.Now().UnixNano())
		time.Sleep(time.Millisecond)
		return nil
	})
	reg.GlobalSetup(func(context.Context, *Runner) error { setupAt.Store(time.Now().UnixNano()); return nil })
	begun := time.Now()
	at := begun.Add(wait)
	res := sbRun(t, Runner{Registry: reg, StartAt: at, Duration: dur, Quiet: true})
	took := time.Since(begun)

	assert.Less(t, setupAt.Load(), at.UnixNano(), "GlobalSetup runs before the wait")
	assert.GreaterOrEqual(t, firstAt.Load(), at.UnixNano(), "no scenario starts before StartAt")
	assert.True(t, res.Start.Equal(at), "Result.Start is StartAt: %v, want %v", res.Start, at)
	assert.Equal(t, StopDuration, res.StopReason)
	assert.GreaterOrEqual(t, took, wait+dur, "Duration counts from StartAt")
	assert.Less(t, took, 2*(wait+dur), "the run ends Duration after StartAt")
	assert.GreaterOrEqual(t, res.Elapsed, dur)
	assert.Less(t, res.Elapsed, 2*dur)
}

// A cancellation or a Stop during the wait ends the run at once: no
// worker starts, GlobalTeardown runs, the Result says why.
func TestStartAtWaitEndsOnCancelOrStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(cancel context.CancelFunc, run *Run)
		reason StopReason
	}{
		{"cancel", func(cancel context.CancelFunc, _ *Run) { cancel() }, StopCancelled},
		{"stop", func(_ context.CancelFunc, run *Run) { run.Stop() }, StopStopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var torn atomic.Bool
			reg := sbOneScenario("a", func(context.Context, *Session) error { t.Error("a scenario ran"); return nil })
			reg.GlobalTeardown(func(context.Context) { torn.Store(true) })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			run, err := (&Runner{Registry: reg, Workers: 3, StartAt: time.Now().Add(time.Minute), Duration: time.Second, Quiet: true}).Start(ctx)
			require.NoError(t, err)
			time.Sleep(50 * time.Millisecond)
			assert.Empty(t, run.Snapshot().StopReason, "still waiting")
			assert.Zero(t, run.Snapshot().Elapsed, "no time elapsed before the start")
			ended := time.Now()
			tc.end(cancel, run)
			res, err := run.Wait()
			require.NoError(t, err)
			assert.Less(t, time.Since(ended), time.Second, "the wait ends promptly")
			assert.Equal(t, tc.reason, res.StopReason)
			assert.Zero(t, res.Started)
			assert.Zero(t, res.MaxWorkers, "no worker set up")
			assert.True(t, torn.Load(), "GlobalTeardown ran")
		})
	}
}

// A StartAt more than a second in the past is refused, before GlobalSetup
// or, when GlobalSetup took that long, after it (and GlobalTeardown runs).
// Less than a second late, the run starts at once, aligned on StartAt.
func TestStartAtInThePast(t *testing.T) {
	t.Run("before GlobalSetup", func(t *testing.T) {
		reg := sbOneScenario("a", scenarioNoop)
		reg.GlobalSetup(func(context.Context, *Runner) error { t.Error("GlobalSetup ran"); return nil })
		_, err := (&Runner{Registry: reg, MaxRuns: 1, StartAt: time.Now().Add(-3 * time.Second), Quiet: true}).Run(context.Background())
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "StartAt", ce.Field)
		assert.Contains(t, ce.Msg, "in the past")
		assert.Contains(t, ce.Msg, "set a start time in the future")
	})
	t.Run("after GlobalSetup", func(t *testing.T) {
		var torn atomic.Bool
		reg := sbOneScenario("a", func(context.Context, *Session) error { t.Error("a scenario ran"); return nil })
		reg.GlobalSetup(func(context.Context, *Runner) error { time.Sleep(1300 * time.Millisecond); return nil })
		reg.GlobalTeardown(func(context.Context) { torn.Store(true) })
		_, err := (&Runner{Registry: reg, MaxRuns: 1, StartAt: time.Now().Add(100 * time.Millisecond), Quiet: true}).Run(context.Background())
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "StartAt", ce.Field)
		assert.Contains(t, ce.Msg, "once GlobalSetup ended")
		assert.True(t, torn.Load(), "GlobalTeardown ran")
	})
	t.Run("late by less than a second", func(t *testing.T) {
		at := time.Now().Add(-300 * time.Millisecond)
		res := sbRun(t, Runner{Registry: sbOneScenario("a", scenarioNoop), MaxRuns: 1, StartAt: at, Quiet: true})
		assert.EqualValues(t, 1, res.OK)
		assert.True(t, res.Start.Equal(at))
	})
}

// A bad segment is a *ConfigError naming the field, the value and the
// fix, before anything starts; "auto" names the missing variable.
func TestSegmentValidation(t *testing.T) {
	t.Setenv(segment.EnvIndex, "")
	t.Setenv(segment.EnvCount, "")
	for _, tc := range []struct{ seg, want string }{
		{"4/4", `"4/4": share 4 is out of range: the shares of 4 go from 0 to 3`},
		{"1/0", "the number of shares is 0"},
		{"half", `"half": not a segment; write i/n`},
		{"auto", "JOB_COMPLETION_INDEX is not set"},
	} {
		reg := sbOneScenario("a", func(context.Context, *Session) error { t.Error("a scenario ran"); return nil })
		reg.GlobalSetup(func(context.Context, *Runner) error { t.Error("GlobalSetup ran"); return nil })
		_, err := (&Runner{Registry: reg, MaxRuns: 1, Segment: tc.seg, Quiet: true}).Run(context.Background())
		var ce *ConfigError
		if assert.ErrorAs(t, err, &ce, tc.seg) {
			assert.Equal(t, "Segment", ce.Field)
			assert.Contains(t, ce.Msg, tc.want)
		}
	}
	t.Setenv(segment.EnvIndex, "1")
	t.Setenv(segment.EnvCount, "2")
	res := sbRun(t, Runner{Registry: sbOneScenario("a", scenarioNoop), Workers: 4, MaxRuns: 1, Segment: "auto", Quiet: true})
	assert.EqualValues(t, 2, res.OK, "auto: share 1 of 2 of 4 workers")
}

// The shares pick from their own seeds, derived from Seed: reproducible,
// and not in lockstep with the whole run.
func TestSegmentSeedIsItsOwn(t *testing.T) {
	picks := func(seg string, workers int) string {
		reg := NewRegistry()
		var mu sync.Mutex
		var got []byte
		for _, name := range []string{"a", "b"} {
			reg.Scenario(name, 1, func(_ context.Context, s *Session) error {
				if s.Worker == 0 {
					mu.Lock()
					got = append(got, name[0])
					mu.Unlock()
				}
				return nil
			})
		}
		sbRun(t, Runner{Registry: reg, Seed: 7, Segment: seg, Workers: workers, MaxRuns: 40, Quiet: true})
		return string(got)
	}
	share := picks("0/2", 2) // worker 0 of the whole run, in share 0
	assert.Equal(t, share, picks("0/2", 2), "reproducible for a seed")
	assert.NotEqual(t, picks("", 1), share, "worker 0 of the share draws from another seed than worker 0 of the whole run")
}

// The statsd names of a share carry its segment, after "molotov.".
func TestStatsdNamesCarryTheSegment(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	srv := serveFunc(t, sbOK)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/items") })
	res := sbRun(t, Runner{Registry: reg, BaseURL: srv.URL, Workers: 4, MaxRuns: 1, Segment: "1/4", Quiet: true,
		Statsd: "udp://" + pc.LocalAddr().String()})
	require.EqualValues(t, 1, res.OK)
	want := map[string]bool{
		"molotov.segment_1_of_4.scenario.get.ok:1|c":        false,
		"molotov.segment_1_of_4.request.GET./items.200:1|c": false,
	}
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for n := 0; n < len(want); {
		m, _, err := pc.ReadFrom(buf)
		require.NoError(t, err, "seen: %v", want)
		for _, line := range strings.Split(strings.TrimSpace(string(buf[:m])), "\n") {
			assert.True(t, strings.HasPrefix(line, "molotov.segment_1_of_4."), "line %q", line)
			if seen, ok := want[line]; ok && !seen {
				want[line] = true
				n++
			}
		}
	}
}

// -molotov.segment and -molotov.start-at, and their environment twins,
// set the fields; auto is resolved from the environment.
func TestSegmentAndStartAtFlags(t *testing.T) {
	for i := range flagSpecs {
		t.Setenv(flagSpecs[i].envName(), "")
	}
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	t.Setenv("MOLOTOV_SEGMENT", "2/5")
	t.Setenv("MOLOTOV_START_AT", at.Format(time.RFC3339))
	r, err := (*FlagSet)(nil).Apply(Runner{})
	require.NoError(t, err)
	assert.Equal(t, "2/5", r.Segment)
	assert.True(t, r.StartAt.Equal(at))

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	set := RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"-molotov.segment=1/3"}))
	r, err = set.Apply(Runner{})
	require.NoError(t, err)
	assert.Equal(t, "1/3", r.Segment, "the flag beats the environment")

	t.Setenv(segment.EnvIndex, "3")
	t.Setenv(segment.EnvCount, "8")
	t.Setenv("MOLOTOV_SEGMENT", "auto")
	r, err = (*FlagSet)(nil).Apply(Runner{})
	require.NoError(t, err)
	assert.Equal(t, "auto", r.Segment)
	seg, err := r.segment()
	require.NoError(t, err)
	assert.Equal(t, segment.Segment{I: 3, N: 8}, seg)

	for _, tc := range []struct{ env, val, want string }{
		{"MOLOTOV_SEGMENT", "5/5", "MOLOTOV_SEGMENT"},
		{"MOLOTOV_START_AT", "tomorrow", "not an RFC 3339 time"},
		{"MOLOTOV_START_AT", "2001-01-01T00:00:00Z", "in the past"},
	} {
		t.Setenv("MOLOTOV_SEGMENT", "")
		t.Setenv(tc.env, tc.val)
		_, err := (*FlagSet)(nil).Apply(Runner{})
		if assert.Error(t, err, tc.val) {
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), tc.val)
		}
		t.Setenv(tc.env, "")
	}
	t.Setenv(segment.EnvIndex, "")
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterFlags(fs)
	err = fs.Parse([]string{"-molotov.segment=auto"})
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "JOB_COMPLETION_INDEX is not set")
	}
}
