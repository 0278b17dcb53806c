package faultserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: Close
// must end every goroutine the server started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// client returns a client of its own, whose idle connections are closed
// when the test ends.
func client(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// get GETs path and reads the whole body; it returns the response (nil on
// a request error), the body read and the first error met.
func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestPaths(t *testing.T) {
	s := New(t)
	c := client(t, 500*time.Millisecond)
	for _, tc := range []struct {
		path    string
		status  int    // expected status when the response parses
		body    string // expected body when the whole body reads
		errWant string // expected error substring; "" when none
	}{
		{path: PathOK, status: 200, body: "ok"},
		{path: PathOK + "?delay=20ms", status: 200, body: "ok"},
		{path: PathReset, status: 200, errWant: "connection reset by peer"},
		{path: PathCloseBeforeAnswer, errWant: "EOF"},
		{path: PathHang, errWant: "Client.Timeout exceeded"},
		{path: PathStallBody, status: 200, errWant: "Client.Timeout"},
		{path: PathTrickle, status: 200, errWant: "Client.Timeout"},
		{path: PathTrickle + "?bytes=5&every=1ms", status: 200, body: "ttttt"},
		{path: PathShortBody, status: 200, errWant: "unexpected EOF"},
		{path: PathBadStatus, errWant: "malformed HTTP status code"},
		{path: PathBadHeader, errWant: "malformed MIME header"},
		{path: Path500, status: 500, body: "storm"},
		{path: Path503, status: 503, body: "storm"},
		{path: PathRedirectLoop, errWant: "stopped after 10 redirects"},
		{path: PathHuge + "?bytes=100000", status: 200, body: strings.Repeat("x", 100000)},
		{path: "/nowhere", status: 404, body: "not found"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			resp, body, err := get(t, c, s.URL+tc.path)
			if tc.errWant != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.errWant)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.body, string(body))
			}
			if resp != nil {
				assert.Equal(t, tc.status, resp.StatusCode)
			}
		})
	}
	assert.EqualValues(t, 10, s.Hits(PathRedirectLoop), "net/http sends 10 requests, then refuses the 10th redirect")
	c.CloseIdleConnections()
	assert.Zero(t, s.WaitOpen(2*time.Second), "a connection outlived its client")
}

func TestResetIsARST(t *testing.T) {
	s := New(t)
	conn := dial(t, s)
	_, err := io.WriteString(conn, "GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = io.ReadAll(conn)
	assert.ErrorIs(t, err, syscall.ECONNRESET, "a RST, not a clean close")
}

func TestRetryAfterAndHeaders(t *testing.T) {
	s := New(t)
	resp, _, err := get(t, client(t, time.Second), s.URL+Path503)
	require.NoError(t, err)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
}

func TestLongBodyOverrunsContentLength(t *testing.T) {
	s := New(t)
	conn := dial(t, s)
	_, err := io.WriteString(conn, "GET /long-body HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.EqualValues(t, LongDeclared, resp.ContentLength)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Len(t, body, LongDeclared)
	extra := make([]byte, LongSent-LongDeclared)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = io.ReadFull(br, extra)
	require.NoError(t, err, "the surplus follows on the connection")
	assert.Equal(t, strings.Repeat("L", LongSent-LongDeclared), string(extra))
}

func TestHugeAnnounces1GiBAndStreams(t *testing.T) {
	s := New(t)
	c := client(t, 10*time.Second)
	resp, err := c.Get(s.URL + PathHuge)
	require.NoError(t, err)
	assert.EqualValues(t, int64(1)<<30, resp.ContentLength)
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
	require.NoError(t, err)
	assert.EqualValues(t, 8<<20, n)
	resp.Body.Close() // closes the connection: the rest is not worth reading
	assert.Zero(t, s.WaitOpen(2*time.Second))
}

func TestHeaderFloodNeverEnds(t *testing.T) {
	s := New(t)
	tr := &http.Transport{MaxResponseHeaderBytes: 64 << 10}
	defer tr.CloseIdleConnections()
	_, err := (&http.Client{Transport: tr, Timeout: 2 * time.Second}).Get(s.URL + PathHeaderFlood)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "server response headers exceeded")
	assert.Zero(t, s.WaitOpen(2*time.Second))
}

// dial opens a raw connection to s, closed when the test ends.
func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestOpenCountsConnectionsUntilTheClientCloses(t *testing.T) {
	s := New(t)
	assert.Zero(t, s.Open())
	var conns []net.Conn
	for _, p := range []string{PathHang, PathStallBody, PathTrickle} {
		conn := dial(t, s)
		_, err := io.WriteString(conn, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		conns = append(conns, conn)
	}
	idle := dial(t, s) // a kept-alive connection after a normal answer
	_, err := io.WriteString(idle, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	_, err = http.ReadResponse(bufio.NewReader(idle), nil)
	require.NoError(t, err)
	conns = append(conns, idle)

	require.Eventually(t, func() bool { return s.Open() == 4 }, 2*time.Second, 5*time.Millisecond)
	assert.EqualValues(t, 4, s.Accepted())
	for _, conn := range conns {
		conn.Close()
	}
	assert.Zero(t, s.WaitOpen(2*time.Second), "the server noticed every close")
}

func TestKillDropsEveryConnectionAndRefusesNewOnes(t *testing.T) {
	s, err := Start()
	require.NoError(t, err)
	defer s.Close()
	var conns []net.Conn
	for _, p := range []string{PathHang, PathStallBody, PathTrickle, PathHuge, PathOK + "?delay=10s"} {
		conn := dial(t, s)
		_, err := io.WriteString(conn, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		conns = append(conns, conn)
	}
	require.Eventually(t, func() bool { return s.Open() == 5 }, 2*time.Second, 5*time.Millisecond)

	start := time.Now()
	s.Kill()
	for _, conn := range conns {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		assert.ErrorIs(t, err, syscall.ECONNRESET, "dropped with a RST")
	}
	assert.Zero(t, s.WaitOpen(2*time.Second))
	_, err = net.DialTimeout("tcp", s.Addr(), time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	s.Close()
	assert.Less(t, time.Since(start), 2*time.Second)
	s.Close() // twice is fine
}

func TestCloseEndsClientRequestsInFlight(t *testing.T) {
	s, err := Start()
	require.NoError(t, err)
	c := client(t, 0)
	errs := make(chan error, 3)
	for _, p := range []string{PathHang, PathStallBody, PathTrickle} {
		go func() {
			_, _, err := get(t, c, s.URL+p)
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return s.Open() == 3 }, 2*time.Second, 5*time.Millisecond)
	s.Close()
	for range 3 {
		select {
		case err := <-errs:
			assert.Error(t, err)
		case <-time.After(2 * time.Second):
			t.Fatal("a request outlived the server's Close")
		}
	}
	assert.Zero(t, s.Open())
}

func TestRefusedURL(t *testing.T) {
	u, err := RefusedURL()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(u, "http://127.0.0.1:"))
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u+"/", nil)
	require.NoError(t, err)
	_, err = client(t, time.Second).Do(req)
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestListensOnLoopbackOnly(t *testing.T) {
	s := New(t)
	host, _, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"))
}
