package main

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

// The templates of molotov init: templates/<file>.tmpl gives <file>. Their
// names do not end in .go, so the go command never compiles them.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

// initFiles are the files that molotov init writes into loadtest/, in
// this order.
var initFiles = []string{"loadtest.go", "loadtest_test.go", "demo_test.go", "README.md"}

// molotovModule is the library's module path, the one import of the
// generated package.
const molotovModule = "github.com/molotov-go/molotov"

const initUsage = `usage: molotov init [moduleDir]

init writes a load test package, loadtest/, into a Go module: two weighted
scenarios and a Setup fixture (loadtest.go), TestLoad running them with
molotov.Runner.Test (loadtest_test.go), a demo server that TestLoad loads
until it is given a target (demo_test.go), and a README.md that says how
to point it at your service and run it.

moduleDir is where loadtest/ goes; it must be in a Go module (a go.mod in
it or above it). Without it, loadtest/ goes at the root of the module of
the current directory. init never overwrites a file: it stops, naming the
file, and writes nothing.
`

// initData is what the templates see.
type initData struct {
	Module     string // the module path, from go.mod
	ImportPath string // the generated package's import path
	Dir        string // the package's directory from the module root, "./loadtest"
}

func initCmd(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("molotov init", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, initUsage) }
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() > 1 {
		fmt.Fprintf(stderr, "molotov init: one module directory at most; got %q\n%s", fset.Args(), initUsage)
		return 2
	}
	dir, explicit := ".", fset.NArg() == 1
	if explicit {
		dir = fset.Arg(0)
	}
	if err := initModule(dir, explicit, stdout); err != nil {
		fmt.Fprintln(stderr, "molotov init:", err)
		return 1
	}
	return 0
}

// initModule writes loadtest/ into dir (explicit) or into the root of the
// module holding dir, and prints what it did and what to do next.
func initModule(dir string, explicit bool, stdout io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	root, err := findModuleRoot(abs)
	if err != nil {
		return err
	}
	gomod := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return err
	}
	modPath, requires, err := parseGoMod(data)
	if err != nil {
		return fmt.Errorf("%s: %w", gomod, err)
	}

	base := root
	if explicit {
		base = abs
	}
	pkgDir := filepath.Join(base, "loadtest")
	rel, err := filepath.Rel(root, pkgDir)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	d := initData{Module: modPath, ImportPath: modPath + "/" + rel, Dir: "./" + rel}

	files, err := renderInit(d)
	if err != nil {
		return err
	}
	// Check every file before writing any, so a refusal leaves nothing
	// half-written.
	for _, name := range initFiles {
		p := filepath.Join(pkgDir, name)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists; not overwriting it (move it away, or give another directory: molotov init DIR)", shortPath(p))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		return err
	}
	for _, name := range initFiles {
		p := filepath.Join(pkgDir, name)
		if err := writeNew(p, files[name]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s\n", shortPath(p))
	}

	if where := shortPath(root); where == "." {
		fmt.Fprintln(stdout, "\nnext:")
	} else {
		fmt.Fprintf(stdout, "\nnext, from %s:\n", where)
	}
	if !requires && modPath != molotovModule {
		fmt.Fprintf(stdout, "  go get %s\n", molotovModule)
	}
	fmt.Fprintf(stdout, "  go test -count=1 %s -run Load -v\n", d.Dir)
	fmt.Fprintf(stdout, "then read %s/README.md to point it at your service.\n", d.Dir)
	return nil
}

// renderInit returns the contents of initFiles for d; Go files are gofmt'ed.
func renderInit(d initData) (map[string][]byte, error) {
	out := make(map[string][]byte, len(initFiles))
	for _, name := range initFiles {
		src, err := templateFS.ReadFile("templates/" + name + ".tmpl")
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, d); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		text := b.Bytes()
		if strings.HasSuffix(name, ".go") {
			if text, err = format.Source(text); err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
		}
		out[name] = text
	}
	return out, nil
}

// writeNew creates path with data, failing if it exists.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; not overwriting it", shortPath(path))
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// findModuleRoot returns the nearest directory from dir upward that holds a
// go.mod.
func findModuleRoot(dir string) (string, error) {
	for d := dir; ; {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any directory above it: the load test goes into a Go module; create one first with `go mod init MODULE_PATH` (for example go mod init example.com/myservice)", dir)
		}
		d = parent
	}
}

// parseGoMod returns the module path of a go.mod and whether it requires
// molotov-go. It reads only what init needs: the module directive and the
// require directives.
func parseGoMod(data []byte) (module string, requiresMolotov bool, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	block := "" // the verb of the ( ) block being read
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if block != "" {
			if f[0] == ")" {
				block = ""
				continue
			}
			f = append([]string{block}, f...)
		} else if len(f) == 2 && f[1] == "(" {
			block = f[0]
			continue
		}
		switch {
		case f[0] == "module" && len(f) >= 2:
			module = unquote(f[1])
		case f[0] == "require" && len(f) >= 2 && unquote(f[1]) == molotovModule:
			requiresMolotov = true
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, err
	}
	if module == "" {
		return "", false, errors.New("no module directive; is it a go.mod?")
	}
	return module, requiresMolotov, nil
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// shortPath returns p relative to the current directory when it is under
// it, else p.
func shortPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}
