// Package segment splits a run into n shares that need no coordinator.
//
// Share i of n owns item k of every sequence of the whole run (its
// workers, the open model's starts, the workers a load shape calls for)
// exactly when k mod n == i. So the n shares of any count add up to that
// count, no share is more than one above another, a share never shrinks
// as the count grows (a ramp only ever adds to each share), and the
// shares' items interleave: share i's j-th item is i + j·n.
package segment

import (
	"fmt"
	"strconv"
	"strings"
)

// Max is the largest number of shares.
const Max = 1_000_000

// The environment variables of "auto": Kubernetes sets JOB_COMPLETION_INDEX
// in each pod of an Indexed Job; the job's manifest sets the count.
const (
	EnvIndex = "JOB_COMPLETION_INDEX"
	EnvCount = "MOLOTOV_SEGMENTS"
)

// Segment is share I (from 0) of N. The zero value, like 0/1, is the
// whole run.
type Segment struct{ I, N int }

// Parse reads a segment: "i/n" with 0 <= i < n, "auto" (i from
// JOB_COMPLETION_INDEX and n from MOLOTOV_SEGMENTS, read with getenv), or
// "" for the whole run. Errors say what is wrong and how to write it; the
// caller names the value.
func Parse(s string, getenv func(string) string) (Segment, error) {
	v := strings.TrimSpace(s)
	switch v {
	case "":
		return Segment{}, nil
	case "auto":
		return fromEnv(getenv)
	}
	is, ns, ok := strings.Cut(v, "/")
	if !ok {
		return Segment{}, fmt.Errorf("not a segment; write i/n for share i (from 0) of n, like 0/4, or auto")
	}
	i, err := strconv.Atoi(strings.TrimSpace(is))
	if err != nil {
		return Segment{}, fmt.Errorf("%q is not a whole number; write i/n for share i (from 0) of n, like 0/4", is)
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil {
		return Segment{}, fmt.Errorf("%q is not a whole number; write i/n for share i (from 0) of n, like 0/4", ns)
	}
	return check(i, n, func(what string) string { return what })
}

// fromEnv resolves "auto".
func fromEnv(getenv func(string) string) (Segment, error) {
	read := func(name, hint string) (int, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return 0, fmt.Errorf("auto: %s is not set; %s", name, hint)
		}
		x, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("auto: %s is %q, not a whole number; %s", name, v, hint)
		}
		return x, nil
	}
	i, err := read(EnvIndex, "Kubernetes sets it in each pod of an Indexed Job (completionMode: Indexed); elsewhere give the segment as i/n")
	if err != nil {
		return Segment{}, err
	}
	n, err := read(EnvCount, "set it to the number of instances (the Job's completions)")
	if err != nil {
		return Segment{}, err
	}
	return check(i, n, func(what string) string {
		return fmt.Sprintf("auto: %s=%d and %s=%d: %s", EnvIndex, i, EnvCount, n, what)
	})
}

// check accepts 0 <= i < n <= Max; say words an error.
func check(i, n int, say func(string) string) (Segment, error) {
	switch {
	case n < 1:
		return Segment{}, fmt.Errorf("%s", say(fmt.Sprintf("the number of shares is %d; use 1 or more", n)))
	case n > Max:
		return Segment{}, fmt.Errorf("%s", say(fmt.Sprintf("the number of shares is %d, above %d", n, Max)))
	case i < 0 || i >= n:
		return Segment{}, fmt.Errorf("%s", say(fmt.Sprintf("share %d is out of range: the shares of %d go from 0 to %d", i, n, n-1)))
	}
	return Segment{I: i, N: n}, nil
}

// Whole reports whether s is the whole run (zero, or 0/1).
func (s Segment) Whole() bool { return s.N <= 1 }

// String returns "i/n"; "" for the zero Segment.
func (s Segment) String() string {
	if s.N == 0 {
		return ""
	}
	return strconv.Itoa(s.I) + "/" + strconv.Itoa(s.N)
}

// Step is the distance between two items of the share: n (1 for the
// whole run).
func (s Segment) Step() int { return max(s.N, 1) }

// Item returns the whole run's index of the share's j-th item (from 0):
// i + j·n.
func (s Segment) Item(j int) int { return s.I + j*s.Step() }

// Count returns the share's part of total items: how many k in [0, total)
// have k mod n == i. The n shares' counts add up to total.
func (s Segment) Count(total int) int {
	if s.Whole() {
		return max(total, 0)
	}
	if total <= s.I {
		return 0
	}
	return (total-s.I-1)/s.N + 1
}

// Seed derives the share's seed from the whole run's, so that the shares
// draw different sequences; the whole run keeps seed as it is.
func (s Segment) Seed(seed uint64) uint64 {
	if s.Whole() {
		return seed
	}
	return mix(seed ^ mix(uint64(s.I)+1))
}

// mix is SplitMix64's finaliser: a bijection that spreads every input
// bit over the output.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
