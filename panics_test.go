package molotov

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nextLine returns "panics_test.go:N", N being the line after its call.
func nextLine() string {
	_, _, line, _ := runtime.Caller(1)
	return fmt.Sprintf("panics_test.go:%d", line+1)
}

// noMap returns a nil map, whose writes panic.
func noMap() map[string]int { return nil }

// A panic's error names where it happened: the user's line, below the
// runtime (a nil map, a nil pointer) and below molotov's own code (a
// misuse that molotov answers with a panic).
func TestPanicErrorNamesItsSite(t *testing.T) {
	var site string
	tests := []struct {
		name     string
		scenario ScenarioFunc
		want     string // the start of the error
	}{
		{"panic with a value", func(context.Context, *Session) error {
			site = nextLine()
			panic("boom")
		}, "panic: boom"},
		{"a nil map", func(context.Context, *Session) error {
			m := noMap()
			site = nextLine()
			m["x"]++
			return nil
		}, "panic: assignment to entry in nil map"},
		{"a nil pointer", func(_ context.Context, s *Session) error {
			var r *Runner
			site = nextLine()
			_ = r.Workers
			return nil
		}, "panic: runtime error: invalid memory address or nil pointer dereference"},
		{"a panic in molotov's own code", func(context.Context, *Session) error {
			site = nextLine()
			NewRegistry().OnEvent(nil)
			return nil
		}, "panic: molotov: OnEvent with a nil func"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			reg.Scenario("p", 1, tt.scenario)
			res := runOrFatal(t, &Runner{Registry: reg, MaxRuns: 1, Quiet: true})
			require.Len(t, res.Errors, 1)
			assert.True(t, strings.HasPrefix(res.Errors[0].Error, tt.want), res.Errors[0].Error)
			assert.True(t, strings.HasSuffix(res.Errors[0].Error, " (at "+site+")"), "%q does not end with the panic's site, %s", res.Errors[0].Error, site)
		})
	}
}

// A PanicError made outside a recover (or by the user) still names the
// first frame that is not molotov's; one without a stack, none.
func TestPanicErrorWithoutPanicFrame(t *testing.T) {
	at := nextLine()
	pe := newPanicError("x")
	assert.Equal(t, "panic: x (at "+at+")", pe.Error())
	assert.Equal(t, "panic: x", (&PanicError{Value: "x"}).Error())
	assert.Equal(t, "panic: x", (&PanicError{Value: "x", Stack: []byte("not a stack")}).Error())
}

// Verbose 1 prints each failure on a line of its own, but each distinct
// stack once, at the end, with the number of failures it caused: runs of
// several workers panicking at the same line share one stack.
func TestVerbosePrintsEachPanicStackOnce(t *testing.T) {
	reg := NewRegistry()
	var siteA, siteB atomic.Value // written by every worker
	reg.Scenario("a", 1, func(context.Context, *Session) error {
		siteA.Store(nextLine())
		panic("a")
	})
	reg.Scenario("b", 1, func(context.Context, *Session) error {
		siteB.Store(nextLine())
		panic("b")
	})
	var out lockedBuffer
	res := runOrFatal(t, &Runner{Registry: reg, Workers: 3, SingleRun: true, Verbose: 1, Output: &out})
	require.EqualValues(t, 6, res.Failed)
	text := out.String()
	t.Logf("output:\n%s", text)
	assert.Equal(t, 6, strings.Count(text, "Failure! scenario"), "a line per failure")
	assert.Len(t, regexp.MustCompile(`(?m)^goroutine \d+ \[`).FindAllString(text, -1), 2, "one stack per place that panicked")
	assert.Contains(t, text, "3 failures: panic: a (at "+siteA.Load().(string)+"), with this stack")
	assert.Contains(t, text, "3 failures: panic: b (at "+siteB.Load().(string)+"), with this stack")
	stacks := text[strings.Index(text, "3 failures:"):]
	summary := strings.Index(stacks, "SUCCESSES:")
	require.Positive(t, summary, "the stacks come before the summary")
}
