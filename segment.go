package molotov

import (
	"fmt"
	"os"
	"time"

	"github.com/molotov-go/molotov/internal/segment"
)

// StopEmptySegment is the stop reason of an instance whose share of a
// segmented run (Runner.Segment) is empty, such as share 3 of 4 of a run
// of 2 workers: it ran nothing, at once, and its Result is otherwise
// zero.
const StopEmptySegment StopReason = "empty-segment"

// maxStartLate is how far in the past Runner.StartAt may be when the run
// is about to start: a later start would be silently misaligned.
const maxStartLate = time.Second

// share is what one instance of a segmented run runs (see internal/segment):
// its workers are the whole run's workers seg.Item(0), seg.Item(1), …, so
// their numbers, ramp-up delays and places in a load shape are those of
// the whole run; in the open model it takes the starts k ≡ i (mod n) of
// the whole run's schedule. Without a segment, it is the whole run.
type share struct {
	seg         segment.Segment
	workers     int // the instance's pool of workers
	maxFailures int // the instance stops at this many failures; zero: never
}

// empty reports whether the share has nothing to run.
func (sh *share) empty() bool { return sh.workers == 0 }

// segment resolves Runner.Segment, "auto" from the environment; a bad one
// is a *ConfigError.
func (c *Runner) segment() (segment.Segment, error) {
	seg, err := segment.Parse(c.Segment, os.Getenv)
	if err != nil {
		return seg, configErr("Segment", "%q: %v", c.Segment, err)
	}
	return seg, nil
}

// share works out the instance's share of a validated, defaulted Runner.
// The workers split like any count of the whole run (the closed model's
// pool, or the open model's MaxWorkers, with at least one when the share
// has starts); MaxRuns and SingleRun stay per worker, so the runs split
// with the workers. MaxFailures splits too, with at least one failure.
func (c *Runner) share() (share, error) {
	seg, err := c.segment()
	if err != nil {
		return share{}, err
	}
	sh := share{seg: seg, workers: seg.Count(c.Workers)}
	if c.Rate > 0 {
		if _, ok := c.openDue()(seg.I); ok {
			sh.workers = max(sh.workers, 1)
		} else {
			sh.workers = 0 // the whole run's schedule ends before this share's first start
		}
	}
	if c.MaxFailures > 0 {
		sh.maxFailures = max(seg.Count(c.MaxFailures), 1)
	}
	return sh, nil
}

// validateStartAt refuses a Runner.StartAt more than maxStartLate in the
// past; after is what the run did since it was configured, for the
// message.
func (c *Runner) validateStartAt(after string) error {
	if c.StartAt.IsZero() {
		return nil
	}
	if late := time.Since(c.StartAt); late > maxStartLate {
		return configErr("StartAt", "is %s, %v in the past%s; an instance cannot join a run that already started: set a start time in the future (RFC 3339, like %s)",
			c.StartAt.Format(time.RFC3339Nano), late.Round(time.Millisecond), after, time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	}
	return nil
}

// startTime is when the run's clock starts: Runner.StartAt when set (the
// same instant on every instance), else now.
func (rs *runState) startTime() time.Time {
	if !rs.cfg.StartAt.IsZero() && !rs.share.empty() {
		return rs.cfg.StartAt
	}
	return time.Now()
}

// await holds the run until its start. An empty share stops at once,
// saying so; with Runner.StartAt it waits until then, or until the run is
// stopped or cancelled.
func (rs *runState) await() {
	if rs.share.empty() {
		rs.logger.Warn(fmt.Sprintf("segment %s: this share of the run is empty (the run has fewer workers, or starts, than instances): nothing to run", rs.share.seg))
		rs.stop(StopEmptySegment)
		return
	}
	var t *time.Timer
	if !rs.sleep(&t, time.Until(rs.start)) {
		// Stopped, or cancelled: then stop before the run's own watch of
		// ctx does, so that no worker starts.
		rs.stop(StopCancelled)
	}
}
