package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGo stands for the go command in molotov run's tests: it records the
// arguments and runs this test binary as TestHelperProcess, which prints
// stdout and exits with exit.
type fakeGo struct {
	calls  [][]string
	stdout string
	exit   int
}

func (f *fakeGo) command(name string, arg ...string) *exec.Cmd {
	f.calls = append(f.calls, append([]string{name}, arg...))
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperProcess$")
	// atexit_sleep_ms: a race-enabled binary otherwise sleeps 1s on exit.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "FAKE_GO_TEST=1", "FAKE_GO_TEST_STDOUT="+f.stdout, "FAKE_GO_TEST_EXIT="+strconv.Itoa(f.exit))
	return cmd
}

// TestHelperProcess is the fake go test of fakeGo; it does nothing in a
// normal test run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("FAKE_GO_TEST") != "1" {
		return
	}
	fmt.Print(os.Getenv("FAKE_GO_TEST_STDOUT"))
	code, _ := strconv.Atoi(os.Getenv("FAKE_GO_TEST_EXIT"))
	os.Exit(code)
}

// inLoadtestModule makes the current directory a temporary one that holds
// a loadtest directory, the default package of molotov run.
func inLoadtestModule(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "loadtest"), 0o755))
	t.Chdir(dir)
}

// Molotov's options become -molotov.* flags after -args, in the order
// given; flags may follow the package, and -molotov.* flags pass through
// before or after --.
func TestRunTranslatesFlags(t *testing.T) {
	inLoadtestModule(t)
	base := []string{"go", "test", "-run", "Load", "-v", "-count=1", "-timeout", "0"}
	tests := []struct {
		name string
		args string
		want string // after base
	}{
		{"defaults", "", "./loadtest"},
		{"short options", "-w 3 -d 60 -r 2", "./loadtest -args -molotov.workers=3 -molotov.duration=60 -molotov.max-runs=2"},
		{"long options", "--workers=3 --duration 1m --max-runs 2", "./loadtest -args -molotov.workers=3 -molotov.duration=1m -molotov.max-runs=2"},
		{"decimal seconds", "-d 0.5", "./loadtest -args -molotov.duration=0.5"},
		{"failures", "-x -f 5 -s list_items", "./loadtest -args -molotov.exception=true -molotov.fail=5 -molotov.single-mode=list_items"},
		{"long failures", "--exception --fail=5 --single-mode list_items", "./loadtest -args -molotov.exception=true -molotov.fail=5 -molotov.single-mode=list_items"},
		{"other options", "--ramp-up 10 --delay 0.5 --sizing --sizing-tolerance 10 --force-shutdown --console-update 1s",
			"./loadtest -args -molotov.ramp-up=10 -molotov.delay=0.5 -molotov.sizing=true -molotov.sizing-tolerance=10 -molotov.force-shutdown=true -molotov.console-update=1s"},
		{"single run", "--single-run", "./loadtest -args -molotov.single-run=true"},
		{"verbose", "-v", "./loadtest -args -molotov.verbose=1"},
		{"long verbose", "--verbose", "./loadtest -args -molotov.verbose=1"},
		{"-vv", "-vv", "./loadtest -args -molotov.verbose=2"},
		{"-v -v", "-v -v", "./loadtest -args -molotov.verbose=2"},
		{"-v counts up to 2", "-v -v -v", "./loadtest -args -molotov.verbose=2"},
		{"verbose after the other flags", "-v -w 2", "./loadtest -args -molotov.workers=2 -molotov.verbose=1"},
		{"console has no effect", "-c -w 2", "./loadtest -args -molotov.workers=2"},
		{"package", "-w 3 ./examples/quickstart", "./examples/quickstart -args -molotov.workers=3"},
		{"statsd", "--statsd -w 2", "./loadtest -args -molotov.workers=2 -molotov.statsd=udp://localhost:8125"},
		{"statsd address", "--statsd --statsd-address udp://127.0.0.1:9125", "./loadtest -args -molotov.statsd=udp://127.0.0.1:9125"},
		{"flags after the package", "./examples/quickstart -w 3 -r 2", "./examples/quickstart -args -molotov.workers=3 -molotov.max-runs=2"},
		{"bare directory", "loadtest", "./loadtest"},
		{"pattern", "./...", "./..."},
		{"after --", "-w 3 ./pkg -- -molotov.json=out.json -molotov.threshold=p99<200ms -molotov.threshold=rps>=1",
			"./pkg -args -molotov.workers=3 -molotov.json=out.json -molotov.threshold=p99<200ms -molotov.threshold=rps>=1"},
		{"after -- with separate values", "-- -molotov.base-url http://localhost:8080 -molotov.insecure",
			"./loadtest -args -molotov.base-url=http://localhost:8080 -molotov.insecure=true"},
		{"-molotov flags before --", "-molotov.seed=7 -w 2", "./loadtest -args -molotov.seed=7 -molotov.workers=2"},
		{"repeated flag", "-w 2 -w 5", "./loadtest -args -molotov.workers=2 -molotov.workers=5"},
		{"duplicate after -- comes last", "-w 2 -- -molotov.workers=9", "./loadtest -args -molotov.workers=2 -molotov.workers=9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeGo{}
			var out, errOut bytes.Buffer
			code := runWith(append([]string{"run"}, strings.Fields(tt.args)...), &out, &errOut, fake.command)
			assert.Equal(t, 0, code, "stderr: %s", errOut.String())
			require.Len(t, fake.calls, 1)
			assert.Equal(t, append(base, strings.Fields(tt.want)...), fake.calls[0])
			assert.Contains(t, errOut.String(), "molotov run: go test -run Load", "the command is shown")
		})
	}
}

// -q is Molotov's quiet: go test without -v, and no line of molotov run's
// own.
func TestRunQuiet(t *testing.T) {
	inLoadtestModule(t)
	fake := &fakeGo{stdout: "ok  \texample.com/demo/loadtest\t1.0s\n"}
	var out, errOut bytes.Buffer
	code := runWith([]string{"run", "-q", "-w", "2"}, &out, &errOut, fake.command)
	assert.Equal(t, 0, code)
	require.Len(t, fake.calls, 1)
	assert.Equal(t, []string{"go", "test", "-run", "Load", "-count=1", "-timeout", "0", "./loadtest", "-args", "-molotov.quiet=true", "-molotov.workers=2"}, fake.calls[0])
	assert.Empty(t, errOut.String())
	assert.Equal(t, fake.stdout, out.String(), "no last line: -q prints no summary")
}

func TestRunTimeout(t *testing.T) {
	inLoadtestModule(t)
	fake := &fakeGo{}
	code := runWith([]string{"run", "-timeout", "30m"}, &bytes.Buffer{}, &bytes.Buffer{}, fake.command)
	assert.Equal(t, 0, code)
	require.Len(t, fake.calls, 1)
	assert.Equal(t, []string{"go", "test", "-run", "Load", "-v", "-count=1", "-timeout", "30m", "./loadtest"}, fake.calls[0])
}

// Bad values and unknown flags exit 2 with a message naming the flag, and
// go test never starts.
func TestRunBadFlags(t *testing.T) {
	inLoadtestModule(t)
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"workers not a number", []string{"-w", "abc"}, []string{`invalid value "abc" for flag -w`, "not a whole number"}},
		{"workers negative", []string{"--workers", "-3"}, []string{`invalid value "-3" for flag -workers`, "negative"}},
		{"workers too many", []string{"-w", "5000000"}, []string{"-w", "1000000"}},
		{"duration negative", []string{"-d", "-5"}, []string{`invalid value "-5" for flag -d`, "negative"}},
		{"duration not one", []string{"-d", "soon"}, []string{`invalid value "soon" for flag -d`, "not a duration"}},
		{"max runs negative", []string{"-r", "-1"}, []string{`for flag -r`, "negative"}},
		{"fail not a number", []string{"-f", "many"}, []string{`for flag -f`}},
		{"sizing tolerance", []string{"--sizing-tolerance", "200"}, []string{`for flag -sizing-tolerance`, "out of range"}},
		{"console update", []string{"--console-update", "1ns"}, []string{`for flag -console-update`}},
		{"exception not a bool", []string{"-x=maybe"}, []string{`for -x`}},
		{"missing value", []string{"-w"}, []string{"flag needs an argument: -w"}},
		{"unknown short flag", []string{"-z"}, []string{"flag provided but not defined: -z"}},
		{"unknown long flag", []string{"--uvloop"}, []string{"flag provided but not defined: -uvloop"}},
		{"statsd address without --statsd", []string{"--statsd-address", "udp://localhost:8125"}, []string{"--statsd-address needs --statsd"}},
		{"statsd over tcp", []string{"--statsd", "--statsd-address", "tcp://localhost:8125"}, []string{"only udp://"}},
		{"processes", []string{"-p", "4"}, []string{"-p/--processes is not supported", "-w"}},
		{"config without profile", []string{"--config", "molotov.json"}, []string{"--config molotov.json needs --profile"}},
		{"profile without file", []string{"--profile", "smoke", "--config", "testdata/none.json"}, []string{"testdata/none.json"}},
		{"quiet and verbose", []string{"-q", "-v"}, []string{"can't use -q and -v"}},
		{"single mode and single run", []string{"-s", "list_items", "--single-run"}, []string{"can't use -s (--single-mode) and --single-run"}},
		{"two packages", []string{"./a", "./b"}, []string{"one package at most"}},
		{"bad timeout", []string{"-timeout", "soon"}, []string{`invalid value "soon" for flag -timeout`}},
		{"verbose count", []string{"-v=lots"}, []string{`for -v`}},
		{"unknown -molotov flag", []string{"-molotov.nope=1"}, []string{"flag provided but not defined: -molotov.nope"}},
		{"unknown -molotov flag after --", []string{"--", "-molotov.nope=1"}, []string{"flag provided but not defined: -molotov.nope"}},
		{"bad value after --", []string{"--", "-molotov.workers=x"}, []string{`invalid value "x" for flag -molotov.workers`}},
		{"bad threshold after --", []string{"--", "-molotov.threshold=p99<<1"}, []string{`for flag -molotov.threshold`}},
		{"not a -molotov flag after --", []string{"--", "-w", "3"}, []string{"flag provided but not defined: -w"}},
		{"argument after --", []string{"--", "./pkg"}, []string{`after --, give -molotov.* flags only; "./pkg" is not one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeGo{}
			var out, errOut bytes.Buffer
			code := runWith(append([]string{"run"}, tt.args...), &out, &errOut, fake.command)
			assert.Equal(t, 2, code, "stderr: %s", errOut.String())
			for _, s := range tt.stderr {
				assert.Contains(t, errOut.String(), s)
			}
			assert.Empty(t, fake.calls, "go test must not start")
			assert.Empty(t, out.String())
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runWith([]string{"run", "-h"}, &out, &errOut, (&fakeGo{}).command)
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut.String(), "usage: molotov run")
	assert.Contains(t, errOut.String(), "-w, --workers")
}

// Without a package and without ./loadtest, molotov run says to write one.
func TestRunNoLoadtestPackage(t *testing.T) {
	t.Chdir(t.TempDir())
	fake := &fakeGo{}
	var errOut bytes.Buffer
	code := runWith([]string{"run", "-w", "2"}, &bytes.Buffer{}, &errOut, fake.command)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "molotov init")
	assert.Empty(t, fake.calls)
}

// The output passes through, the last line holds Molotov's three figures
// from the summary (not from the live lines), and the exit status is go
// test's.
func TestRunLastLineAndExitStatus(t *testing.T) {
	inLoadtestModule(t)
	live := "SUCCESSES: 40 | FAILURES: 1 | WORKERS: 4 | ELAPSED: 500ms | RATE: 80.0/s\n"
	summary := "    loadtest_test.go:26: molotov summary:\n" +
		"        SUCCESSES: 120 | FAILURES: 3 | WORKERS: 4 (max) | ELAPSED: 1.0s | STOP: duration\n" +
		"        \n        Scenarios\n"
	tests := []struct {
		name     string
		stdout   string
		exit     int
		lastLine string // "" when there is none
		stderr   string
	}{
		{"failed test", "=== RUN   TestLoad\n" + live + summary + "--- FAIL: TestLoad (1.00s)\nFAIL\n", 1, "SUCCESSES: 120 | FAILURES: 3 | WORKERS: 4", ""},
		{"passed test", live + strings.ReplaceAll(summary, "FAILURES: 3", "FAILURES: 0") + "ok\n", 0, "SUCCESSES: 120 | FAILURES: 0 | WORKERS: 4", ""},
		{"setup failures", "        SUCCESSES: 7 | FAILURES: 0 | SETUP FAILED: 2 | WORKERS: 5 (max) | ELAPSED: 1.0s\n", 1, "SUCCESSES: 7 | FAILURES: 0 | WORKERS: 5", ""},
		{"two summaries add up", summary + "    x_test.go:9: molotov summary:\n        SUCCESSES: 5 | FAILURES: 2 | WORKERS: 9 (max) | ELAPSED: 1s\n", 1, "SUCCESSES: 125 | FAILURES: 5 | WORKERS: 9", ""},
		{"summary without a final newline", strings.TrimSuffix(summary, "\n        \n        Scenarios\n"), 0, "SUCCESSES: 120 | FAILURES: 3 | WORKERS: 4", ""},
		{"build failure", "FAIL\texample.com/demo/loadtest [build failed]\n", 1, "", ""},
		{"exit status passes through", "", 3, "", ""},
		{"no summary", "testing: warning: no tests to run\nPASS\n", 0, "", "no load test summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeGo{stdout: tt.stdout, exit: tt.exit}
			var out, errOut bytes.Buffer
			code := runWith([]string{"run"}, &out, &errOut, fake.command)
			assert.Equal(t, tt.exit, code, "stderr: %s", errOut.String())
			assert.True(t, strings.HasPrefix(out.String(), tt.stdout), "the output passes through:\n%s", out.String())
			assert.Equal(t, tt.lastLine, strings.TrimSuffix(strings.TrimPrefix(out.String(), tt.stdout), "\n"))
			if tt.stderr != "" {
				assert.Contains(t, errOut.String(), tt.stderr)
			}
		})
	}
}

// The summary is found however the output is cut into writes.
func TestSummaryWriterChunks(t *testing.T) {
	text := "x\nSUCCESSES: 1 | FAILURES: 0 | WORKERS: 1 | ELAPSED: 1s | RATE: 1.0/s\n    SUCCESSES: 12 | FAILURES: 1 | WORKERS: 3 (max) | ELAPSED: 2.0s | STOP: max-runs\nPASS\n"
	for _, size := range []int{1, 2, 7, len(text)} {
		var out bytes.Buffer
		s := &summaryWriter{w: &out}
		for p := text; p != ""; {
			n := min(size, len(p))
			w, err := s.Write([]byte(p[:n]))
			require.NoError(t, err)
			require.Equal(t, n, w)
			p = p[n:]
		}
		s.flush()
		assert.Equal(t, text, out.String())
		assert.Equal(t, 1, s.summaries, "chunks of %d", size)
		assert.Equal(t, int64(12), s.ok)
		assert.Equal(t, int64(1), s.failed)
		assert.Equal(t, 3, s.workers)
	}
	// A huge line is skipped, not kept.
	s := &summaryWriter{w: &bytes.Buffer{}}
	s.Write(bytes.Repeat([]byte("a"), 3*maxLine))
	s.Write([]byte(" SUCCESSES: 1 | FAILURES: 0 | WORKERS: 1 (max)\nSUCCESSES: 2 | FAILURES: 0 | WORKERS: 1 (max)\n"))
	assert.LessOrEqual(t, cap(s.line), 2*maxLine)
	assert.Equal(t, int64(2), s.ok, "only the line after the huge one counts")
}

func TestShellJoin(t *testing.T) {
	assert.Equal(t, `go test -run Load ./x -args '-molotov.threshold=p99 < 200ms' 'it'\''s'`,
		shellJoin([]string{"go", "test", "-run", "Load", "./x", "-args", "-molotov.threshold=p99 < 200ms", "it's"}))
}

// The acceptance test: molotov run on the quick start, for real, from the
// repository's root: 3 workers × 2 runs.
func TestRunQuickstartEndToEnd(t *testing.T) {
	command := repoCommand(t)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := runWith([]string{"run", "-w", "3", "-r", "2", "./examples/quickstart"}, &out, &errOut, command)
	t.Logf("molotov run took %v", time.Since(start).Round(time.Millisecond))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "--- PASS: TestLoad", "the test's output passes through")
	assert.Contains(t, out.String(), "STOP: max-runs")
	assert.True(t, strings.HasSuffix(out.String(), "\nSUCCESSES: 6 | FAILURES: 0 | WORKERS: 3\n"), "last line; output:\n%s", out.String())
	assert.Contains(t, errOut.String(), "molotov run: go test -run Load -v -count=1 -timeout 0 ./examples/quickstart -args -molotov.workers=3 -molotov.max-runs=2")
}

// withoutMolotovEnv drops MOLOTOV_* variables, so that the caller's
// environment cannot change a run under test.
func withoutMolotovEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MOLOTOV_") {
			out = append(out, kv)
		}
	}
	return out
}

// molotov run --list prints the package's scenarios and weights, running
// none of them.
func TestRunListEndToEnd(t *testing.T) {
	command := repoCommand(t)
	var out, errOut bytes.Buffer
	code := runWith([]string{"run", "--list", "./examples/quickstart"}, &out, &errOut, command)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Equal(t, "SCENARIO     WEIGHT\ncreate_item  1\nget_item     3\nlist_items   6\n", out.String())
}

// --profile NAME reads the options of a named profile from molotov.json
// (or --config FILE); options on the command line come after, so they win.
func TestRunProfiles(t *testing.T) {
	cfg, err := filepath.Abs("testdata/molotov.json")
	require.NoError(t, err)
	inLoadtestModule(t)
	base := []string{"go", "test", "-run", "Load", "-v", "-count=1", "-timeout", "0"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"smoke", []string{"--profile", "smoke", "--config", cfg},
			"./examples/quickstart -args -molotov.duration=10s -molotov.workers=2"},
		{"command line wins", []string{"--config=" + cfg, "--profile=smoke", "-w", "5"},
			"./examples/quickstart -args -molotov.duration=10s -molotov.workers=2 -molotov.workers=5"},
		{"lists and booleans", []string{"--profile", "soak", "--config", cfg},
			"./loadtest -args -molotov.duration=10m -molotov.force-shutdown=true -molotov.threshold=p99 < 500ms -molotov.threshold=failure_rate < 1% -molotov.ramp-up=1m -molotov.workers=200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeGo{}
			var out, errOut bytes.Buffer
			code := runWith(append([]string{"run"}, tt.args...), &out, &errOut, fake.command)
			require.Equal(t, 0, code, "stderr: %s", errOut.String())
			require.Len(t, fake.calls, 1)
			got := strings.Join(fake.calls[0][len(base):], " ")
			assert.Equal(t, tt.want, got)
		})
	}
	var errOut bytes.Buffer
	assert.Equal(t, 2, runWith([]string{"run", "--profile", "nope", "--config", cfg}, &bytes.Buffer{}, &errOut, (&fakeGo{}).command))
	assert.Contains(t, errOut.String(), `no profile "nope"; it has: smoke, soak`)

	// A typo in a profile's key names the file, the profile and the option
	// it probably meant.
	typo := filepath.Join(t.TempDir(), "typo.json")
	require.NoError(t, os.WriteFile(typo, []byte(`{"profiles": {"ci": {"workerz": 3}}}`), 0o644))
	errOut.Reset()
	assert.Equal(t, 2, runWith([]string{"run", "--profile", "ci", "--config", typo}, &bytes.Buffer{}, &errOut, (&fakeGo{}).command))
	assert.Contains(t, errOut.String(), typo+`: profile "ci": "workerz" is not an option of molotov run; did you mean "workers"?`)

	// The default file is molotov.json in the current directory.
	require.NoError(t, os.WriteFile("molotov.json", []byte(`{"profiles": {"ci": {"max-runs": 3}}}`), 0o644))
	fake := &fakeGo{}
	require.Equal(t, 0, runWith([]string{"run", "--profile", "ci"}, &bytes.Buffer{}, &bytes.Buffer{}, fake.command))
	assert.Equal(t, "./loadtest -args -molotov.max-runs=3", strings.Join(fake.calls[0][len(base):], " "))
}

// repoCommand returns a command builder that runs from the repository's
// root without the caller's MOLOTOV_* variables, for the end-to-end tests
// (skipped under -short: they run go test on examples/quickstart).
func repoCommand(t *testing.T) commandFunc {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go test on examples/quickstart")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return func(name string, arg ...string) *exec.Cmd {
		cmd := exec.Command(name, arg...)
		cmd.Dir = root
		cmd.Env = withoutMolotovEnv(os.Environ())
		return cmd
	}
}
