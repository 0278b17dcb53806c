package advice

import "testing"

func TestChurning(t *testing.T) {
	for _, tt := range []struct {
		conns, requests int64
		want            bool
	}{
		{0, 0, false},
		{50, 99, false},   // too few requests to tell
		{100, 100, true},  // one each
		{50, 100, true},   // one for every two
		{49, 100, false},  // fewer
		{10, 6294, false}, // a pool kept open
		{6000, 6294, true},
	} {
		if got := Churning(tt.conns, tt.requests); got != tt.want {
			t.Errorf("Churning(%d, %d) = %v, want %v", tt.conns, tt.requests, got, tt.want)
		}
	}
}
