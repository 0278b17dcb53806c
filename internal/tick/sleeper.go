package tick

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Sleeper waits for delays measured in microseconds, for a goroutine that
// must wake on time even when the process is otherwise idle. A runtime
// timer cannot: an idle process waits for it in the network poller with
// a timeout in whole milliseconds, so a 200 µs sleep lasts a millisecond.
// On Linux a Sleeper waits on a one-shot timerfd that the network poller
// watches like a socket, which wakes within microseconds; elsewhere it
// waits on a time.Timer.
//
// A Sleeper is used by one goroutine at a time; Close may be called from
// any goroutine.
type Sleeper struct {
	f      *os.File // the timer file; nil on the time.Timer fallback
	rc     syscall.RawConn
	arm    func(fd uintptr) // sets the timer file to expire after d; made once, so that Sleep does not allocate
	d      time.Duration
	armErr error
	buf    [8]byte // the timer file's count of expiries, read and ignored
	t      *time.Timer
	quit   chan struct{} // closed by Close
	closed atomic.Bool
}

// NewSleeper returns a Sleeper; Close releases it.
func NewSleeper() *Sleeper {
	s := &Sleeper{quit: make(chan struct{})}
	if f, err := newTimerFileAt(0, 0); err == nil {
		if rc, err := f.SyscallConn(); err == nil {
			s.f, s.rc = f, rc
			s.arm = func(fd uintptr) { s.armErr = rearm(fd, s.d) }
			return s
		}
		f.Close()
	}
	return newTimerSleeper()
}

// newTimerSleeper is NewSleeper on a time.Timer, where there is no timer
// file.
func newTimerSleeper() *Sleeper {
	s := &Sleeper{quit: make(chan struct{}), t: time.NewTimer(time.Hour)}
	s.t.Stop()
	return s
}

// Sleep waits d; it reports false, at once or as soon as it is called,
// when Close was called.
func (s *Sleeper) Sleep(d time.Duration) bool {
	if s.closed.Load() {
		return false
	}
	d = max(d, time.Nanosecond) // a zero expiry disarms a timerfd
	if s.f == nil {
		s.t.Reset(d)
		select {
		case <-s.t.C:
			return !s.closed.Load() // Close may have come as the timer fired
		case <-s.quit:
			s.t.Stop()
			return false
		}
	}
	s.d = d
	if s.rc.Control(s.arm) != nil || s.armErr != nil {
		return false // closed
	}
	_, err := s.f.Read(s.buf[:]) // closing the file makes a blocked read return at once
	return err == nil && !s.closed.Load()
}

// Close ends a Sleep in progress and makes later ones return false. It
// may be called more than once, from any goroutine.
func (s *Sleeper) Close() {
	if s.closed.Swap(true) {
		return
	}
	close(s.quit)
	if s.f != nil {
		s.f.Close()
	}
}
