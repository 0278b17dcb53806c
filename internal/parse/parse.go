// Package parse reads the values that flags, the environment, profiles and
// thresholds give as text: durations (a Go duration, or like Molotov a
// number of seconds), rates per second ("500" or "500/s") and load shapes
// ("30s:10,1m:50" or "30s:100/s"). Every error quotes the value.
package parse

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxDuration is the longest duration: about 292 years.
const MaxDuration = time.Duration(math.MaxInt64)

// goDuration matches Go's duration syntax (time.ParseDuration), whatever
// the size of the numbers; decimalSeconds a plain decimal number.
var (
	goDuration     = regexp.MustCompile(`^[-+]?(0|(([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`)
	decimalSeconds = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
)

// Duration reads a Go duration ("1m30s", "500ms") or, like Molotov, a
// decimal number of seconds ("90", "0.5", "1e3"), rounded to the
// nanosecond. It refuses a negative duration and one beyond MaxDuration
// instead of letting it wrap around.
func Duration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	negative := strings.HasPrefix(s, "-")
	outOfRange := func() error {
		if negative {
			return fmt.Errorf("%q is negative; use a duration >= 0", v)
		}
		return fmt.Errorf("%q is out of range; use a duration from 0 to %v (about 292 years)", v, MaxDuration)
	}
	var d time.Duration
	switch {
	case goDuration.MatchString(s):
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, outOfRange() // the syntax is right: only the size can be wrong
		}
	case decimalSeconds.MatchString(s):
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is not a number of seconds", v)
		}
		ns := math.Round(secs * float64(time.Second))
		if math.IsInf(ns, 0) || math.Abs(ns) >= 1<<63 {
			return 0, outOfRange()
		}
		d = time.Duration(ns)
	default:
		return 0, fmt.Errorf("%q is not a duration; write it like 30s, 1m30s or 500ms (a bare number means seconds)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; use a duration >= 0", v)
	}
	return d, nil
}

// Rate reads a rate per second, "500" or "500/s" (spaces allowed): a
// finite decimal number from 0 to max.
func Rate(v string, max float64) (float64, error) {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "/s"))
	x, err := Finite(s)
	if err != nil || x < 0 || x > max {
		return 0, fmt.Errorf("%q is not a rate; use a number per second from 0 to %g, like 500 or 500/s", v, max)
	}
	return x, nil
}

// Finite parses a plain decimal number: no NaN, no infinities, no hex.
func Finite(s string) (float64, error) {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' && r != 'e' && r != 'E' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return x, nil
}

// Stage is one stage of a load shape: its length, and the workers or the
// rate it reaches at its end.
type Stage struct {
	Duration time.Duration
	Workers  int
	Rate     float64
}

// Stages reads a load shape, "30s:10,1m:50,30s:0" (workers, at most
// maxWorkers) or "30s:100/s,1m:500/s" (rates, at most maxRate).
func Stages(s string, maxWorkers int, maxRate float64) ([]Stage, error) {
	var out []Stage
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, target, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("stage %d %q: write DURATION:TARGET, like 30s:10 (workers) or 30s:100/s (rate)", i+1, part)
		}
		dur, err := Duration(strings.TrimSpace(d))
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("stage %d %q: %q is not a duration > 0, like 30s or 1m", i+1, part, d)
		}
		st := Stage{Duration: dur}
		target = strings.TrimSpace(target)
		if strings.HasSuffix(target, "/s") {
			x, err := Rate(target, maxRate)
			if err != nil {
				return nil, fmt.Errorf("stage %d %q: %q is not a rate from 0 to %g per second", i+1, part, target, maxRate)
			}
			st.Rate = x
		} else {
			n, err := strconv.Atoi(target)
			if err != nil || n < 0 || n > maxWorkers {
				return nil, fmt.Errorf("stage %d %q: %q is not a number of workers from 0 to %d (or a rate like 100/s)", i+1, part, target, maxWorkers)
			}
			st.Workers = n
		}
		out = append(out, st)
	}
	return out, nil
}

// Bytes reads a size: a whole number of bytes, or one with a unit, KiB,
// MiB or GiB ("512MiB", "2 GiB").
func Bytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size; write a number of bytes, or one with KiB, MiB or GiB, like 512MiB", v)
	}
	return n * mult, nil
}
