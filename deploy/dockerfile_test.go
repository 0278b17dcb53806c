package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const dockerfile = "kubernetes/Dockerfile"

// instruction is one instruction of a Dockerfile: its keyword in capitals,
// its flags (--from=build) and the rest of it.
type instruction struct {
	line  int
	cmd   string
	flags []string
	rest  string
}

// stage is a FROM and the instructions up to the next one.
type stage struct {
	from, name string
	ins        []instruction
}

// parseDockerfile reads the instructions of a Dockerfile: continuation
// lines joined, comments dropped; the ARGs before the first FROM are
// global.
func parseDockerfile(path string) (global []instruction, stages []stage, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cur strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(body)
			continue
		}
		cur.WriteString(line)
		cmd, rest, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cur.Reset()
		in := instruction{line: start, cmd: strings.ToUpper(cmd)}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			flag, tail, _ := strings.Cut(rest, " ")
			in.flags = append(in.flags, flag)
			rest = strings.TrimSpace(tail)
		}
		in.rest = rest
		switch {
		case in.cmd == "FROM":
			fields := strings.Fields(rest)
			st := stage{from: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			} else if len(fields) != 1 {
				return nil, nil, fmt.Errorf("%s:%d: FROM %s: want FROM IMAGE [AS NAME]", path, start, rest)
			}
			stages = append(stages, st)
		case len(stages) == 0 && in.cmd == "ARG":
			global = append(global, in)
		case len(stages) == 0:
			return nil, nil, fmt.Errorf("%s:%d: %s before the first FROM", path, start, in.cmd)
		default:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	if cur.Len() > 0 {
		return nil, nil, fmt.Errorf("%s: ends in a continuation line", path)
	}
	return global, stages, sc.Err()
}

// image is what the tests need of the image that the Dockerfile builds:
// a root holding its files (the load test binary), and its config.
type image struct {
	root       string   // the files COPY put in the final stage, under their paths
	path       []string // the PATH of ENV PATH
	user       string
	workdir    string
	entrypoint []string
}

// local returns where a path of the image is on this machine: under root
// for the files the Dockerfile copied; a shell's directory (BusyBox) is
// this machine's.
func (im *image) local(p string) (string, bool) {
	if _, err := os.Stat(filepath.Join(im.root, p)); err == nil {
		return filepath.Join(im.root, p), true
	}
	return "", false
}

var imageOnce once[*image]

// buildImage builds the image of the user's load test as the Dockerfile
// says, without Docker: the build stage's RUN commands run in the user's
// module (the build context, COPY . .), with its ARGs, and the final
// stage's COPY --from=build takes their output. The tests then start the
// image's binary as Kubernetes would start the container.
func buildImage(t *testing.T) *image {
	return imageOnce.get(t, func() (*image, error) {
		return build(userModule(t), filepath.Join(sharedDir(t), "image"))
	})
}

func build(context, root string) (*image, error) {
	global, stages, err := parseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	if len(stages) != 2 || stages[0].name != "build" {
		return nil, fmt.Errorf("%s: want two stages, build and the image; have %d", dockerfile, len(stages))
	}
	args := map[string]string{}
	setArg := func(in instruction) {
		name, def, _ := strings.Cut(in.rest, "=")
		args[name] = def
	}
	for _, in := range global {
		setArg(in)
	}
	// The build stage: the output of go test -c goes to a local directory
	// in place of the image's.
	out := filepath.Join(root, "build")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	built := map[string]string{} // path in the build stage -> local path
	for _, in := range stages[0].ins {
		switch in.cmd {
		case "ARG":
			setArg(in)
		case "WORKDIR", "COPY":
			// WORKDIR /src holds the build context: the user's module.
		case "RUN":
			script := in.rest
			if strings.Contains(script, "go test -c") {
				m := regexp.MustCompile(` -o (/\S+) `).FindStringSubmatch(script)
				if m == nil {
					return nil, fmt.Errorf("%s:%d: go test -c without -o /PATH", dockerfile, in.line)
				}
				built[m[1]] = filepath.Join(out, filepath.Base(m[1]))
				script = strings.Replace(script, m[0], " -o "+built[m[1]]+" ", 1)
			}
			cmd := exec.Command("sh", "-c", script)
			cmd.Dir = context
			cmd.Env = cleanEnv(os.Environ())
			for k, v := range args {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("%s:%d: RUN %s: %v\n%s", dockerfile, in.line, in.rest, err, b)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s in the build stage: the test does not know how to run it", dockerfile, in.line, in.cmd)
		}
	}
	im := &image{root: filepath.Join(root, "rootfs"), workdir: "/"}
	for _, in := range stages[1].ins {
		switch in.cmd {
		case "COPY":
			fields := strings.Fields(in.rest)
			if !slices.Contains(in.flags, "--from=build") || len(fields) != 2 || built[fields[0]] == "" {
				return nil, fmt.Errorf("%s:%d: COPY %s: want COPY --from=build with the output of go test -c", dockerfile, in.line, in.rest)
			}
			dst := filepath.Join(im.root, fields[1])
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return nil, err
			}
			if err := os.Rename(built[fields[0]], dst); err != nil {
				return nil, err
			}
		case "ENV":
			name, v, _ := strings.Cut(in.rest, "=")
			if name != "PATH" {
				return nil, fmt.Errorf("%s:%d: ENV %s: the test knows PATH only", dockerfile, in.line, name)
			}
			im.path = strings.Split(v, ":")
		case "USER":
			im.user = in.rest
		case "WORKDIR":
			im.workdir = in.rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.rest), &im.entrypoint); err != nil {
				return nil, fmt.Errorf("%s:%d: ENTRYPOINT: want the exec form, a JSON array: %v", dockerfile, in.line, err)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s in the final stage: the test does not know it", dockerfile, in.line, in.cmd)
		}
	}
	return im, nil
}

// The Dockerfile builds a static test binary in a Go image and puts it in
// a small image that has a shell for the Job's wrapper, runs as a
// non-root user, and finds the binary on its PATH.
func TestDockerfile(t *testing.T) {
	global, stages, err := parseDockerfile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	if len(global) != 1 || !strings.HasPrefix(global[0].rest, "GO_VERSION=") {
		t.Errorf("global ARGs %v, want ARG GO_VERSION=…", global)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want 2: build, and the image", len(stages))
	}
	if b := stages[0]; b.from != "golang:${GO_VERSION}" || b.name != "build" {
		t.Errorf("build stage FROM %s AS %s, want FROM golang:${GO_VERSION} AS build", b.from, b.name)
	}
	var goTest string
	for _, in := range stages[0].ins {
		if in.cmd == "RUN" && strings.Contains(in.rest, "go test -c") {
			goTest = in.rest
		}
	}
	for _, want := range []string{"CGO_ENABLED=0 ", "-trimpath", `"$PACKAGE"`} {
		if !strings.Contains(goTest, want) {
			t.Errorf("RUN %q lacks %s: the image has no C library, and PACKAGE names the load test", goTest, want)
		}
	}
	// distroless static's debug images have BusyBox (a shell) in /busybox
	// and, with -nonroot, the user 65532.
	if f := stages[1].from; !strings.HasPrefix(f, "gcr.io/distroless/static") || !strings.HasSuffix(f, ":debug-nonroot") {
		t.Errorf("image FROM %s, want distroless static's debug-nonroot: small, with a shell for the Job's wrapper", f)
	}

	im := buildImage(t)
	if !slices.Contains(im.path, "/busybox") {
		t.Errorf("image PATH %v lacks /busybox: job.yaml's command is sh", im.path)
	}
	bin, ok := im.local("/usr/local/bin/loadtest")
	if !ok || !slices.Contains(im.path, "/usr/local/bin") {
		t.Fatalf("no loadtest on the image's PATH %v", im.path)
	}
	if im.user != "65532:65532" {
		t.Errorf("USER %s, want 65532:65532 (numeric, so that Kubernetes can check runAsNonRoot)", im.user)
	}
	if im.workdir != "/tmp" {
		t.Errorf("WORKDIR %s, want /tmp: writable (the Job mounts an emptyDir there), and where relative result paths go", im.workdir)
	}
	// The binary is static: it runs on an image with no C library.
	if out, err := exec.Command("file", bin).Output(); err == nil && !strings.Contains(string(out), "statically linked") {
		t.Errorf("the test binary is not static: %s", out)
	}
	// The ENTRYPOINT runs the load test: listing the scenarios runs
	// nothing.
	cmd := exec.Command(bin, append(im.entrypoint[1:], "-molotov.list")...)
	cmd.Env = cleanEnv(os.Environ())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `molotov-scenario "list_items" 6`) {
		t.Errorf("ENTRYPOINT %v -molotov.list: %v\n%s", im.entrypoint, err, out)
	}
}
