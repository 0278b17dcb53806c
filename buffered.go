package molotov

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The bytes of response bodies that the scenarios in flight have read are
// held against a budget for the whole run (Runner.MaxBufferedBytes):
// MaxResponseBytes bounds one response, but 500 workers each holding a
// 64 MiB body (a gzip bomb read with io.ReadAll) would need 32 GiB. A body
// counts its bytes in steps of bufferStep, so a small response touches no
// shared counter; a scenario run gives back what its bodies counted when
// it ends.

// bufferStep is how many bytes a body reads between two updates of the
// run's count: responses smaller than it cost nothing.
const bufferStep = 64 << 10

// bufferBudget is the run's count of body bytes held by scenario runs in
// flight, against its limit.
type bufferBudget struct {
	limit int64
	held  atomic.Int64
}

// take counts n more bytes held by s, and reports false when that puts
// the run over its limit (the bytes are then not counted).
func (b *bufferBudget) take(s *Session, n int64) bool {
	if b.held.Add(n) > b.limit {
		b.held.Add(-n)
		return false
	}
	s.buffered.Add(n)
	return true
}

// release gives back what s's bodies counted, at the end of a scenario
// run.
func (b *bufferBudget) release(s *Session) {
	if s.buffered.Load() == 0 { // the common case: a plain load, no locked instruction
		return
	}
	if n := s.buffered.Swap(0); n != 0 {
		b.held.Add(-n)
	}
}

// BufferLimitError is the failure of a scenario run whose response bodies
// would have taken the bytes held by every run in flight past
// Runner.MaxBufferedBytes.
type BufferLimitError struct {
	Limit   int64  // Runner.MaxBufferedBytes
	Request string // the request name of the body being read
}

func (e *BufferLimitError) Error() string {
	return fmt.Sprintf("molotov: %s: the scenario runs in flight hold more than %d MiB of response bodies (Runner.MaxBufferedBytes, -molotov.max-buffered); read bodies in a stream (io.Copy to io.Discard, a json.Decoder) instead of io.ReadAll, use fewer workers, or raise the limit",
		e.Request, e.Limit>>20)
}

// defaultMaxBufferedBytes is a quarter of the machine's memory (1 GiB
// where it cannot be read).
var defaultMaxBufferedBytes = sync.OnceValue(func() int64 {
	if total := memTotal(); total > 0 {
		return total / 4
	}
	return 1 << 30
})

// memTotal reads the machine's memory from /proc/meminfo; 0 when it
// cannot.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
