package advice

import "testing"

func TestChurning(t *testing.T) {
	for _, tt := range []struct {
		conns, requests, sessions int64
		want                      bool
	}{
		{0, 0, 0, false},
		{99, 99, 1, false},     // too few requests to tell
		{101, 101, 1, true},    // one each
		{61, 120, 60, false},   // a session's first connection, then one more
		{60, 120, 60, false},   // every session's connection kept: not 1 in 2, but each reused
		{200, 200, 200, false}, // a large pool's first requests
		{52, 102, 1, true},     // more new than reused
		{51, 101, 1, false},    // as many new as reused
		{10, 6294, 10, false},  // a pool kept open
		{6000, 6294, 10, true},
	} {
		if got := Churning(tt.conns, tt.requests, tt.sessions); got != tt.want {
			t.Errorf("Churning(%d, %d, %d) = %v, want %v", tt.conns, tt.requests, tt.sessions, got, tt.want)
		}
	}
}

func TestPoolOversized(t *testing.T) {
	for _, tt := range []struct {
		peak, pool int
		dropped    int64
		want       bool
	}{
		{1, 300, 0, true},   // Rate × 1s for a fast target
		{5, 20, 0, true},    // a quarter
		{6, 20, 0, false},   // more
		{2, 10, 0, false},   // a small pool: not worth a word
		{0, 300, 0, false},  // no busy workers counted (an older result)
		{30, 30, 0, false},  // all busy
		{75, 300, 0, true},  // a quarter
		{76, 300, 0, false}, // more
		{1, 300, 5, false},  // starts dropped: the pool's size is not what to look at
	} {
		if got := PoolOversized(tt.peak, tt.pool, tt.dropped); got != tt.want {
			t.Errorf("PoolOversized(%d, %d, %d) = %v, want %v", tt.peak, tt.pool, tt.dropped, got, tt.want)
		}
	}
}
