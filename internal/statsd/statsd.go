// Package statsd sends metrics to a statsd server without ever making the
// caller wait: Timing and Count put the metric in a bounded queue and
// return; one goroutine formats the queue into lines ("name:12.5|ms"),
// packs them into datagrams of at most MaxPacket bytes and writes them.
// When the queue is full (a slow or stuck sink) a metric is dropped and
// counted, never waited for.
package statsd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPacket bounds a datagram: lines are packed up to it, under the usual
// 1,500-byte Ethernet MTU.
const MaxPacket = 1432

// QueueLen is how many metrics wait for the sender before new ones are
// dropped.
const QueueLen = 16384

// FlushEvery is how long a partial datagram waits for more lines.
const FlushEvery = 100 * time.Millisecond

type kind uint8

const (
	kindTiming kind = iota
	kindCount
)

type metric struct {
	name  string
	value int64 // nanoseconds for a timing
	kind  kind
}

// Client queues metrics and sends them in the background. Its methods are
// safe for concurrent use.
type Client struct {
	w     io.Writer
	queue chan metric

	mu     sync.RWMutex // held to send to queue, and to close it
	closed bool

	dropped, sent, writeErrs atomic.Int64

	closeOnce sync.Once
	done      chan struct{}
	closer    io.Closer
}

// ParseAddress reads a statsd address: "udp://host:port", "host:port" or
// "host" (port 8125), like Molotov's --statsd-address.
func ParseAddress(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", errors.New("empty statsd address; write it like udp://127.0.0.1:8125")
	}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("statsd address %q does not parse: %v", s, err)
		}
		if u.Scheme != "udp" {
			return "", fmt.Errorf("statsd address %q: only udp:// is supported", s)
		}
		raw = u.Host
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil {
		host, port = raw, "8125"
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("statsd address %q: port %q is not 1..65535", s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// Dial returns a client sending to the UDP address addr (see
// ParseAddress).
func Dial(addr string) (*Client, error) {
	hostport, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("udp", hostport)
	if err != nil {
		return nil, fmt.Errorf("statsd %s: %w", hostport, err)
	}
	c := New(conn)
	c.closer = conn
	return c, nil
}

// New returns a client that writes datagrams to w, one Write per datagram.
func New(w io.Writer) *Client {
	c := &Client{w: w, queue: make(chan metric, QueueLen), done: make(chan struct{})}
	go c.send()
	return c
}

// Timing queues a timing, sent in milliseconds.
func (c *Client) Timing(name string, d time.Duration) { c.put(metric{name, int64(d), kindTiming}) }

// Count queues a counter increment.
func (c *Client) Count(name string, n int64) { c.put(metric{name, n, kindCount}) }

func (c *Client) put(m metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		c.dropped.Add(1)
		return
	}
	select {
	case c.queue <- m:
	default:
		c.dropped.Add(1)
	}
}

// Dropped returns how many metrics were dropped because the queue was
// full or the client closed.
func (c *Client) Dropped() int64 { return c.dropped.Load() }

// Sent returns how many metrics were written.
func (c *Client) Sent() int64 { return c.sent.Load() }

// WriteErrors returns how many datagrams failed to be written (a refused
// UDP port, for one).
func (c *Client) WriteErrors() int64 { return c.writeErrs.Load() }

// Close sends what is queued, waiting at most timeout for a stuck sink,
// and stops the client. Metrics queued after Close are dropped.
func (c *Client) Close(timeout time.Duration) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		close(c.queue)
		c.mu.Unlock()
	})
	select {
	case <-c.done:
	case <-time.After(timeout):
		if c.closer != nil {
			c.closer.Close() // unblocks the sender's Write
			<-c.done
		}
		return fmt.Errorf("statsd: sink still busy after %v; %d metrics dropped", timeout, c.Dropped())
	}
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

func (c *Client) send() {
	defer close(c.done)
	buf := make([]byte, 0, MaxPacket)
	var pending int64 // metrics in buf
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if _, err := c.w.Write(buf); err != nil {
			c.writeErrs.Add(1)
		} else {
			c.sent.Add(pending)
		}
		buf, pending = buf[:0], 0
	}
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	var line []byte
	for {
		select {
		case m, ok := <-c.queue:
			if !ok {
				flush()
				return
			}
			line = appendLine(line[:0], m)
			if len(buf)+len(line) > MaxPacket {
				flush()
			}
			buf = append(buf, line...)
			pending++
		case <-tick.C:
			flush()
		}
	}
}

// appendLine formats m as a statsd line, newline-terminated.
func appendLine(b []byte, m metric) []byte {
	b = append(b, m.name...)
	b = append(b, ':')
	switch m.kind {
	case kindTiming:
		b = strconv.AppendFloat(b, float64(m.value)/1e6, 'f', -1, 64)
		b = append(b, "|ms\n"...)
	default:
		b = strconv.AppendInt(b, m.value, 10)
		b = append(b, "|c\n"...)
	}
	return b
}

// Name makes a statsd-safe metric name: whitespace becomes ".", and the
// characters statsd reserves (: | @ #) become "_".
func Name(parts ...string) string {
	s := strings.Join(parts, ".")
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '\t':
			return '.'
		case r == ':' || r == '|' || r == '@' || r == '#' || r < ' ':
			return '_'
		}
		return r
	}, s)
}
