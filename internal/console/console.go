// Package console writes a run's output: log lines, a live status line that
// is redrawn in place on a terminal (or printed periodically elsewhere), and
// the final summary table.
package console

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/molotov-go/molotov/internal/tick"
)

// eraseLine returns the cursor to column 0 and clears the line.
const eraseLine = "\r\x1b[K"

// defaultInterval is used by Live when given a non-positive interval.
const defaultInterval = time.Second

// IsTerminal reports whether w is an *os.File whose file descriptor is a
// terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	isTerm := false
	// SyscallConn, unlike Fd, leaves the file in non-blocking mode.
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	if err := rc.Control(func(fd uintptr) { isTerm = term.IsTerminal(int(fd)) }); err != nil {
		return false
	}
	return isTerm
}

// Console serialises everything written to one io.Writer, the run's output.
// On a terminal it keeps a status line drawn at the bottom: log lines are
// written above it and the status line is redrawn after each of them.
//
// A Console is safe for concurrent use.
type Console struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	status   string // last status line drawn on a terminal
	drawn    bool   // whether status is currently drawn
	buf      []byte // scratch buffer, reused under mu
}

// New returns a Console writing to w. terminal selects the in-place status
// line (see IsTerminal); otherwise every status is written as a plain line.
func New(w io.Writer, terminal bool) *Console {
	return &Console{w: w, terminal: terminal}
}

// Println writes line followed by a newline. On a terminal with a status line
// drawn, the status line is erased first and redrawn after line.
func (c *Console) Println(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.begin()
	b = append(b, line...)
	b = append(b, '\n')
	_ = c.flush(c.end(b))
}

// Write writes p as log output, with the same behaviour as Println except
// that p is written as is: it normally already ends with a newline, and one is
// added only when a status line must be redrawn after it. Write returns
// len(p) on success.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.begin()
	b = append(b, p...)
	if c.drawn && len(p) > 0 && p[len(p)-1] != '\n' {
		b = append(b, '\n')
	}
	if err := c.flush(c.end(b)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Status shows line as the current status. On a terminal it redraws the
// status line in place (without a newline) and remembers it so that Println
// can redraw it; otherwise it writes line followed by a newline.
func (c *Console) Status(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf[:0]
	if c.terminal {
		c.status = c.fit(line)
		c.drawn = true
		b = append(b, eraseLine...)
		b = append(b, c.status...)
	} else {
		b = append(b, line...)
		b = append(b, '\n')
	}
	_ = c.flush(b)
}

// Live shows status() every interval (a non-positive interval means one
// second) from one goroutine, from the first interval on: at the start
// there is nothing to show yet. An empty status means there is still (or
// again) nothing to show, and draws nothing. status is never called
// concurrently with itself.
//
// The returned stop function stops and waits for the goroutine, then draws
// the final status once: on a terminal the status line is ended with a newline
// so that later output starts on a fresh line; elsewhere the final status is
// printed as one more line. An empty final status prints nothing, and
// erases the status line drawn on a terminal. After stop, Println writes
// plain lines. stop is idempotent and safe for concurrent use.
func (c *Console) Live(interval time.Duration, status func() string) (stop func()) {
	if interval <= 0 {
		interval = defaultInterval
	}
	// A tick, not a time.Ticker: no runtime timer stays pending for the
	// run (see internal/tick).
	stopTick := tick.Start(interval, func() {
		if line := status(); line != "" {
			c.Status(line)
		}
	})

	var once sync.Once
	return func() {
		once.Do(func() {
			stopTick()
			c.final(status())
		})
	}
}

// final draws the last status and forgets it; an empty one erases the
// status line drawn on a terminal.
func (c *Console) final(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf[:0]
	switch {
	case line == "" && c.terminal && c.drawn:
		b = append(b, eraseLine...)
	case line == "":
	case c.terminal:
		b = append(b, eraseLine...)
		b = append(b, c.fit(line)...)
		b = append(b, '\n')
	default:
		b = append(b, line...)
		b = append(b, '\n')
	}
	c.status, c.drawn = "", false
	if len(b) > 0 {
		_ = c.flush(b)
	}
}

// begin starts a log write, erasing a drawn status line. c.mu must be held.
func (c *Console) begin() []byte {
	b := c.buf[:0]
	if c.terminal && c.drawn {
		b = append(b, eraseLine...)
	}
	return b
}

// end finishes a log write, redrawing a drawn status line. c.mu must be held.
func (c *Console) end(b []byte) []byte {
	if c.terminal && c.drawn {
		b = append(b, eraseLine...)
		b = append(b, c.status...)
	}
	return b
}

// flush writes b in one call and keeps it as the scratch buffer. c.mu must
// be held.
func (c *Console) flush(b []byte) error {
	const maxKeep = 64 << 10
	_, err := c.w.Write(b)
	if cap(b) <= maxKeep {
		c.buf = b[:0]
	}
	if err != nil {
		return fmt.Errorf("console: write: %w", err)
	}
	return nil
}

// fit cuts line to the terminal width when it is known, so that the status
// line never wraps (a wrapped line could not be erased in place).
func (c *Console) fit(line string) string {
	f, ok := c.w.(*os.File)
	if !ok {
		return line
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return line
	}
	width := 0
	if err := rc.Control(func(fd uintptr) {
		if w, _, err := term.GetSize(int(fd)); err == nil {
			width = w
		}
	}); err != nil || width <= 1 {
		return line
	}
	n := 0
	for i := range line {
		if n == width-1 {
			return line[:i]
		}
		n++
	}
	return line
}
