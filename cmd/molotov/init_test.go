package main

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
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

// writeModule writes a go.mod for module example.com/demo into a new
// temporary directory and returns it; extra is appended to the go.mod.
func writeModule(t *testing.T, extra string) string {
	dir := t.TempDir()
	gomod := "module example.com/demo\n\ngo 1.24.0\n" + extra
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	return dir
}

// The acceptance test: in a fresh module that requires molotov-go (this
// repository, through a replace), molotov init writes a load test that
// passes as written, without the network.
func TestInitGeneratesPassingLoadTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a generated module")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := writeModule(t, "\nrequire "+molotovModule+" v0.0.0\n\nreplace "+molotovModule+" => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"init", dir}, &out, &errOut), "stderr: %s", errOut.String())
	for _, f := range initFiles {
		assert.FileExists(t, filepath.Join(dir, "loadtest", f))
	}
	assert.NotContains(t, out.String(), "go get", "go.mod already requires molotov-go")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "./loadtest")
	cmd.Dir = dir
	cmd.Env = append(withoutMolotovEnv(os.Environ()), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	got, err := cmd.CombinedOutput()
	t.Logf("go test ./loadtest took %v", time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "go test ./loadtest:\n%s", got)
	assert.Contains(t, string(got), "ok  \texample.com/demo/loadtest")
}

// The generated package imports molotov-go and the standard library only,
// and is gofmt'ed; the README tells how to point it at a target and run it.
func TestInitTemplates(t *testing.T) {
	files, err := renderInit(initData{Module: "example.com/demo", ImportPath: "example.com/demo/services/loadtest", Dir: "./services/loadtest"})
	require.NoError(t, err)
	require.Len(t, files, len(initFiles))
	tests := 0
	for name, src := range files {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		require.NoError(t, err, name)
		assert.Equal(t, "loadtest", f.Name.Name, name)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			assert.True(t, path == molotovModule || !strings.Contains(first, "."), "%s imports %s", name, path)
		}
		if bytes.Contains(src, []byte("func TestLoad(t *testing.T)")) {
			tests++
			assert.Contains(t, string(src), ".Test(t)")
		}
	}
	assert.Equal(t, 1, tests, "one TestLoad")
	lt := string(files["loadtest.go"])
	assert.Equal(t, 2, strings.Count(lt, "molotov.Scenario("), "two scenarios")
	assert.Contains(t, lt, "molotov.Setup(")
	readme := string(files["README.md"])
	for _, s := range []string{"BaseURL", "-molotov.base-url", "MOLOTOV_BASE_URL", "go test -count=1 ./services/loadtest -run Load -v", "molotov run"} {
		assert.Contains(t, readme, s)
	}
}

// Without a directory, init writes loadtest/ at the root of the module of
// the current directory, and says to add molotov-go when go.mod lacks it.
func TestInitDefaultsToModuleRoot(t *testing.T) {
	dir := writeModule(t, "")
	sub := filepath.Join(dir, "internal", "x")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	t.Chdir(sub)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"init"}, &out, &errOut), "stderr: %s", errOut.String())
	for _, f := range initFiles {
		assert.FileExists(t, filepath.Join(dir, "loadtest", f))
	}
	assert.NoDirExists(t, filepath.Join(sub, "loadtest"))
	assert.Contains(t, out.String(), "go get "+molotovModule)
	assert.Contains(t, out.String(), "go test -count=1 ./loadtest -run Load -v")
}

// With a directory inside a module, loadtest/ goes there.
func TestInitIntoSubdirectory(t *testing.T) {
	dir := writeModule(t, "require (\n\t"+molotovModule+" v1.0.0 // the library\n)\n")
	sub := filepath.Join(dir, "services", "api")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"init", sub}, &out, &errOut), "stderr: %s", errOut.String())
	assert.FileExists(t, filepath.Join(sub, "loadtest", "loadtest.go"))
	assert.NotContains(t, out.String(), "go get")
	assert.Contains(t, out.String(), "go test -count=1 ./services/api/loadtest -run Load -v")
	lt, err := os.ReadFile(filepath.Join(sub, "loadtest", "loadtest.go"))
	require.NoError(t, err)
	assert.Contains(t, string(lt), "load test of example.com/demo")
}

// init never overwrites: one existing file stops it before it writes any.
func TestInitRefusesToOverwrite(t *testing.T) {
	dir := writeModule(t, "")
	existing := filepath.Join(dir, "loadtest", "demo_test.go")
	require.NoError(t, os.MkdirAll(filepath.Dir(existing), 0o755))
	require.NoError(t, os.WriteFile(existing, []byte("package loadtest\n"), 0o644))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{"init", dir}, &out, &errOut))
	assert.Contains(t, errOut.String(), filepath.Join("loadtest", "demo_test.go")+" already exists")
	assert.NoFileExists(t, filepath.Join(dir, "loadtest", "loadtest.go"), "nothing written")
	got, err := os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "package loadtest\n", string(got))
}

func TestInitRefusesWithoutGoMod(t *testing.T) {
	dir := t.TempDir()
	if _, err := findModuleRoot(dir); err == nil {
		t.Skip("the temporary directory is inside a Go module")
	}
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{"init", dir}, &out, &errOut))
	assert.Contains(t, errOut.String(), "no go.mod")
	assert.Contains(t, errOut.String(), "go mod init")
	assert.NoDirExists(t, filepath.Join(dir, "loadtest"))
}

func TestInitUsageErrors(t *testing.T) {
	var errOut bytes.Buffer
	assert.Equal(t, 2, run([]string{"init", "a", "b"}, &bytes.Buffer{}, &errOut))
	assert.Contains(t, errOut.String(), "one module directory at most")
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"init", filepath.Join(t.TempDir(), "nope")}, &bytes.Buffer{}, &errOut))
	assert.Contains(t, errOut.String(), "nope")
	errOut.Reset()
	assert.Equal(t, 0, run([]string{"init", "-h"}, &bytes.Buffer{}, &errOut))
	assert.Contains(t, errOut.String(), "usage: molotov init")
}

func TestParseGoMod(t *testing.T) {
	tests := []struct {
		name     string
		gomod    string
		module   string
		requires bool
		err      bool
	}{
		{"plain", "module example.com/a\n\ngo 1.24.0\n", "example.com/a", false, false},
		{"quoted, with a comment", "// the module\nmodule \"example.com/b\" // b\n", "example.com/b", false, false},
		{"single require", "module m\nrequire github.com/molotov-go/molotov v1.2.3\n", "m", true, false},
		{"require block", "module m\nrequire (\n\tgo.uber.org/zap v1.27.1\n\tgithub.com/molotov-go/molotov v0.1.0 // indirect\n)\n", "m", true, false},
		{"replace only", "module m\nreplace github.com/molotov-go/molotov => ../molotov\n", "m", false, false},
		{"commented out", "module m\n// require github.com/molotov-go/molotov v1.0.0\n", "m", false, false},
		{"no module", "go 1.24.0\n", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			module, requires, err := parseGoMod([]byte(tt.gomod))
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.module, module)
			assert.Equal(t, tt.requires, requires)
		})
	}
}
