package molotov

import (
	"fmt"
	"strconv"
	"strings"
)

// coverage is the set of a run's shares that a result covers, as
// Result.Segment writes it: "i/n" for share i of n, "a-b,c/n" for the
// shares a to b and c of n (a partial merge), "" for the whole run (the
// one share of one).
type coverage struct {
	n      int
	ranges []segRange // ascending, disjoint and not adjacent
}

// segRange is the shares lo to hi, both included.
type segRange struct{ lo, hi int }

// wholeRun is the coverage of a result whose Segment is "".
var wholeRun = coverage{n: 1, ranges: []segRange{{0, 0}}}

// parseCoverage reads a Result.Segment.
func parseCoverage(s string) (coverage, error) {
	if s == "" {
		return wholeRun, nil
	}
	list, total, ok := strings.Cut(s, "/")
	if !ok {
		return coverage{}, fmt.Errorf("%q has no \"/\"; write i/n, the share i (from 0) of n, such as 0/4", s)
	}
	n, err := segNumber(total)
	if err != nil || n == 0 {
		return coverage{}, fmt.Errorf("%q: %q is not a number of shares (1 or more)", s, total)
	}
	c := coverage{n: n}
	for _, item := range strings.Split(list, ",") {
		a, b, isRange := strings.Cut(item, "-")
		lo, err := segNumber(a)
		hi := lo
		if err == nil && isRange {
			hi, err = segNumber(b)
		}
		switch {
		case err != nil:
			return coverage{}, fmt.Errorf("%q: %q is not a share number nor a range of them (such as 2 or 0-3)", s, item)
		case hi < lo:
			return coverage{}, fmt.Errorf("%q: the range %q runs backwards", s, item)
		case hi >= n:
			return coverage{}, fmt.Errorf("%q: share %d is not below %d; shares are numbered from 0 to %d", s, hi, n, n-1)
		case len(c.ranges) > 0 && lo <= c.ranges[len(c.ranges)-1].hi:
			return coverage{}, fmt.Errorf("%q: %q is not after the shares before it; list them in increasing order, each once", s, item)
		}
		c.add(segRange{lo, hi})
	}
	return c, nil
}

// segNumber reads a share number: decimal digits only.
func segNumber(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number")
	}
	return strconv.Atoi(s)
}

// add appends r, which must come after every range of c.
func (c *coverage) add(r segRange) {
	if k := len(c.ranges) - 1; k >= 0 && c.ranges[k].hi+1 == r.lo {
		c.ranges[k].hi = r.hi
		return
	}
	c.ranges = append(c.ranges, r)
}

// complete reports whether c covers every share of the run.
func (c coverage) complete() bool {
	return len(c.ranges) == 1 && c.ranges[0] == segRange{0, c.n - 1}
}

// missing returns the shares of the run that c lacks.
func (c coverage) missing() coverage {
	out := coverage{n: c.n}
	next := 0
	for _, r := range c.ranges {
		if r.lo > next {
			out.add(segRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next < c.n {
		out.add(segRange{next, c.n - 1})
	}
	return out
}

// sharesName names the shares c covers: "share 1/4", "shares 0-1,3/4",
// "the whole run".
func (c coverage) sharesName() string {
	switch {
	case c.complete():
		return "the whole run"
	case len(c.ranges) == 1 && c.ranges[0].lo == c.ranges[0].hi:
		return "share " + c.String()
	}
	return "shares " + c.String()
}

// String writes c as Result.Segment does: "" for the whole run.
func (c coverage) String() string {
	if c.complete() {
		return ""
	}
	var b strings.Builder
	for i, r := range c.ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.lo))
		if r.hi > r.lo {
			b.WriteString("-" + strconv.Itoa(r.hi))
		}
	}
	return b.String() + "/" + strconv.Itoa(c.n)
}
