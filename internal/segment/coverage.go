package segment

import (
	"fmt"
	"strconv"
	"strings"
)

// Coverage is the set of a run's shares that a result covers, as a
// result's segment writes it: "i/n" for share i of n, "a-b,c/n" for the
// shares a to b and c of n (a partial merge), "" for the whole run (the
// one share of one).
type Coverage struct {
	N      int
	Ranges []Range // ascending, disjoint and not adjacent
}

// Range is the shares Lo to Hi, both included.
type Range struct{ Lo, Hi int }

// Whole is the coverage of a result whose segment is "".
func Whole() Coverage { return Coverage{N: 1, Ranges: []Range{{0, 0}}} }

// ParseCoverage reads a result's segment. Errors quote it and say how to
// write it.
func ParseCoverage(s string) (Coverage, error) {
	if s == "" {
		return Whole(), nil
	}
	list, total, ok := strings.Cut(s, "/")
	if !ok {
		return Coverage{}, fmt.Errorf("%q has no \"/\"; write i/n, the share i (from 0) of n, such as 0/4", s)
	}
	n, err := segNumber(total)
	if err != nil || n == 0 {
		return Coverage{}, fmt.Errorf("%q: %q is not a number of shares (1 or more)", s, total)
	}
	c := Coverage{N: n}
	for _, item := range strings.Split(list, ",") {
		a, b, isRange := strings.Cut(item, "-")
		lo, err := segNumber(a)
		hi := lo
		if err == nil && isRange {
			hi, err = segNumber(b)
		}
		switch {
		case err != nil:
			return Coverage{}, fmt.Errorf("%q: %q is not a share number nor a range of them (such as 2 or 0-3)", s, item)
		case hi < lo:
			return Coverage{}, fmt.Errorf("%q: the range %q runs backwards", s, item)
		case hi >= n:
			return Coverage{}, fmt.Errorf("%q: share %d is not below %d; shares are numbered from 0 to %d", s, hi, n, n-1)
		case len(c.Ranges) > 0 && lo <= c.Ranges[len(c.Ranges)-1].Hi:
			return Coverage{}, fmt.Errorf("%q: %q is not after the shares before it; list them in increasing order, each once", s, item)
		}
		c.Add(Range{lo, hi})
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

// Add appends r, which must come after every range of c.
func (c *Coverage) Add(r Range) {
	if k := len(c.Ranges) - 1; k >= 0 && c.Ranges[k].Hi+1 == r.Lo {
		c.Ranges[k].Hi = r.Hi
		return
	}
	c.Ranges = append(c.Ranges, r)
}

// Complete reports whether c covers every share of the run.
func (c Coverage) Complete() bool {
	return len(c.Ranges) == 1 && c.Ranges[0] == Range{0, c.N - 1}
}

// Missing returns the shares of the run that c lacks.
func (c Coverage) Missing() Coverage {
	out := Coverage{N: c.N}
	next := 0
	for _, r := range c.Ranges {
		if r.Lo > next {
			out.Add(Range{next, r.Lo - 1})
		}
		next = r.Hi + 1
	}
	if next < c.N {
		out.Add(Range{next, c.N - 1})
	}
	return out
}

// SharesName names the shares c covers: "share 1/4", "shares 0-1,3/4",
// "the whole run".
func (c Coverage) SharesName() string {
	switch {
	case c.Complete():
		return "the whole run"
	case len(c.Ranges) == 1 && c.Ranges[0].Lo == c.Ranges[0].Hi:
		return "share " + c.String()
	}
	return "shares " + c.String()
}

// String writes c as a result's segment: "" for the whole run.
func (c Coverage) String() string {
	if c.Complete() {
		return ""
	}
	var b strings.Builder
	for i, r := range c.Ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.Lo))
		if r.Hi > r.Lo {
			b.WriteString("-" + strconv.Itoa(r.Hi))
		}
	}
	return b.String() + "/" + strconv.Itoa(c.N)
}
