// Package faultserver is a loopback HTTP/1.1 server whose paths misbehave
// on purpose, for testing how a load test copes with a target about to
// break: connections reset mid-response, requests never answered, bodies
// that stall, trickle, overrun or fall short of their Content-Length,
// responses that do not parse, error storms, redirect loops, a body of
// 1 GiB, and the whole server killed in the middle of a run.
//
// It speaks HTTP over raw TCP (net/http cannot misbehave enough) and only
// on 127.0.0.1. It counts the connections it holds open right now
// ([Server.Open]), so a test can check that a client left none behind.
// [Server.Close] ends every connection and goroutine it started.
//
// Every path but the ones that end the connection keeps it alive, as a
// real server would. The paths:
//
//	/ok             200 "ok"; ?delay=50ms answers after the delay
//	/reset          headers (Content-Length 1024) and 100 bytes, 20ms later a TCP RST
//	/close          reads the request, closes the connection without a byte
//	/hang           reads the request, never answers; holds until the client or the server closes
//	/stall-body     headers (Content-Length 1024) and 10 bytes, then nothing
//	/trickle        Content-Length 1000 (?bytes=N), one byte every 10ms (?every=D)
//	/long-body      Content-Length 16, then 32 bytes of body
//	/short-body     Content-Length 64, then 32 bytes and a close
//	/bad-status     "HTTP/1.1 2x0 Okay" as the status line
//	/status         "HTTP/1.1 CODE Odd" with ?code=CODE as sent, three digits ("000", "999")
//	/bad-header     a header line without a colon
//	/500            500 Internal Server Error, every time
//	/503            503 Service Unavailable with Retry-After: 1, every time
//	/redirect-loop  302 to itself, every time
//	/huge           Content-Length 1 GiB (?bytes=N), streamed from one small buffer
//	/header-flood   a status line then header lines without end
//
// Any other path is a 404.
package faultserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The paths the server serves; see the package documentation.
const (
	PathOK                = "/ok"
	PathReset             = "/reset"
	PathCloseBeforeAnswer = "/close"
	PathHang              = "/hang"
	PathStallBody         = "/stall-body"
	PathTrickle           = "/trickle"
	PathLongBody          = "/long-body"
	PathShortBody         = "/short-body"
	PathBadStatus         = "/bad-status"
	PathStatus            = "/status"
	PathBadHeader         = "/bad-header"
	Path500               = "/500"
	Path503               = "/503"
	PathRedirectLoop      = "/redirect-loop"
	PathHuge              = "/huge"
	PathHeaderFlood       = "/header-flood"
)

// Sizes and pauses of the misbehaving paths.
const (
	ResetDeclared     = 1024                  // /reset: Content-Length announced
	ResetSent         = 100                   // /reset: body bytes sent before the RST
	StallDeclared     = 1024                  // /stall-body: Content-Length announced
	StallSent         = 10                    // /stall-body: body bytes sent before the stall
	TrickleBytes      = 1000                  // /trickle: default body length
	TrickleEvery      = 10 * time.Millisecond // /trickle: default pause between bytes
	LongDeclared      = 16                    // /long-body: Content-Length announced
	LongSent          = 32                    // /long-body: body bytes sent
	ShortDeclared     = 64                    // /short-body: Content-Length announced
	ShortSent         = 32                    // /short-body: body bytes sent before the close
	HugeBytes         = 1 << 30               // /huge: default body length
	RetryAfterSeconds = 1                     // /503: Retry-After
)

// hugeChunk is the one buffer every /huge response is written from.
var hugeChunk = []byte(strings.Repeat("x", 64<<10))

// Server is a running fault server. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is "http://127.0.0.1:PORT", without a trailing slash.
	URL string

	ln     *net.TCPListener
	killed chan struct{} // closed by Kill: every handler stops waiting
	once   sync.Once
	wg     sync.WaitGroup // the accept loop and every connection's handler

	mu    sync.Mutex
	conns map[*net.TCPConn]struct{}
	dead  bool // Kill ran: connections accepted from now on are dropped

	accepted atomic.Int64
	hitsMu   sync.Mutex
	hits     map[string]int64
}

// Start starts a server on 127.0.0.1 and an ephemeral port.
func Start() (*Server, error) {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("faultserver: listen on 127.0.0.1: %w", err)
	}
	s := &Server{
		URL:    "http://" + ln.Addr().String(),
		ln:     ln,
		killed: make(chan struct{}),
		conns:  make(map[*net.TCPConn]struct{}),
		hits:   make(map[string]int64),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// New starts a server and closes it when the test ends; it fails the test
// if the server cannot start.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Open returns the number of connections the server holds open right now:
// accepted and not yet closed by either side (a close by the client is
// seen at once on the paths that wait, and at the next write on the paths
// that write).
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Accepted returns the number of connections accepted since the start.
func (s *Server) Accepted() int64 { return s.accepted.Load() }

// Hits returns the number of requests received on path.
func (s *Server) Hits(path string) int64 {
	s.hitsMu.Lock()
	defer s.hitsMu.Unlock()
	return s.hits[path]
}

// WaitOpen polls until no connection is open or within has passed, and
// returns the number still open.
func (s *Server) WaitOpen(within time.Duration) int {
	deadline := time.Now().Add(within)
	for {
		n := s.Open()
		if n == 0 || !time.Now().Before(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Kill kills the server in the middle of whatever it does: it stops
// listening (new connections are refused) and drops every open connection
// with a TCP RST. It returns at once; handlers end in the background (see
// Close). Calling it again does nothing.
func (s *Server) Kill() {
	s.once.Do(func() {
		s.ln.Close()
		s.mu.Lock()
		s.dead = true
		for c := range s.conns {
			c.SetLinger(0)
			c.Close()
		}
		s.mu.Unlock()
		close(s.killed) // only now: a handler that wakes up finds its connection reset already
	})
}

// Close kills the server (see Kill) and waits until every goroutine it
// started has ended. Calling it again does nothing.
func (s *Server) Close() {
	s.Kill()
	s.wg.Wait()
}

// RefusedURL returns "http://127.0.0.1:PORT" for a port that nothing
// listens on: it listens on an ephemeral port and closes it again, so a
// connection to it is refused (unless another process takes the port in
// between, which is unlikely right away).
func RefusedURL() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("faultserver: listen on 127.0.0.1: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return "http://" + addr, nil
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-s.killed:
				return
			case <-time.After(5 * time.Millisecond): // EMFILE and the like: retry
				continue
			}
		}
		s.mu.Lock()
		if s.dead {
			s.mu.Unlock()
			c.SetLinger(0)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		go s.serveConn(c)
	}
}

// forget closes c, with a RST once the server is killed, and stops
// counting it.
func (s *Server) forget(c *net.TCPConn) {
	s.mu.Lock()
	if s.dead {
		c.SetLinger(0)
	}
	c.Close()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) hit(path string) {
	s.hitsMu.Lock()
	s.hits[path]++
	s.hitsMu.Unlock()
}

// serveConn reads requests from c and answers them until a path ends the
// connection, the client closes it or the server is killed.
func (s *Server) serveConn(c *net.TCPConn) {
	defer s.wg.Done()
	defer s.forget(c)
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		// The paths care for the request line only; a body is skipped.
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		req.Body.Close()
		s.hit(req.URL.Path)
		if !s.answer(c, br, req) {
			return
		}
	}
}

// answer writes the response for req on c; it reports whether the
// connection stays open for another request.
func (s *Server) answer(c *net.TCPConn, br *bufio.Reader, req *http.Request) (keep bool) {
	q := req.URL.Query()
	switch req.URL.Path {
	case PathOK:
		if d, err := time.ParseDuration(q.Get("delay")); err == nil && d > 0 && !s.pause(d) {
			return false
		}
		return writeString(c, head(200, "OK", 2)+"ok")
	case PathReset:
		if !writeString(c, head(200, "OK", ResetDeclared)+strings.Repeat("r", ResetSent)) {
			return false
		}
		// Let the headers and the first bytes reach the client, so that the
		// reset comes in the middle of the response, then reset.
		s.pause(20 * time.Millisecond)
		c.SetLinger(0)
		return false
	case PathCloseBeforeAnswer:
		return false
	case PathHang:
		s.hold(br)
		return false
	case PathStallBody:
		if !writeString(c, head(200, "OK", StallDeclared)+strings.Repeat("s", StallSent)) {
			return false
		}
		s.hold(br)
		return false
	case PathTrickle:
		n := intParam(q.Get("bytes"), TrickleBytes)
		every := TrickleEvery
		if d, err := time.ParseDuration(q.Get("every")); err == nil && d > 0 {
			every = d
		}
		if !writeString(c, head(200, "OK", int64(n))) {
			return false
		}
		for i := 0; i < n; i++ {
			if !s.pause(every) || !writeString(c, "t") {
				return false
			}
		}
		return true
	case PathLongBody:
		return writeString(c, head(200, "OK", LongDeclared)+strings.Repeat("L", LongSent))
	case PathShortBody:
		writeString(c, head(200, "OK", ShortDeclared)+strings.Repeat("S", ShortSent))
		return false
	case PathBadStatus:
		writeString(c, "HTTP/1.1 2x0 Okay\r\nContent-Length: 2\r\n\r\nok")
		return false
	case PathStatus:
		code := q.Get("code")
		if len(code) != 3 || strings.Trim(code, "0123456789") != "" {
			return writeString(c, head(400, "Bad Request", 14)+"code=3 digits\n")
		}
		return writeString(c, "HTTP/1.1 "+code+" Odd\r\nContent-Length: 3\r\n\r\nodd")
	case PathBadHeader:
		writeString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis line has no colon\r\n\r\nok")
		return false
	case Path500:
		return writeString(c, head(500, "Internal Server Error", 5)+"storm")
	case Path503:
		return writeString(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: "+strconv.Itoa(RetryAfterSeconds)+
			"\r\nContent-Length: 5\r\n\r\nstorm")
	case PathRedirectLoop:
		return writeString(c, "HTTP/1.1 302 Found\r\nLocation: "+PathRedirectLoop+"\r\nContent-Length: 0\r\n\r\n")
	case PathHuge:
		n := int64(intParam(q.Get("bytes"), HugeBytes))
		if !writeString(c, head(200, "OK", n)) {
			return false
		}
		for n > 0 {
			chunk := hugeChunk
			if int64(len(chunk)) > n {
				chunk = chunk[:n]
			}
			w, err := c.Write(chunk)
			if err != nil {
				return false
			}
			n -= int64(w)
		}
		return true
	case PathHeaderFlood:
		if !writeString(c, "HTTP/1.1 200 OK\r\n") {
			return false
		}
		line := []byte("X-Flood: " + strings.Repeat("f", 1000) + "\r\n")
		for {
			if _, err := c.Write(line); err != nil {
				return false
			}
		}
	default:
		return writeString(c, head(404, "Not Found", 9)+"not found")
	}
}

// head is a status line and a Content-Length header, ready for the body.
func head(code int, text string, length int64) string {
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.FormatInt(length, 10) + "\r\n\r\n"
}

func writeString(c net.Conn, s string) bool {
	_, err := io.WriteString(c, s)
	return err == nil
}

func intParam(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n
	}
	return def
}

// pause waits d, or less when the server is killed; it reports whether
// the whole pause passed.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.killed:
		return false
	}
}

// hold keeps the connection without answering until the client closes it
// or the server is killed; whatever the client sends meanwhile is read and
// ignored.
func (s *Server) hold(br *bufio.Reader) {
	io.Copy(io.Discard, br)
}
