package molotov

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// flagFuzzSeeds are values worth trying on every flag: valid ones, range
// boundaries, and the kinds of garbage a command line or an environment
// variable carries.
var flagFuzzSeeds = []string{
	"", " ", "0", "1", "2", "3", "-1", " 7 ", "10", "1000000", "1000001",
	"9223372036854775807", "9223372036854775808", "-9223372036854775809",
	"abc", "1.5", "0.5", "90", "1m30s", "-1s", "500ms", "1µs", "999us",
	"1e300", "-1e300", "1e400", "9999999999h", "2562047h47m16.854775807s", "2562047h47m16.854775808s",
	"NaN", "Inf", "-Inf", "0x10", "0x1p4", "1_000", "100", "100.5", "5%", "-0", "+5",
	"true", "false", "T", "yes",
	"http://127.0.0.1:8080/api", "https://[::1]:8443", "ftp://x", "http://h/?q=1", "http://h/#f", "://bad", "http://",
	"p99 < 200ms", "p99 <", "rps >= 10; ok > 0", "scenario(a).p95 < 1s", "scenario(zz).p95 < 1s", ";",
	".", "/", "out.json", "results/", "a\x00b", "a", "\xff\xfe",
}

// runnerOutOfRange says which field of r holds a value that no run
// accepts, or "" when all are in range.
func runnerOutOfRange(r *Runner) string {
	switch {
	case r.Workers < 0 || r.Workers > maxWorkers:
		return fmt.Sprintf("Workers %d", r.Workers)
	case r.MaxRuns < 0:
		return fmt.Sprintf("MaxRuns %d", r.MaxRuns)
	case r.MaxFailures < 0:
		return fmt.Sprintf("MaxFailures %d", r.MaxFailures)
	case r.Verbose < 0 || r.Verbose > maxVerbose:
		return fmt.Sprintf("Verbose %d", r.Verbose)
	case r.Duration < 0 || r.RampUp < 0 || r.Delay < 0 || r.RequestTimeout < 0:
		return fmt.Sprintf("a negative duration: %v %v %v %v", r.Duration, r.RampUp, r.Delay, r.RequestTimeout)
	case r.ConsoleUpdate < 0 || r.ConsoleUpdate > 0 && r.ConsoleUpdate < minConsoleUpdate:
		return fmt.Sprintf("ConsoleUpdate %v", r.ConsoleUpdate)
	case math.IsNaN(r.SizingTolerance) || r.SizingTolerance < 0 || r.SizingTolerance > maxSizingTolerance:
		return fmt.Sprintf("SizingTolerance %v", r.SizingTolerance)
	case r.BaseURL != "" && checkBaseURL(r.BaseURL) != nil:
		return fmt.Sprintf("BaseURL %q", r.BaseURL)
	case r.ResultFile != "" && checkResultFile(r.ResultFile) != nil:
		return fmt.Sprintf("ResultFile %q", r.ResultFile)
	}
	for _, th := range r.Thresholds {
		if _, err := parseThreshold(th); err != nil {
			return fmt.Sprintf("Thresholds %q", th)
		}
	}
	return ""
}

// FuzzFlagValues gives every -molotov.* flag the same arbitrary value,
// through its setter and through flag.FlagSet.Parse and FlagSet.Apply,
// and checks that nothing panics, that both ways agree, that an accepted
// value leaves the Runner in range (a run accepts it: Runner.validate
// passes) and that a refused one is named in the error.
func FuzzFlagValues(f *testing.F) {
	for i := range flagSpecs {
		f.Setenv(flagSpecs[i].envName(), "") // Apply ignores empty variables
	}
	for _, s := range flagFuzzSeeds {
		f.Add(s)
	}
	reg := NewRegistry()
	reg.Scenario("a", 1, scenarioNoop)
	snap := reg.snapshot()

	f.Fuzz(func(t *testing.T, v string) {
		for i := range flagSpecs {
			spec := &flagSpecs[i]
			var direct Runner
			err := spec.set(&direct, v)

			fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			set := RegisterFlags(fs)
			perr := fs.Parse([]string{"-molotov." + spec.name + "=" + v})
			if (err == nil) != (perr == nil) {
				t.Fatalf("-molotov.%s=%q: setter says %v, flag.Parse says %v", spec.name, v, err, perr)
			}

			if err != nil {
				if spec.name == "threshold" {
					var te *ThresholdError
					if !errors.As(err, &te) || !strings.Contains(v, te.Expr) {
						t.Fatalf("-molotov.threshold=%q: error %v does not point into the value", v, err)
					}
				} else if !strings.Contains(err.Error(), strconv.Quote(v)) {
					t.Fatalf("-molotov.%s=%q: error %q does not name the value", spec.name, v, err)
				}
				if !strings.Contains(perr.Error(), "molotov."+spec.name) {
					t.Fatalf("-molotov.%s=%q: flag error %q does not name the flag", spec.name, v, perr)
				}
				continue
			}

			applied, aerr := set.Apply(Runner{})
			if aerr != nil {
				t.Fatalf("-molotov.%s=%q: parsed, but Apply says %v", spec.name, v, aerr)
			}
			if !reflect.DeepEqual(applied, direct) {
				t.Fatalf("-molotov.%s=%q: Apply gives %+v, the setter %+v", spec.name, v, applied, direct)
			}
			if bad := runnerOutOfRange(&direct); bad != "" {
				t.Fatalf("-molotov.%s=%q accepted, leaving %s out of range", spec.name, v, bad)
			}
			direct.Registry = reg
			cfg := direct.withDefaults()
			if verr := cfg.validate(&snap); verr != nil {
				var ce *ConfigError
				// Only the registry knows the scenario names.
				if spec.name != "single-mode" || !errors.As(verr, &ce) || ce.Field != "SingleMode" {
					t.Fatalf("-molotov.%s=%q accepted by the flag, refused by the run: %v", spec.name, v, verr)
				}
			}
		}
	})
}

// durTerm is one number-and-unit term of a Go duration.
var durTerm = regexp.MustCompile(`([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)`)

var unitNanos = map[string]float64{
	"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
}

// goDuration and decimalSeconds are the oracle's view of the two
// duration syntaxes that parse.Duration reads: a Go duration whatever the
// size of its numbers, and a plain decimal number of seconds.
var (
	goDuration     = regexp.MustCompile(`^[-+]?(0|(([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`)
	decimalSeconds = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
)

// exactNanos computes what a duration flag value means, in nanoseconds,
// with big floats (no overflow, no rounding to speak of), and the number
// of terms it adds up; ok is false when s is neither a Go duration nor a
// decimal number of seconds.
func exactNanos(s string) (ns *big.Float, terms int, ok bool) {
	body, neg := s, false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body, neg = body[1:], body[0] == '-'
	}
	num := func(x string) (*big.Float, bool) {
		if strings.HasPrefix(x, ".") {
			x = "0" + x
		}
		if strings.HasSuffix(x, ".") {
			x += "0"
		}
		f, ok := new(big.Float).SetPrec(512).SetString(x)
		return f, ok
	}
	sum := new(big.Float).SetPrec(512)
	switch {
	case goDuration.MatchString(s):
		if body == "0" {
			return sum, 0, true
		}
		for _, m := range durTerm.FindAllStringSubmatch(body, -1) {
			x, ok := num(m[1])
			if !ok {
				return nil, 0, false
			}
			sum.Add(sum, x.Mul(x, big.NewFloat(unitNanos[m[2]])))
			terms++
		}
	case decimalSeconds.MatchString(s):
		terms = 1
		// big.Float is slow with exponents in the millions: place the
		// number by its order of magnitude first.
		switch mag, zero := decimalMagnitude(body); {
		case zero:
		case mag > 40: // far beyond 9.2e9 s
			sum.SetFloat64(1e40)
		case mag < -40: // far below a nanosecond
			sum.SetFloat64(1e-40)
		default:
			x, ok := num(body)
			if !ok {
				return nil, 0, false
			}
			sum.Mul(x, big.NewFloat(1e9))
		}
	default:
		return nil, 0, false
	}
	if neg {
		sum.Neg(sum)
	}
	return sum, terms, true
}

// decimalMagnitude returns roughly log10 of an unsigned decimal number
// with an optional exponent ("12.5e3": 5), or zero true when it is zero.
func decimalMagnitude(s string) (mag int, zero bool) {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil { // an exponent beyond an int
			e = math.MaxInt32
			if strings.HasPrefix(s[i+1:], "-") {
				e = math.MinInt32
			}
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart != "" {
		return exp + len(intPart), false
	}
	trimmed := strings.TrimLeft(frac, "0")
	if trimmed == "" {
		return 0, true
	}
	return exp - (len(frac) - len(trimmed)), false
}

// FuzzDurationFlag checks the duration parser of the flags (Go durations
// and Molotov's plain seconds) against an exact computation: a value that
// fits is read to the nanosecond or so, one that does not fit (1e300,
// 9999999999h) is refused as out of range, never wrapped around into a
// negative or garbage duration, and a negative one is refused as negative.
func FuzzDurationFlag(f *testing.F) {
	for _, s := range []string{
		"0", "90", "0.5", "1m30s", "1.5h", ".5s", "5.s", "+5s", "-0", "-0s", "1e3", "1E-3", "2.5e+2",
		"1e300", "-1e300", "1e400", "1e-400", "9999999999h", "-9999999999h", "9223372036854775807ns",
		"9223372036854775808ns", "-9223372036854775808ns", "9223372036.854775807", "9223372037",
		"2562047h47m16.854775807s", "2562047h47m16.854775808s", "1h1h1h", "0.000000001", "0.0000000004",
		"-0.0000000004", "-0.5e-9", "1µs", "1μs", "3us", "NaN", "Inf", "+Inf", "0x1p4", "1_0", "", " ", "s",
		"1.2.3s", "1d", " 30s ", "00", "1ms2", "-",
	} {
		f.Add(s)
	}
	limit := new(big.Float).SetPrec(512).SetFloat64(1 << 63)                           // first value that does not fit
	safe := new(big.Float).SetPrec(512).SetFloat64(float64(1<<63) * (1 - 1.0/(1<<40))) // surely fits after rounding
	minusOne := big.NewFloat(-1)

	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseDurationFlag(v)
		if err == nil && d < 0 {
			t.Fatalf("%q accepted as the negative duration %v", v, d)
		}
		if err != nil && !strings.Contains(err.Error(), strconv.Quote(v)) {
			t.Fatalf("%q: error %q does not name the value", v, err)
		}
		s := strings.TrimSpace(v)
		if gd, gerr := time.ParseDuration(s); gerr == nil && gd >= 0 && (err != nil || d != gd) {
			t.Fatalf("%q: time.ParseDuration gives %v, the flag %v, %v", v, gd, d, err)
		}
		exact, terms, ok := exactNanos(s)
		if !ok {
			if err == nil {
				t.Fatalf("%q is no duration, yet accepted as %v", v, d)
			}
			return
		}
		switch {
		case exact.Cmp(limit) >= 0:
			if err == nil || !strings.Contains(err.Error(), "out of range") {
				t.Fatalf("%q (%s ns) does not fit a time.Duration, got %v, %v", v, exact.Text('g', 20), d, err)
			}
		case exact.Cmp(minusOne) <= 0:
			if err == nil || !strings.Contains(err.Error(), "negative") {
				t.Fatalf("%q (%s ns) is negative, got %v, %v", v, exact.Text('g', 20), d, err)
			}
		case exact.Sign() < 0: // above -1ns: may round to zero
			if err == nil && d != 0 {
				t.Fatalf("%q (%s ns) read as %v", v, exact.Text('g', 20), d)
			}
		case exact.Cmp(safe) < 0:
			if err != nil {
				t.Fatalf("%q (%s ns) fits a time.Duration, yet: %v", v, exact.Text('g', 20), err)
			}
			diff := new(big.Float).SetPrec(512).Sub(exact, new(big.Float).SetInt64(int64(d)))
			diff.Abs(diff)
			tol := new(big.Float).SetPrec(512).Mul(exact, big.NewFloat(1.0/(1<<40)))
			tol.Add(tol, big.NewFloat(float64(terms+1)))
			if diff.Cmp(tol) > 0 {
				t.Fatalf("%q (%s ns) read as %v (%d ns), off by %s ns", v, exact.Text('g', 20), d, int64(d), diff.Text('g', 6))
			}
		default: // at the edge: either, but never negative (checked above)
		}
		if err != nil && exact.Sign() >= 0 && strings.Contains(err.Error(), "negative") {
			t.Fatalf("%q is not negative, yet: %v", v, err)
		}
	})
}
