//go:build !linux

package tick

import (
	"errors"
	"os"
	"time"
)

// newTimerFile has no timerfd to offer outside Linux: Start falls back to
// a time.Ticker.
func newTimerFile(time.Duration) (*os.File, error) {
	return nil, errors.New("tick: no timerfd on this system")
}
