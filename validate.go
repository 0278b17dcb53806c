package molotov

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/molotov-go/molotov/internal/statsd"
)

// validate checks a defaulted copy against the registry's scenarios. A
// refusal is a *ConfigError naming the field, its value and what the field
// accepts; the ranges are those of the -molotov.* flags.
func (c *Runner) validate(snap *registrySnapshot) error {
	if err := c.validateOpen(); err != nil {
		return err
	}
	switch {
	case c.Workers < 0:
		return configErr("Workers", "is negative (%d); use 1 to %d workers (zero means 1, or %d with Sizing)", c.Workers, maxWorkers, sizingWorkers)
	case c.Workers > maxWorkers:
		return configErr("Workers", "is %d, above %d; use 1 to %d workers (each is a goroutine with its own HTTP client), or several processes for more", c.Workers, maxWorkers, maxWorkers)
	}
	for _, f := range []struct {
		name string
		v    time.Duration
		zero string // what zero means
	}{
		{"Duration", c.Duration, "zero: no time limit"},
		{"RampUp", c.RampUp, "zero: every worker starts at once; RampUp may be longer than Duration, then the workers due after Duration never start"},
		{"Delay", c.Delay, "zero: no pause"},
		{"RequestTimeout", c.RequestTimeout, fmt.Sprintf("zero means %v", DefaultRequestTimeout)},
		{"ConsoleUpdate", c.ConsoleUpdate, fmt.Sprintf("zero means 200ms on a terminal, 5s otherwise; else at least %v", minConsoleUpdate)},
	} {
		if f.v < 0 {
			return configErr(f.name, "is negative (%v); use a duration >= 0 (%s)", f.v, f.zero)
		}
		if f.v > 0 && f.v < minDuration && f.name != "ConsoleUpdate" {
			// A number without a unit is nanoseconds: Duration: 5 is 5ns.
			return configErr(f.name, "is %v, below %v: in Go a duration without a unit is in nanoseconds; if you meant seconds, write %d * time.Second (%s)", f.v, minDuration, int64(f.v), f.zero)
		}
	}
	for _, f := range []struct {
		name string
		v    int64
		zero string
	}{
		{"MaxRuns", int64(c.MaxRuns), "zero: no limit"},
		{"MaxFailures", int64(c.MaxFailures), "zero: never stop for failures"},
		{"MaxResponseBytes", c.MaxResponseBytes, fmt.Sprintf("zero means %d (64 MiB)", DefaultMaxResponseBytes)},
		{"MaxBufferedBytes", c.MaxBufferedBytes, "zero means a quarter of the machine's memory"},
	} {
		if f.v < 0 {
			return configErr(f.name, "is negative (%d); use a number >= 0 (%s)", f.v, f.zero)
		}
	}
	if c.ConsoleUpdate > 0 && c.ConsoleUpdate < minConsoleUpdate {
		return configErr("ConsoleUpdate", "is %v, below %v; use zero (200ms on a terminal, 5s otherwise) or at least %v", c.ConsoleUpdate, minConsoleUpdate, minConsoleUpdate)
	}
	if c.Verbose < 0 || c.Verbose > maxVerbose {
		return configErr("Verbose", "is %d; use 0 (no detail), 1 (each failure with its error) or 2 (also requests and responses)", c.Verbose)
	}
	if t := c.SizingTolerance; math.IsNaN(t) || t < 0 || t > maxSizingTolerance {
		return configErr("SizingTolerance", "is %v; use a percentage of failures per success above 0 and at most %g (zero means %g)", t, maxSizingTolerance, DefaultSizingTolerance)
	}
	// Worker i starts after RampUp×i/Workers, computed in nanoseconds.
	if c.Workers > 1 && int64(c.RampUp) > math.MaxInt64/int64(c.Workers-1) {
		return configErr("RampUp", "is %v, too long to spread %d workers over; use at most %v", c.RampUp, c.Workers, time.Duration(math.MaxInt64/int64(c.Workers-1)))
	}
	if len(snap.scenarios) == 0 {
		return configErr("Registry", "no scenario registered; register one with molotov.Scenario (or Registry.Scenario and set Runner.Registry)")
	}
	if c.SingleMode != "" {
		if _, ok := snap.byName[c.SingleMode]; !ok {
			return configErr("SingleMode", "unknown scenario %q; registered scenarios: %s", c.SingleMode, strings.Join(scenarioNames(snap), ", "))
		}
		if c.SingleRun {
			return configErr("SingleMode", "cannot be combined with SingleRun; use one or the other")
		}
	}
	if c.SingleMode == "" && !c.SingleRun && snap.picker == nil && snap.totalWeight == 0 {
		return configErr("Registry", "every scenario has weight 0, so none can be picked; give one a positive weight, or use SingleMode or SingleRun")
	}
	// A worker pauses Delay plus the scenario's own Delay after a success.
	for _, s := range snap.scenarios {
		if s.delay > maxDuration-c.Delay {
			return configErr("Delay", "is %v, and with scenario %q's Delay(%v) the pause passes %v; use shorter delays", c.Delay, s.name, s.delay, maxDuration)
		}
	}
	if c.Quiet && c.Verbose > 0 {
		return configErr("Verbose", "Quiet and Verbose exclude each other; set only one")
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			return configErr("BaseURL", "%v", err)
		}
	}
	if c.Statsd != "" {
		if _, err := statsd.ParseAddress(c.Statsd); err != nil {
			return configErr("Statsd", "%v", err)
		}
	}
	if c.ResultFile != "" {
		if err := checkResultFile(c.ResultFile); err != nil {
			return configErr("ResultFile", "%v", err)
		}
	}
	if c.htmlFile != "" {
		if err := checkOutputPath(c.htmlFile, "report.html"); err != nil {
			return configErr("-molotov.html", "%v", err)
		}
	}
	if _, err := c.segment(); err != nil {
		return err
	}
	return c.validateStartAt("")
}

// validatePool refuses an open model given two pool sizes, before the
// defaults make Workers the pool: the pool is MaxWorkers, and a Workers
// that says otherwise (a Molotov user's -w) would be ignored unseen.
func (r *Runner) validatePool() error {
	open := r.Rate > 0 || stagesOpen(r.Stages)
	if open && r.Workers > 0 && r.MaxWorkers > 0 && r.Workers != r.MaxWorkers {
		return configErr("Workers", "is %d and MaxWorkers %d: in the open model (Rate) the pool of sessions is MaxWorkers alone; drop Workers or make it the same, or give only the pool's size (-molotov.max-workers, which replaces a Workers in the code)", r.Workers, r.MaxWorkers)
	}
	return nil
}

// validateOpen checks the open model's options.
func (c *Runner) validateOpen() error {
	if len(c.Stages) > 0 {
		total, err := validateStages(c.Stages)
		if err != nil {
			return err
		}
		if c.Duration > 0 && c.Duration < total && !c.sizingRate {
			return configErr("Duration", "is %v, shorter than the Stages (%v in all), so the run would end before they do; drop Duration (the stages set the run's length) or make it at least %v", c.Duration, total, total)
		}
		switch {
		case c.MaxRuns > 0 || c.SingleRun || (c.Sizing && !c.sizingRate) || c.RampUp > 0:
			return configErr("Stages", "shape the run by themselves: drop MaxRuns, SingleRun, Sizing and RampUp")
		case !stagesOpen(c.Stages) && c.Rate > 0:
			return configErr("Stages", "shape workers, but Rate is set too: give the stages rates (30s:100/s) for the open model, or drop Rate")
		case !stagesOpen(c.Stages) && stageMax(c.Stages) < 1:
			return configErr("Stages", "never go above zero workers or zero starts per second; give a stage Workers > 0 or Rate > 0")
		}
	}
	switch r := c.Rate; {
	case math.IsNaN(r) || math.IsInf(r, 0) || r < 0:
		return configErr("Rate", "is %v; use scenario runs started per second (> 0), or zero for the closed model", r)
	case r > 0 && r < minRate:
		return configErr("Rate", "is %v, less than one start a day; use at least %.3g starts per second (one a day), or zero for the closed model", r, minRate)
	case r > maxRate:
		return configErr("Rate", "is %v, above %v; use at most %v starts per second, or several processes", r, float64(maxRate), float64(maxRate))
	case c.MaxWorkers < 0:
		return configErr("MaxWorkers", "is negative (%d); use the number of sessions of the open model, or zero for Workers (or Rate × 1s)", c.MaxWorkers)
	case c.MaxLag < 0:
		return configErr("MaxLag", "is negative (%v); use how late a start may begin, or zero for %v", c.MaxLag, DefaultMaxLag)
	case r == 0:
		return nil
	case c.MaxRuns > 0 || c.SingleRun:
		return configErr("Rate", "is %v, which starts runs on a schedule until Duration (the open model), but MaxRuns or SingleRun is set too, which counts each worker's runs (the closed model, Rate zero); drop one or the other", r)
	case c.RampUp > 0:
		return configErr("RampUp", "spreads worker starts in the closed model; with Rate the schedule sets the pace: drop RampUp")
	}
	return nil
}

// minDuration is the shortest Duration, RampUp, Delay and RequestTimeout
// that make sense: a shorter one is a number written without its unit.
const minDuration = time.Millisecond

// maxRate bounds Rate: far above what one process can start; minRate is
// one start a day, below which the schedule's offsets would overflow.
const (
	maxRate = 1e6
	minRate = 1.0 / 86400
)

// checkBaseURL accepts an http or https URL with a host, to which request
// paths are appended: so no query and no fragment.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q does not parse: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q needs an http:// or https:// scheme, for example http://127.0.0.1:8080", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host, for example http://127.0.0.1:8080", s)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#") {
		return fmt.Errorf("%q has a query or a fragment; request paths are appended to a base URL, so put the query in each request's URL", s)
	}
	return nil
}

func scenarioNames(snap *registrySnapshot) []string {
	names := make([]string, len(snap.scenarios))
	for i, s := range snap.scenarios {
		names[i] = s.name
	}
	return names
}
