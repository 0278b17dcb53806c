package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molotov-go/molotov"
	"github.com/molotov-go/molotov/examples/quickstart"
)

// repoRoot is the checkout of molotov-go that the tests use.
var repoRoot = func() string {
	abs, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return abs
}()

// shared is a directory for what the tests build once and share: the
// user's module, the image, the molotov command. TestMain removes it.
var shared struct {
	sync.Mutex
	dir string
}

func sharedDir(t *testing.T) string {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.dir == "" {
		dir, err := os.MkdirTemp("", "molotov-deploy-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
	}
	return shared.dir
}

func removeShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// once builds a value once for every test that asks for it.
type once[T any] struct {
	sync.Once
	v   T
	err error
}

func (o *once[T]) get(t *testing.T, build func() (T, error)) T {
	t.Helper()
	o.Do(func() { o.v, o.err = build() })
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.v
}

var moduleOnce, molotovOnce once[string]

// userModule returns the module of a user of molotov-go, as the guide
// starts from: a go.mod that requires molotov-go (this checkout) and a
// loadtest/ package, here the quick start's load test, whose TestLoad
// takes its target from MOLOTOV_BASE_URL.
func userModule(t *testing.T) string {
	return moduleOnce.get(t, func() (string, error) {
		return newUserModule(filepath.Join(sharedDir(t), "module"))
	})
}

func newUserModule(dir string) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "loadtest"), 0o755); err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		return "", err
	}
	// The library's requirements are the user's too: the go.mod is
	// complete without asking the module proxy for anything.
	mod := strings.Replace(string(gomod), "module github.com/molotov-go/molotov\n", "module example.com/shop\n", 1)
	mod += fmt.Sprintf("\nrequire github.com/molotov-go/molotov v0.0.0\n\nreplace github.com/molotov-go/molotov => %s\n", repoRoot)
	files := map[string]string{"go.mod": mod}
	for src, dst := range map[string]string{
		"go.sum":                                 "go.sum",
		"examples/quickstart/loadtest.go":        "loadtest/loadtest.go",
		"examples/quickstart/server.go":          "loadtest/server.go",
		"examples/quickstart/quickstart_test.go": "loadtest/loadtest_test.go",
	} {
		b, err := os.ReadFile(filepath.Join(repoRoot, src))
		if err != nil {
			return "", err
		}
		files[dst] = string(b)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// copyModule copies the user's module to dir, as a checkout would.
func copyModule(t *testing.T, dir string) {
	t.Helper()
	src := userModule(t)
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// molotovCommand builds the molotov command of this checkout and returns
// its path.
func molotovCommand(t *testing.T) string {
	return molotovOnce.get(t, func() (string, error) {
		out := filepath.Join(sharedDir(t), "bin", "molotov")
		return out, goCommand(repoRoot, "build", "-o", out, "./cmd/molotov")
	})
}

// goCommand runs the go command in dir; its error holds the output.
func goCommand(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(os.Environ())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
}

// cleanEnv drops the variables that would change a load test run from
// outside what the test sets: MOLOTOV_* and the index of a Job.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "MOLOTOV_") || strings.HasPrefix(kv, "JOB_COMPLETION_INDEX=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// target starts the quick start's demo API on loopback: the service that
// the shares load.
func target(t *testing.T) *service {
	t.Helper()
	s := &service{}
	api := quickstart.NewServer()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.arrivals = append(s.arrivals, time.Now())
		s.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// service is the demo API, which notes when each request arrives.
type service struct {
	URL      string
	mu       sync.Mutex
	arrivals []time.Time
}

// gapCV returns the coefficient of variation of the gaps between the
// arrivals of consecutive requests: near 0 when they come evenly, near
// sqrt(n-1) when n instances send theirs in bursts of n at once.
func (s *service) gapCV() (cv float64, requests int) {
	s.mu.Lock()
	ts := slices.Clone(s.arrivals)
	s.mu.Unlock()
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	if len(ts) < 3 {
		return math.NaN(), len(ts)
	}
	var sum, sq float64
	for i := 1; i < len(ts); i++ {
		g := ts[i].Sub(ts[i-1]).Seconds()
		sum += g
		sq += g * g
	}
	n := float64(len(ts) - 1)
	mean := sum / n
	return math.Sqrt(max(sq/n-mean*mean, 0)) / mean, len(ts)
}

// shell runs a command line of the guide with sh in dir, under env: its
// output and exit status.
func shell(ctx context.Context, t *testing.T, dir string, env []string, line string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = env
	return run(t, cmd)
}

// run runs cmd: its output and exit status.
func run(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", cmd, err)
	}
	return out.String(), errb.String(), code
}

// withPath returns env with dir first on its PATH.
func withPath(env []string, dir string) []string {
	var out []string
	path := os.Getenv("PATH")
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = p
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+dir+string(os.PathListSeparator)+path)
}

// readResult reads a JSON result, and the count of its histogram of every
// scenario run's latency.
func readResult(t *testing.T, path string) (*molotov.Result, int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := molotov.ReadResult(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var j struct {
		Latency *struct {
			Histogram *struct {
				Count int64 `json:"count"`
			} `json:"histogram"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if j.Latency == nil || j.Latency.Histogram == nil {
		t.Fatalf("%s: no latency histogram", path)
	}
	return res, j.Latency.Histogram.Count
}
