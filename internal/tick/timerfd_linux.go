package tick

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// newTimerFile returns a non-blocking periodic timerfd as an *os.File,
// which registers it with the runtime's network poller.
func newTimerFile(period time.Duration) (*os.File, error) {
	return newTimerFileAt(period, period)
}

// newTimerFileAt returns a non-blocking timerfd, as an *os.File, that
// expires first after first, then every interval (never when zero).
func newTimerFileAt(first, interval time.Duration) (*os.File, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	if err := setTimer(fd, first, interval); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "timerfd"), nil
}

// rearm makes the one-shot timer file fd expire once more, after d.
func rearm(fd uintptr, d time.Duration) error {
	return setTimer(int(fd), d, 0)
}

func setTimer(fd int, first, interval time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(first)), Interval: unix.NsecToTimespec(int64(interval))}
	if err := unix.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		return os.NewSyscallError("timerfd_settime", err)
	}
	return nil
}
