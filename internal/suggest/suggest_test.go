package suggest

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"workers", "duration", "max-runs", "max-workers", "rate", "statsd"}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"worker", "workers", true},
		{"WORKERS", "workers", true},
		{"duraton", "duration", true},
		{"max-run", "max-runs", true},
		{"maxworkers", "max-workers", true},
		{"rat", "rate", true},
		{"zzz", "", false},
		{"threads", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Nearest(tt.name, names)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Nearest(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := Nearest("x", nil); ok {
		t.Error("a name near nothing")
	}
}
