package segment

import (
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		env  map[string]string
		want Segment
		err  string // a part of the error; "" for none
	}{
		{in: "", want: Segment{}},
		{in: "0/1", want: Segment{0, 1}},
		{in: "0/4", want: Segment{0, 4}},
		{in: " 3 / 4 ", want: Segment{3, 4}},
		{in: "999999/1000000", want: Segment{999999, 1000000}},
		{in: "auto", env: map[string]string{EnvIndex: "2", EnvCount: "5"}, want: Segment{2, 5}},
		{in: " auto ", env: map[string]string{EnvIndex: " 0", EnvCount: "1 "}, want: Segment{0, 1}},

		{in: "4/4", err: "share 4 is out of range: the shares of 4 go from 0 to 3"},
		{in: "-1/4", err: "share -1 is out of range"},
		{in: "1/0", err: "the number of shares is 0; use 1 or more"},
		{in: "0/-2", err: "the number of shares is -2"},
		{in: "0/1000001", err: "above 1000000"},
		{in: "1", err: "not a segment; write i/n"},
		{in: "1:4", err: "not a segment"},
		{in: "a/4", err: `"a" is not a whole number`},
		{in: "1/b", err: `"b" is not a whole number`},
		{in: "1/4/5", err: `"4/5" is not a whole number`},
		{in: "/", err: `"" is not a whole number`},
		{in: "AUTO", err: "not a segment"},
		{in: "auto", env: map[string]string{EnvCount: "4"}, err: "auto: JOB_COMPLETION_INDEX is not set; Kubernetes sets it"},
		{in: "auto", env: map[string]string{EnvIndex: "1"}, err: "auto: MOLOTOV_SEGMENTS is not set; set it to the number of instances"},
		{in: "auto", env: map[string]string{EnvIndex: "x", EnvCount: "4"}, err: `JOB_COMPLETION_INDEX is "x", not a whole number`},
		{in: "auto", env: map[string]string{EnvIndex: "1", EnvCount: "four"}, err: `MOLOTOV_SEGMENTS is "four", not a whole number`},
		{in: "auto", env: map[string]string{EnvIndex: "4", EnvCount: "4"}, err: "JOB_COMPLETION_INDEX=4 and MOLOTOV_SEGMENTS=4: share 4 is out of range: the shares of 4 go from 0 to 3"},
		{in: "auto", env: map[string]string{EnvIndex: "-1", EnvCount: "4"}, err: "share -1 is out of range"},
		{in: "auto", env: map[string]string{EnvIndex: "0", EnvCount: "0"}, err: "MOLOTOV_SEGMENTS=0: the number of shares is 0"},
	} {
		got, err := Parse(tc.in, env(tc.env))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		case tc.err != "" && err == nil:
			t.Errorf("Parse(%q) = %+v, want an error with %q", tc.in, got, tc.err)
		case tc.err != "" && !strings.Contains(err.Error(), tc.err):
			t.Errorf("Parse(%q): error %q, want it to contain %q", tc.in, err, tc.err)
		}
	}
}

func TestStringRoundTrips(t *testing.T) {
	for _, s := range []Segment{{0, 1}, {0, 4}, {3, 4}, {17, 1000}} {
		got, err := Parse(s.String(), nil)
		if err != nil || got != s {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", s.String(), got, err, s)
		}
	}
	if got := (Segment{}).String(); got != "" {
		t.Errorf("zero Segment prints %q, want empty", got)
	}
}

// The n shares of any count add up to it, stay within one of each other,
// never shrink as the count grows, and own exactly the items k of the
// whole run with k mod n == i.
func TestSharesAddUp(t *testing.T) {
	ns := []int{1, 2, 3, 4, 5, 7, 10, 16, 33, 100, 1000}
	for _, n := range ns {
		for total := 0; total <= 2100; total += 1 + total/50 {
			sum, lo, hi := 0, total, 0
			owner := make([]int, total)
			for i := range owner {
				owner[i] = -1
			}
			for i := 0; i < n; i++ {
				s := Segment{i, n}
				c := s.Count(total)
				sum += c
				lo, hi = min(lo, c), max(hi, c)
				if total > 0 && s.Count(total-1) > c {
					t.Fatalf("%d/%d: share of %d is %d, of %d is %d: it shrank", i, n, total-1, s.Count(total-1), total, c)
				}
				for j := 0; j < c; j++ {
					k := s.Item(j)
					if k >= total || owner[k] != -1 {
						t.Fatalf("%d/%d: item %d of %d is %d: out of range or owned by share %d too", i, n, j, total, k, owner[k])
					}
					owner[k] = i
				}
			}
			if sum != total {
				t.Fatalf("n=%d: shares of %d add up to %d", n, total, sum)
			}
			if n <= total && hi-lo > 1 {
				t.Fatalf("n=%d: shares of %d range from %d to %d", n, total, lo, hi)
			}
			for k, i := range owner {
				if i != k%n {
					t.Fatalf("n=%d, total %d: item %d owned by share %d, want %d", n, total, k, i, k%n)
				}
			}
		}
	}
	if got := (Segment{}).Count(7); got != 7 {
		t.Errorf("the whole run's share of 7 is %d", got)
	}
	if got := (Segment{1, 4}).Count(-3); got != 0 {
		t.Errorf("share of a negative count is %d, want 0", got)
	}
}

func TestSeedDiffersPerShareAndIsStable(t *testing.T) {
	const seed = 42
	if got := (Segment{}).Seed(seed); got != seed {
		t.Errorf("whole run's seed is %d, want %d unchanged", got, seed)
	}
	if got := (Segment{0, 1}).Seed(seed); got != seed {
		t.Errorf("segment 0/1's seed is %d, want %d unchanged", got, seed)
	}
	seen := map[uint64]int{}
	for i := 0; i < 1000; i++ {
		s := Segment{i, 1000}
		v := s.Seed(seed)
		if j, dup := seen[v]; dup {
			t.Fatalf("shares %d and %d of 1000 draw from the same seed", j, i)
		}
		seen[v] = i
		if v == seed || v != s.Seed(seed) {
			t.Fatalf("share %d: seed %d is the whole run's, or not stable", i, v)
		}
	}
	if (Segment{1, 4}).Seed(1) == (Segment{1, 4}).Seed(2) {
		t.Error("two seeds give share 1/4 the same seed")
	}
}
