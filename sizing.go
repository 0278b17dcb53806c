package molotov

import (
	"sync"
	"time"
)

// sizer implements Molotov's sizing: over a one-minute window, once at
// least 100 runs are in, a ratio FAILED/OK×100 above the tolerance stops
// the run and records the worker count reached.
type sizer struct {
	tolerance float64

	mu          sync.Mutex
	windowStart time.Time
	ok, failed  int64
	done        bool
	workers     int
	ratio       float64
	rate        float64 // Sizing with Rate: the rate of starts when the tolerance was passed
}

func (rs *runState) observeSizing(failed bool) {
	z := rs.sizing
	if z == nil {
		return
	}
	z.mu.Lock()
	now := time.Now()
	if z.windowStart.IsZero() || now.Sub(z.windowStart) > time.Minute {
		z.windowStart, z.ok, z.failed = now, 0, 0
	}
	if failed {
		z.failed++
	} else {
		z.ok++
	}
	hit := false
	if !z.done && z.ok+z.failed >= 100 {
		ratio := float64(z.failed) * 100 // Molotov divides by zero here; count OK as 1
		if z.ok > 0 {
			ratio = float64(z.failed) / float64(z.ok) * 100
		}
		if ratio > z.tolerance {
			z.done, z.workers, z.ratio, hit = true, int(rs.stats.active.load()), ratio, true
			if rs.cfg.sizingRate {
				z.rate = stageTarget(rs.cfg.Stages, time.Since(rs.start), true)
			}
		}
	}
	z.mu.Unlock()
	if hit {
		rs.stop(StopSizing)
	}
}

func (z *sizer) reached() (workers int, ratio float64, ok bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.workers, z.ratio, z.done
}
