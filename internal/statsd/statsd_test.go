package statsd

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientSendsLinesOverUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	c, err := Dial("udp://" + pc.LocalAddr().String())
	require.NoError(t, err)
	c.Timing("molotov.request.GET./items", 12500*time.Microsecond)
	c.Count("molotov.scenario.list.ok", 1)
	c.Count("molotov.scenario.list.ok", 2)
	require.NoError(t, c.Close(time.Second))

	var got []string
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(got) < 3 {
		n, _, err := pc.ReadFrom(buf)
		require.NoError(t, err, "lines so far: %q", got)
		assert.LessOrEqual(t, n, MaxPacket)
		got = append(got, strings.Split(strings.TrimSuffix(string(buf[:n]), "\n"), "\n")...)
	}
	assert.Equal(t, []string{"molotov.request.GET./items:12.5|ms", "molotov.scenario.list.ok:1|c", "molotov.scenario.list.ok:2|c"}, got)
	assert.EqualValues(t, 3, c.Sent())
	assert.Zero(t, c.Dropped())
}

func TestClientPacksDatagrams(t *testing.T) {
	var mu sync.Mutex
	var packets []string
	c := New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		packets = append(packets, string(p))
		return len(p), nil
	}))
	const n = 1000
	for i := 0; i < n; i++ {
		c.Count("molotov.scenario.some_scenario_name.ok", 1)
	}
	require.NoError(t, c.Close(time.Second))
	lines := 0
	for _, p := range packets {
		assert.LessOrEqual(t, len(p), MaxPacket)
		lines += strings.Count(p, "\n")
	}
	assert.Equal(t, n, lines)
	assert.Less(t, len(packets), n/10, "lines are packed into datagrams")
}

// A sink that blocks never makes the caller wait: metrics beyond the queue
// are dropped and counted.
func TestClientNeverWaitsOnABlockedSink(t *testing.T) {
	release := make(chan struct{})
	var wrote sync.WaitGroup
	wrote.Add(1)
	var once sync.Once
	c := New(writerFunc(func(p []byte) (int, error) {
		once.Do(wrote.Done)
		<-release
		return len(p), nil
	}))
	const n = 5 * QueueLen
	start := time.Now()
	for i := 0; i < n; i++ {
		c.Timing("x", time.Millisecond)
		if i == 100 {
			// Let the sender take a first datagram and block in Write.
			time.Sleep(2 * FlushEvery)
		}
	}
	took := time.Since(start)
	assert.Less(t, took, 2*time.Second, "%d metrics queued or dropped without waiting", n)
	assert.GreaterOrEqual(t, c.Dropped(), int64(n-QueueLen-MaxPacket), "the queue is bounded")
	close(release)
	require.NoError(t, c.Close(5*time.Second))
	assert.EqualValues(t, n, c.Sent()+c.Dropped(), "every metric is sent or counted as dropped")
}

func TestMetricsAfterCloseAreDropped(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	c, err := Dial(pc.LocalAddr().String())
	require.NoError(t, err)
	c.Count("a", 1)
	require.NoError(t, c.Close(time.Second))
	c.Count("after.close", 1)
	assert.EqualValues(t, 1, c.Dropped(), "a metric after Close is dropped")
}

func TestParseAddress(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"udp://127.0.0.1:8125", "127.0.0.1:8125", ""},
		{"udp://localhost", "localhost:8125", ""},
		{"127.0.0.1:9999", "127.0.0.1:9999", ""},
		{"localhost", "localhost:8125", ""},
		{"", "", "empty"},
		{"tcp://127.0.0.1:8125", "", "only udp"},
		{"udp://127.0.0.1:99999", "", "port"},
		{"127.0.0.1:abc", "", "port"},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if tt.err != "" {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got)
	}
}

func TestName(t *testing.T) {
	assert.Equal(t, "molotov.request.GET./items/{id}", Name("molotov", "request", "GET /items/{id}"))
	assert.Equal(t, "a.b_c_d_e_f", Name("a", "b:c|d@e#f"))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
