package proccpu

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsedCountsBusyThreads spins on two goroutines for a while and
// checks that the process's CPU time grew by at least half of what they
// spun, and by no more than all its threads could have used meanwhile.
func TestUsedCountsBusyThreads(t *testing.T) {
	before, ok := Used()
	if !ok {
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
			t.Fatalf("Used: not available on %s", runtime.GOOS)
		}
		t.Skipf("Used: not available on %s", runtime.GOOS)
	}
	const spin = 100 * time.Millisecond
	start := time.Now()
	done := make(chan time.Duration, 2)
	for range 2 {
		go func() {
			t0 := time.Now()
			for time.Since(t0) < spin {
			}
			done <- time.Since(t0)
		}()
	}
	<-done
	<-done
	wall := time.Since(start)
	after, ok := Used()
	require.True(t, ok)
	got := after - before
	// At least half of one spinner's time even on a machine busy with
	// other work; at most every thread busy the whole time, with room
	// for the clock's granularity.
	assert.GreaterOrEqual(t, got, spin/2, "CPU time used while spinning")
	assert.LessOrEqual(t, got, time.Duration(runtime.NumCPU())*wall+20*time.Millisecond, "more CPU time than the machine has")
}
