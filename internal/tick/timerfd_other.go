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

func newTimerFileAt(time.Duration, time.Duration) (*os.File, error) {
	return newTimerFile(0)
}

func rearm(*os.File, time.Duration) error {
	return errors.New("tick: no timerfd on this system")
}
