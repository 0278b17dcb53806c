package molotov

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flagsDoc is the one page that lists every -molotov.* flag.
const flagsDoc = "docs/flags.md"

// flagDocRow returns the line of flagsDoc's table that documents f.
func flagDocRow(f *flagSpec) string {
	return fmt.Sprintf("| `-molotov.%s` | `%s` | %s |", f.name, f.envName(), strings.ReplaceAll(f.usage, "|", `\|`))
}

// docRow is a flag's row in flagsDoc.
type docRow struct {
	line int // from 1
	name string
	text string
}

// flagDocRows returns the rows of flagsDoc's flag table, in file order.
func flagDocRows(t *testing.T) []docRow {
	t.Helper()
	src, err := os.ReadFile(flagsDoc)
	require.NoError(t, err)
	var rows []docRow
	for i, l := range strings.Split(string(src), "\n") {
		rest, ok := strings.CutPrefix(l, "| `-molotov.")
		if !ok {
			continue
		}
		name, _, ok := strings.Cut(rest, "`")
		require.True(t, ok, "%s:%d: a flag row must start with | `-molotov.NAME`", flagsDoc, i+1)
		rows = append(rows, docRow{line: i + 1, name: name, text: l})
	}
	require.NotEmpty(t, rows, "%s has no table rows starting with | `-molotov.", flagsDoc)
	return rows
}

// TestFlagsDocumented keeps flagsDoc and flagSpecs in step: every flag is
// listed once, with its usage text, in the order of flagSpecs, and the
// page lists no flag that does not exist. A failure says which line to
// add, replace or remove.
func TestFlagsDocumented(t *testing.T) {
	rows := flagDocRows(t)
	documented := map[string]docRow{}
	for _, r := range rows {
		if first, dup := documented[r.name]; dup {
			t.Errorf("%s:%d: -molotov.%s is listed twice (first at line %d); remove this line", flagsDoc, r.line, r.name, first.line)
			continue
		}
		documented[r.name] = r
	}

	known := map[string]bool{}
	var prev *docRow // the row of the last flag of flagSpecs seen that the page lists
	for i := range flagSpecs {
		spec := &flagSpecs[i]
		known[spec.name] = true
		want := flagDocRow(spec)
		r, ok := documented[spec.name]
		switch {
		case !ok && prev != nil:
			t.Errorf("%s lists no -molotov.%s: add this line after line %d (the row of -molotov.%s):\n%s",
				flagsDoc, spec.name, prev.line, prev.name, want)
		case !ok:
			t.Errorf("%s lists no -molotov.%s: add this line before line %d (the row of -molotov.%s):\n%s",
				flagsDoc, spec.name, rows[0].line, rows[0].name, want)
		case r.text != want:
			t.Errorf("%s:%d: the row of -molotov.%s does not match its usage in flags.go; replace the line with:\n%s",
				flagsDoc, r.line, spec.name, want)
		}
		if ok {
			if prev != nil && r.line < prev.line {
				t.Errorf("%s:%d: -molotov.%s comes before -molotov.%s (line %d), unlike flagSpecs in flags.go; move the line after line %d",
					flagsDoc, r.line, spec.name, prev.name, prev.line, prev.line)
			}
			prev = &r
		}
	}
	for _, r := range rows {
		if !known[r.name] {
			t.Errorf("%s:%d: -molotov.%s is not a flag (flagSpecs in flags.go has no %q); remove the line", flagsDoc, r.line, r.name, r.name)
		}
	}
}

func TestWantsFlags(t *testing.T) {
	for _, tt := range []struct {
		give string
		want bool
	}{
		{"-molotov.workers=5", true},
		{"--molotov.quiet", true},
		{"-molotov.threshold", true},
		{"-h", true},
		{"--h", true},
		{"-help", true},
		{"--help", true},
		{"-h=true", true},
		{"-test.v", false},
		{"-test.run=Help", false},
		{"-hh", false},
		{"-helpful", false},
		{"help", false},
		{"h", false},
		{"molotov.workers", false},
		{"---molotov.workers", false},
		{"-", false},
		{"--", false},
		{"", false},
	} {
		assert.Equal(t, tt.want, wantsFlags(tt.give), "wantsFlags(%q)", tt.give)
	}
}

// TestHelpListsFlags builds the test binary of a load test package, as
// go test ./loadtest -args -h would, and checks that -h and -help list
// the -molotov.* flags, while a binary that sees neither them nor a
// request for help registers none.
func TestHelpListsFlags(t *testing.T) {
	bin := quickstartTestBinary(t)

	for _, tt := range []struct {
		arg       string
		wantFlags bool
		wantExit  int
	}{
		{"-h", true, 0},
		{"-help", true, 0},
		{"--help", true, 0},
		{"-no-such-flag", false, 2}, // the usage is printed, without the -molotov.* flags
	} {
		t.Run(tt.arg, func(t *testing.T) {
			out, err := exec.Command(bin, tt.arg).CombinedOutput()
			exit := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantExit, exit, "exit status of %s %s:\n%s", filepath.Base(bin), tt.arg, out)
			listed := usageFlags(string(out))
			require.True(t, listed["-test.run"], "the usage of the test binary:\n%s", out)
			for i := range flagSpecs {
				flag := "-molotov." + flagSpecs[i].name
				if tt.wantFlags {
					assert.True(t, listed[flag], "%s lists %s", tt.arg, flag)
				} else {
					assert.False(t, listed[flag], "%s is registered without a -molotov.* flag or -h on the command line", flag)
				}
			}
			if tt.wantFlags {
				assert.Contains(t, string(out), "[env MOLOTOV_WORKERS]", "the usage names the environment twin")
			}
		})
	}
}

// usageFlags returns the flags that a usage message printed by the flag
// package lists, one per "  -name [type]" line.
func usageFlags(usage string) map[string]bool {
	flags := map[string]bool{}
	for _, l := range strings.Split(usage, "\n") {
		if f := strings.Fields(l); strings.HasPrefix(l, "  -") && len(f) > 0 {
			flags[f[0]] = true
		}
	}
	return flags
}

// A misspelt -molotov.* flag gets the flag it probably meant, not the
// whole list of -test.* flags.
func TestMisspeltFlagSuggestsTheNearest(t *testing.T) {
	bin := quickstartTestBinary(t)
	out, err := exec.Command(bin, "-test.run=XXX", "-molotov.worker=5").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "did you mean -molotov.workers?")
	assert.NotContains(t, string(out), "-test.run", "the -test.* flags are not listed")
}

// A bad value of a -molotov.* flag on a go test binary fails the load test
// with the value's error, not the flag package's dump of every -test.*
// flag above it; a flag set parsed by the caller still refuses it at once.
func TestBadFlagValueFailsTheTest(t *testing.T) {
	bin := quickstartTestBinary(t)
	out, err := exec.Command(bin, "-test.run=^TestLoad$", "-molotov.duration=200ms", "-molotov.threshold=p99<200").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 1, ee.ExitCode(), "a failed test, not a bad command line:\n%s", out)
	assert.Contains(t, string(out), `molotov: flag -molotov.threshold: threshold "p99<200": latency "200" needs a unit`)
	assert.NotContains(t, string(out), "-test.run", "the -test.* flags are not listed")

	fs := flag.NewFlagSet("own", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterFlags(fs)
	assert.ErrorContains(t, fs.Parse([]string{"-molotov.threshold=p99<200"}), "needs a unit")
}

func TestUnknownFlagHelp(t *testing.T) {
	assert.Contains(t, unknownFlagHelp([]string{"-test.v", "--molotov.duraton=1s"}), "-molotov.duraton is not a flag; did you mean -molotov.duration?")
	assert.Empty(t, unknownFlagHelp([]string{"-molotov.workers=2", "-h"}))
	assert.NotContains(t, unknownFlagHelp([]string{"-molotov.zzzzzzzz"}), "did you mean")
}

func TestUnknownEnvironmentVariables(t *testing.T) {
	warnings := unknownEnv([]string{"MOLOTOV_WORKER=5", "MOLOTOV_WORKERS=5", "MOLOTOV_SEGMENTS=4", "HOME=/root", "MOLOTOV_ZZZZZZZZZZ=1"})
	require.Len(t, warnings, 2)
	assert.Contains(t, warnings[0], "MOLOTOV_WORKER is not one of molotov's and is ignored; did you mean MOLOTOV_WORKERS?")
	assert.NotContains(t, warnings[1], "did you mean")

	// Runner.Test says so in the test's log.
	t.Setenv("MOLOTOV_DURATON", "1s")
	reg, _ := noHTTPRegistry(nil)
	tb := newFakeTB(t)
	t.Setenv("MOLOTOV_DURATON", "1s") // newFakeTB clears MOLOTOV_* variables
	(&Runner{Registry: reg, MaxRuns: 1, Quiet: true}).Test(tb)
	assert.Contains(t, strings.Join(tb.logs, "\n"), "did you mean MOLOTOV_DURATION?")
}

// quickstartTestBinary builds the test binary of examples/quickstart, a
// load test package, as go test -c would; it skips under -short.
func quickstartTestBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build a test binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "quickstart.test")
	out, err := exec.Command(gobin, "test", "-c", "-o", bin, "./examples/quickstart").CombinedOutput()
	require.NoError(t, err, "go test -c ./examples/quickstart:\n%s", out)
	return bin
}
