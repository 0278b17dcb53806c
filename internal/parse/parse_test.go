package parse

import (
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"30s", 30 * time.Second, ""},
		{" 1m30s ", 90 * time.Second, ""},
		{"90", 90 * time.Second, ""},
		{"0.5", 500 * time.Millisecond, ""},
		{"1e3", 1000 * time.Second, ""},
		{"0", 0, ""},
		{"-1s", 0, "negative"},
		{"-5", 0, "negative"},
		{"1e30", 0, "out of range"},
		{"9999999h", 0, "out of range"},
		{"10 seconds", 0, "not a duration"},
		{"", 0, "not a duration"},
	}
	for _, tt := range tests {
		got, err := Duration(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("Duration(%q) = %v, %v; want an error quoting it with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Duration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestRate(t *testing.T) {
	for in, want := range map[string]float64{"500": 500, "500/s": 500, " 2.5 /s ": 2.5, "0": 0} {
		if got, err := Rate(in, 1e6); err != nil || got != want {
			t.Errorf("Rate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "NaN", "Inf", "0x10", "2e6", "fast", "5/m"} {
		if got, err := Rate(in, 1e6); err == nil {
			t.Errorf("Rate(%q) = %v, want an error", in, got)
		}
	}
}

func TestStages(t *testing.T) {
	got, err := Stages("30s:10, 1m:50,30s:0", 100, 1e6)
	if err != nil || len(got) != 3 || got[1] != (Stage{Duration: time.Minute, Workers: 50}) {
		t.Fatalf("Stages = %+v, %v", got, err)
	}
	got, err = Stages("10s:100/s,5:0/s", 100, 1e6)
	if err != nil || got[0].Rate != 100 || got[1].Duration != 5*time.Second {
		t.Fatalf("Stages = %+v, %v", got, err)
	}
	for _, in := range []string{"30s", "0s:10", "30s:-1", "30s:101", "30s:2e6/s", "x:1"} {
		if _, err := Stages(in, 100, 1e6); err == nil || !strings.Contains(err.Error(), "stage 1") {
			t.Errorf("Stages(%q): %v, want an error naming stage 1", in, err)
		}
	}
}
