package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const workflowFile = "github-actions/loadtest.yml"

// workflow is the part of a GitHub Actions workflow that loadtest.yml
// uses; decoding refuses any other field. (yaml.v3, not sigs.k8s.io/yaml:
// YAML 1.1 would read the key "on" as true.)
type workflow struct {
	Name string            `yaml:"name"`
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]*ciJob `yaml:"jobs"`
}

type ciJob struct {
	RunsOn   string            `yaml:"runs-on"`
	Needs    stringList        `yaml:"needs"`
	If       string            `yaml:"if"`
	Outputs  map[string]string `yaml:"outputs"`
	Env      map[string]string `yaml:"env"`
	Strategy *struct {
		FailFast *bool               `yaml:"fail-fast"`
		Matrix   map[string][]string `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []ciStep `yaml:"steps"`
}

type ciStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

// stringList is a string or a list of them (needs: a, or needs: [a, b]).
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var s []string
	err := n.Decode(&s)
	*l = s
	return err
}

func readWorkflow(t *testing.T) *workflow {
	t.Helper()
	data, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var wf workflow
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("%s: %v", workflowFile, err)
	}
	return &wf
}

// runner runs a workflow's jobs on this machine as a GitHub runner
// would: each job (each leg of a matrix) in a workspace of its own, its
// run steps with bash -eo pipefail, the actions it uses played by the
// test: checkout copies the user's module, setup-go finds this machine's
// Go, upload-artifact and download-artifact copy files through a
// directory.
type runner struct {
	t         *testing.T
	ctx       context.Context
	wf        *workflow
	dir       string            // workspaces and artifacts
	vars      map[string]string // the repository's variables (vars.*)
	env       map[string]string // set after the workflow's env, as a user would edit it
	mu        sync.Mutex
	outputs   map[string]map[string]string // needs.JOB.outputs
	results   map[string]string            // needs.JOB.result: success, failure or skipped
	logs      map[string]*bytes.Buffer
	workspace map[string]string // by job (leg) name
}

// legName names a leg of a job: "share (2)".
func legName(job string, matrix map[string]string) string {
	if len(matrix) == 0 {
		return job
	}
	var vals []string
	for _, k := range sortedKeys(matrix) {
		vals = append(vals, matrix[k])
	}
	return fmt.Sprintf("%s (%s)", job, strings.Join(vals, ", "))
}

// runAll runs the jobs in the order of their needs, the legs of a
// matrix at once.
func (r *runner) runAll() {
	done := map[string]bool{}
	for len(done) < len(r.wf.Jobs) {
		var ready []string
		for name, job := range r.wf.Jobs {
			if !done[name] && !slices.ContainsFunc(job.Needs, func(n string) bool { return !done[n] }) {
				ready = append(ready, name)
			}
		}
		if len(ready) == 0 {
			r.t.Fatalf("%s: the needs of the jobs make a cycle or name a missing job", workflowFile)
		}
		sort.Strings(ready)
		for _, name := range ready {
			r.runJob(name)
			done[name] = true
		}
	}
}

func (r *runner) runJob(name string) {
	job := r.wf.Jobs[name]
	ok := true
	for _, n := range job.Needs {
		ok = ok && r.results[n] == "success"
	}
	run := ok
	if job.If != "" {
		run = r.condition(job.If, ok)
	}
	if !run {
		r.results[name] = "skipped"
		return
	}
	legs := []map[string]string{nil}
	if job.Strategy != nil && len(job.Strategy.Matrix) > 0 {
		if len(job.Strategy.Matrix) != 1 {
			r.t.Fatalf("%s: job %s: the test knows matrices of one variable", workflowFile, name)
		}
		legs = nil
		for k, vals := range job.Strategy.Matrix {
			for _, v := range vals {
				legs = append(legs, map[string]string{k: v})
			}
		}
	}
	var wg sync.WaitGroup
	passed := make([]bool, len(legs))
	outs := make([]map[string]string, len(legs))
	for i, m := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			passed[i], outs[i] = r.runLeg(name, job, m)
		}()
	}
	wg.Wait()
	r.results[name] = "success"
	if slices.Contains(passed, false) {
		r.results[name] = "failure"
	}
	r.outputs[name] = outs[0]
}

// runLeg runs the steps of one leg of a job: whether it passed, and its
// outputs.
func (r *runner) runLeg(name string, job *ciJob, matrix map[string]string) (bool, map[string]string) {
	leg := legName(name, matrix)
	ws := filepath.Join(r.dir, "workspaces", strings.NewReplacer(" ", "", "(", "-", ")", "", ",", "-").Replace(leg))
	log := &bytes.Buffer{}
	r.mu.Lock()
	r.logs[leg], r.workspace[leg] = log, ws
	r.mu.Unlock()
	if err := os.MkdirAll(ws, 0o755); err != nil {
		r.t.Error(err)
		return false, nil
	}
	ctx := map[string]string{}
	for k, v := range matrix {
		ctx["matrix."+k] = v
	}
	r.mu.Lock()
	for n, outs := range r.outputs {
		for k, v := range outs {
			ctx["needs."+n+".outputs."+k] = v
		}
	}
	r.mu.Unlock()
	for k, v := range r.vars {
		ctx["vars."+k] = v
	}
	env := map[string]string{}
	for k, v := range r.wf.Env {
		env[k] = r.eval(v, ctx)
	}
	for k, v := range r.env {
		env[k] = v
	}
	for k, v := range job.Env {
		env[k] = r.eval(v, ctx)
	}
	ok := true
	for i, st := range job.Steps {
		run := ok
		if st.If != "" {
			run = r.condition(st.If, ok)
		}
		if !run {
			continue
		}
		title := st.Name
		if title == "" {
			title = st.Uses
		}
		fmt.Fprintf(log, "== %s\n", r.eval(title, ctx))
		outs, err := r.step(st, ws, env, ctx, log, i)
		if err != nil {
			fmt.Fprintf(log, "step failed: %v\n", err)
			ok = false
		}
		for k, v := range outs {
			ctx["steps."+st.ID+".outputs."+k] = v
		}
	}
	outputs := map[string]string{}
	for k, v := range job.Outputs {
		outputs[k] = r.eval(v, ctx)
	}
	return ok, outputs
}

func (r *runner) step(st ciStep, ws string, jobEnv, ctx map[string]string, log *bytes.Buffer, i int) (map[string]string, error) {
	with := map[string]string{}
	for k, v := range st.With {
		with[k] = r.eval(v, ctx)
	}
	action, _, _ := strings.Cut(st.Uses, "@")
	switch action {
	case "actions/checkout":
		copyModule(r.t, ws)
		return nil, nil
	case "actions/setup-go":
		if _, err := os.Stat(filepath.Join(ws, with["go-version-file"])); err != nil {
			return nil, fmt.Errorf("setup-go: go-version-file: %w", err)
		}
		return nil, nil
	case "actions/upload-artifact":
		return nil, r.upload(ws, with)
	case "actions/download-artifact":
		return nil, r.download(ws, with)
	case "":
	default:
		return nil, fmt.Errorf("the test does not know the action %s", st.Uses)
	}
	outFile := filepath.Join(ws, fmt.Sprintf(".github-output-%d", i))
	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(r.ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", r.eval(st.Run, ctx))
	cmd.Dir = ws
	cmd.Env = append(cleanEnv(os.Environ()), "CI=true", "GITHUB_ACTIONS=true", "GITHUB_OUTPUT="+outFile,
		"GITHUB_WORKSPACE="+ws, "RUNNER_TEMP="+r.t.TempDir())
	for k, v := range jobEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range st.Env {
		cmd.Env = append(cmd.Env, k+"="+r.eval(v, ctx))
	}
	cmd.Stdout, cmd.Stderr = log, log // one writer: exec writes to it from one goroutine at a time
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		return nil, err
	}
	outs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			outs[k] = v
		}
	}
	return outs, nil
}

// upload-artifact: the file of path, under the artifact's name.
func (r *runner) upload(ws string, with map[string]string) error {
	src := filepath.Join(ws, with["path"])
	if _, err := os.Stat(src); err != nil {
		if with["if-no-files-found"] == "ignore" {
			return nil
		}
		return fmt.Errorf("upload-artifact %s: no file %s", with["name"], with["path"])
	}
	dst := filepath.Join(r.dir, "artifacts", with["name"], filepath.Base(src))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// download-artifact: the artifacts whose names match pattern, their
// files together in path (merge-multiple).
func (r *runner) download(ws string, with map[string]string) error {
	if with["merge-multiple"] != "true" {
		return errors.New("download-artifact: the test knows merge-multiple: true only")
	}
	names, err := os.ReadDir(filepath.Join(r.dir, "artifacts"))
	if err != nil {
		return err
	}
	dst := filepath.Join(ws, with["path"])
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		if ok, _ := path.Match(with["pattern"], n.Name()); !ok {
			continue
		}
		if err := os.CopyFS(dst, os.DirFS(filepath.Join(r.dir, "artifacts", n.Name()))); err != nil {
			return err
		}
	}
	return nil
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval replaces the ${{ }} expressions of s from ctx; an expression it
// does not know fails the test.
func (r *runner) eval(s string, ctx map[string]string) string {
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		name := expr.FindStringSubmatch(m)[1]
		v, ok := ctx[name]
		if !ok && !strings.HasPrefix(name, "vars.") {
			r.t.Errorf("%s: the expression %s names nothing the test knows", workflowFile, m)
		}
		return v // an unset repository variable is empty
	})
}

// condition evaluates an if: the two forms the workflow uses.
func (r *runner) condition(cond string, ok bool) bool {
	switch strings.TrimSpace(expr.ReplaceAllString(cond, "$1")) {
	case "!cancelled()", "always()":
		return true
	case "success()":
		return ok
	}
	r.t.Errorf("%s: the test does not know the condition %q", workflowFile, cond)
	return false
}

// The CI matrix of github-actions/, run as GitHub would run it (each job
// on a runner of its own, the shares at once): the shares' results,
// uploaded and downloaded as artifacts, merge into the configured run.
func TestCIMatrix(t *testing.T) {
	wf := readWorkflow(t)
	n, err := strconv.Atoi(wf.Env["SEGMENTS"])
	if err != nil {
		t.Fatalf("env SEGMENTS %q: %v", wf.Env["SEGMENTS"], err)
	}
	share, merge := wf.Jobs["share"], wf.Jobs["merge"]
	if share == nil || merge == nil || wf.Jobs["plan"] == nil {
		t.Fatalf("jobs %v, want plan, share and merge", sortedKeys(wf.Jobs))
	}
	var want []string
	for i := range n {
		want = append(want, strconv.Itoa(i))
	}
	if s := share.Strategy; s == nil || !slices.Equal(s.Matrix["segment"], want) || s.FailFast == nil || *s.FailFast {
		t.Errorf("share's strategy: want fail-fast: false and matrix segment %v (SEGMENTS=%d)", want, n)
	}
	if !slices.Equal(merge.Needs, []string{"share"}) || merge.If != "${{ !cancelled() }}" {
		t.Errorf("merge: needs %v, if %q; want share, and !cancelled() so that it reports a missing share", merge.Needs, merge.If)
	}
	if testing.Short() {
		t.Skip("runs a load test in 4 processes")
	}
	t.Parallel()

	mod := userModule(t)
	// setup-go restores the build cache of earlier runs: build the
	// package once, so that the shares' go test only link it.
	if err := goCommand(mod, "test", "-count=1", "-run", "^$", "./loadtest"); err != nil {
		t.Fatal(err)
	}
	const workers, maxRuns = 10, 20
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	r := &runner{
		t: t, ctx: ctx, wf: wf, dir: t.TempDir(),
		vars: map[string]string{"LOADTEST_TARGET": target(t).URL},
		env: map[string]string{
			"START_IN":        "15", // time for the 4 shares to link their test on 2 cores
			"MOLOTOV_WORKERS": fmt.Sprint(workers), "MOLOTOV_MAX_RUNS": fmt.Sprint(maxRuns), "MOLOTOV_DURATION": "1m",
		},
		outputs: map[string]map[string]string{}, results: map[string]string{},
		logs: map[string]*bytes.Buffer{}, workspace: map[string]string{},
	}
	r.runAll()
	for _, job := range []string{"plan", "share", "merge"} {
		if r.results[job] != "success" {
			t.Errorf("job %s: %s", job, r.results[job])
		}
	}
	if t.Failed() {
		for _, leg := range sortedKeys(r.logs) {
			t.Logf("--- %s\n%s", leg, r.logs[leg])
		}
		return
	}
	mergeLog := r.logs["merge"].String()
	if !strings.Contains(mergeLog, fmt.Sprintf("merged %d results: the whole run, %d runs (0 failed)", n, workers*maxRuns)) || !strings.Contains(mergeLog, "PASS") {
		t.Errorf("the merge job's log does not give the run's verdict:\n%s", mergeLog)
	}
	tot, hist := readResult(t, filepath.Join(r.workspace["merge"], "total.json"))
	if tot.MaxWorkers != workers || tot.OK+tot.Failed != workers*maxRuns || hist != workers*maxRuns || tot.Segment != "" {
		t.Errorf("merged: %d workers, %d runs, histogram count %d, segment %q; want %d workers and %d runs, the whole run",
			tot.MaxWorkers, tot.OK+tot.Failed, hist, tot.Segment, workers, workers*maxRuns)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "artifacts", "total", "total.json")); err != nil {
		t.Errorf("the merged result was not uploaded: %v", err)
	}
	t.Logf("merged: %d workers, %d runs (%d failed), histogram count %d", tot.MaxWorkers, tot.OK+tot.Failed, tot.Failed, hist)
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
