package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/goleak"
	"golang.org/x/term"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const el = eraseLine

func TestIsTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()

	tests := []struct {
		name string
		w    io.Writer
		want bool
	}{
		{"pty", tty, true},
		{"buffer", &bytes.Buffer{}, false},
		{"nil writer", nil, false},
		{"nil file", (*os.File)(nil), false},
		{"discard", io.Discard, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTerminal(tt.w); got != tt.want {
				t.Errorf("IsTerminal = %v, want %v", got, tt.want)
			}
		})
	}
}

// script drives a Console through a sequence of calls.
func script(c *Console) {
	c.Println("first")
	c.Status("status 1")
	c.Println("log a")
	c.Status("status 2")
	c.Status("status 3")
	fmt.Fprintf(c, "log b\nlog c\n")
	fmt.Fprintf(c, "no newline")
	c.Println("log d")
}

func TestConsoleInterleaving(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		want     string
	}{
		{
			name: "plain",
			want: "first\n" +
				"status 1\n" +
				"log a\n" +
				"status 2\n" +
				"status 3\n" +
				"log b\nlog c\n" +
				"no newline" +
				"log d\n",
		},
		{
			name:     "terminal",
			terminal: true,
			want: "first\n" +
				el + "status 1" +
				el + "log a\n" + el + "status 1" +
				el + "status 2" +
				el + "status 3" +
				el + "log b\nlog c\n" + el + "status 3" +
				el + "no newline\n" + el + "status 3" +
				el + "log d\n" + el + "status 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			script(New(&buf, tt.terminal))
			if got := buf.String(); got != tt.want {
				t.Errorf("output mismatch\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestConsolePTY(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	ttyOpen := true
	defer func() {
		if ttyOpen {
			tty.Close()
		}
	}()
	if !IsTerminal(tty) {
		t.Fatal("IsTerminal(tty) = false, want true")
	}
	if IsTerminal(&bytes.Buffer{}) {
		t.Fatal("IsTerminal(*bytes.Buffer) = true, want false")
	}
	// Raw mode: no "\n" -> "\r\n" translation, so the bytes are exact.
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatalf("MakeRaw: %v", err)
	}

	// Read everything until the tty side is closed (read then fails with EIO).
	out := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, ptmx)
		out <- b.Bytes()
	}()

	c := New(tty, IsTerminal(tty))
	c.Status("SUCCESSES: 1")
	c.Status("SUCCESSES: 2")
	c.Println("a log line")
	c.Status("SUCCESSES: 3")
	stop := c.Live(time.Hour, func() string { return "SUCCESSES: 4" })
	stop()
	c.Println("after stop")

	ttyOpen = false
	tty.Close()
	var got []byte
	select {
	case got = <-out:
	case <-time.After(10 * time.Second):
		ptmx.Close()
		<-out
		t.Fatal("timeout reading the pseudo-terminal")
	}

	want := el + "SUCCESSES: 1" +
		el + "SUCCESSES: 2" +
		el + "a log line\n" + el + "SUCCESSES: 2" +
		el + "SUCCESSES: 3" +
		el + "SUCCESSES: 4\n" + // stop's final draw: the hour-long interval never ticked
		"after stop\n"
	if string(got) != want {
		t.Errorf("pty output mismatch\n got: %q\nwant: %q", got, want)
	}
	for _, sub := range []string{el + "SUCCESSES: 1", el + "a log line\n" + el + "SUCCESSES: 2"} {
		if !bytes.Contains(got, []byte(sub)) {
			t.Errorf("pty output %q does not contain %q", got, sub)
		}
	}
}

func TestStatusFitsWidth(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 10}); err != nil {
		t.Fatalf("Setsize: %v", err)
	}
	c := New(tty, true)
	c.Status("0123456789abcdef")
	if got, want := c.status, "012345678"; got != want {
		t.Errorf("status cut to %q, want %q", got, want)
	}
	c.Status("µµµµµµµµµµµ")
	if got, want := c.status, "µµµµµµµµµ"; got != want {
		t.Errorf("status cut to %q, want %q", got, want)
	}
}

func TestLive(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
	}{
		{"plain", false},
		{"terminal", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := New(&buf, tt.terminal)
			var calls atomic.Int64
			stop := c.Live(10*time.Millisecond, func() string {
				return fmt.Sprintf("tick %d", calls.Add(1))
			})
			time.Sleep(100 * time.Millisecond)
			stop()
			stop() // idempotent
			n := calls.Load()
			c.Println("after")

			// At least two ticks + the final draw.
			if n < 3 {
				t.Fatalf("status called %d times, want at least 3", n)
			}
			if got := calls.Load(); got != n {
				t.Fatalf("status called after stop: %d then %d", n, got)
			}
			out := buf.String()
			var want string
			if tt.terminal {
				want = el + fmt.Sprintf("tick %d\n", n) + "after\n"
			} else {
				want = fmt.Sprintf("tick %d\n", n-1) + fmt.Sprintf("tick %d\n", n) + "after\n"
			}
			if !strings.HasSuffix(out, want) {
				t.Errorf("output ends with %q, want suffix %q", tail(out, 60), want)
			}
			draws := strings.Count(out, "tick ")
			if int64(draws) != n {
				t.Errorf("%d status draws in output, want %d", draws, n)
			}
		})
	}
}

// Live draws nothing before its first interval, nor any empty status: at
// the start of a run, and after its end, there is nothing to show. An empty
// final status erases the line drawn on a terminal.
func TestLiveDrawsOnlySomethingToShow(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		want     string
	}{
		{"plain", false, "tick 2\ntick 3\n"},
		{"terminal", true, el + "tick 2" + el + "tick 3" + el},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			c := New(&buf, tt.terminal)
			var calls atomic.Int64
			ticked := make(chan struct{})
			stop := c.Live(20*time.Millisecond, func() string {
				switch n := calls.Add(1); {
				case n == 1: // nothing to show yet
					return ""
				case n <= 3:
					return fmt.Sprintf("tick %d", n)
				case n == 4:
					close(ticked)
				}
				return "" // nothing to show any more, the final status included
			})
			if got := buf.String(); got != "" {
				t.Errorf("Live drew %q at once, before its first interval", got)
			}
			select {
			case <-ticked:
			case <-time.After(10 * time.Second):
				t.Fatal("Live did not tick")
			}
			stop()
			if got := buf.String(); got != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLiveConcurrentStop(t *testing.T) {
	var buf bytes.Buffer
	c := New(&buf, true)
	stop := c.Live(time.Millisecond, func() string { return "s" })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop()
		}()
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "s\n"); got != 1 {
		t.Errorf("final status drawn %d times, want 1", got)
	}
}

func TestConsoleConcurrent(t *testing.T) {
	const goroutines, iterations = 16, 200
	logRe := regexp.MustCompile(`^(log|write)-\d+-\d+\n$`)
	statusRe := regexp.MustCompile(`^status-\d+-\d+$`)

	for _, terminal := range []bool{false, true} {
		t.Run(fmt.Sprintf("terminal=%v", terminal), func(t *testing.T) {
			var buf bytes.Buffer
			c := New(&buf, terminal)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range iterations {
						switch i % 3 {
						case 0:
							c.Println(fmt.Sprintf("log-%d-%d", g, i))
						case 1:
							fmt.Fprintf(c, "write-%d-%d\n", g, i)
						default:
							c.Status(fmt.Sprintf("status-%d-%d", g, i))
						}
					}
				}()
			}
			wg.Wait()

			out := buf.String()
			var logs, statuses int
			if terminal {
				// Every piece between two erase sequences is either a
				// whole log line or a whole status line.
				pieces := strings.Split(out, el)
				// Before the first status, log lines follow each other.
				if pieces[0] != "" {
					lines := strings.SplitAfter(pieces[0], "\n")
					if lines[len(lines)-1] != "" {
						t.Fatalf("broken first piece %q", pieces[0])
					}
					for _, l := range lines[:len(lines)-1] {
						if !logRe.MatchString(l) {
							t.Fatalf("broken first piece %q", pieces[0])
						}
						logs++
					}
				}
				for _, p := range pieces[1:] {
					switch {
					case logRe.MatchString(p):
						logs++
					case statusRe.MatchString(p):
						statuses++
					default:
						t.Fatalf("broken piece %q", p)
					}
				}
			} else {
				lines := strings.SplitAfter(out, "\n")
				if last := lines[len(lines)-1]; last != "" {
					t.Fatalf("output does not end with a newline: %q", last)
				}
				for _, l := range lines[:len(lines)-1] {
					switch {
					case logRe.MatchString(l):
						logs++
					case statusRe.MatchString(strings.TrimSuffix(l, "\n")):
						statuses++
					default:
						t.Fatalf("broken line %q", l)
					}
				}
			}
			var wantLogs, wantStatuses int
			for i := range iterations {
				if i%3 == 2 {
					wantStatuses += goroutines
				} else {
					wantLogs += goroutines
				}
			}
			if logs != wantLogs {
				t.Errorf("%d log lines, want %d", logs, wantLogs)
			}
			if terminal {
				wantStatuses += logs // each log line redraws the status once one is drawn
				if statuses > wantStatuses || statuses < wantStatuses-logs {
					t.Errorf("%d status draws, want between %d and %d", statuses, wantStatuses-logs, wantStatuses)
				}
			} else if statuses != wantStatuses {
				t.Errorf("%d status lines, want %d", statuses, wantStatuses)
			}
		})
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteError(t *testing.T) {
	sentinel := errors.New("disk full")
	c := New(errWriter{sentinel}, false)
	n, err := c.Write([]byte("x\n"))
	if n != 0 || !errors.Is(err, sentinel) {
		t.Errorf("Write = %d, %v; want 0 and an error wrapping %v", n, err, sentinel)
	}
	c.Println("ignored") // must not panic
	c.Status("ignored")

	var buf bytes.Buffer
	n, err = New(&buf, true).Write([]byte("abc\n"))
	if n != 4 || err != nil {
		t.Errorf("Write = %d, %v; want 4, nil", n, err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe to read while a Console writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
