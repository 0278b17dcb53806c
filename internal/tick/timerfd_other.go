//go:build !linux

package tick

import (
	"errors"
	"os"
	"time"
)

// newTimerFile has no timerfd to offer outside Linux: Start and Schedule
// fall back to a time.Timer.
func newTimerFile(time.Duration) (*os.File, error) {
	return nil, errors.New("tick: no timerfd on this system")
}

func newTimerFileAt(time.Duration, time.Duration) (*os.File, error) {
	return newTimerFile(0)
}

func rearm(uintptr, time.Duration) error {
	return errors.New("tick: no timerfd on this system")
}
