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
