package deploy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// The tests play the cluster: molotov-job.sh talks to a kubectl that is
// this test binary (TestMain runs kubectl when clusterEnv is set), which
// answers from a directory where the tests keep the job and its pods:
//
//	job.yaml              what kubectl create -f - was given
//	pods/NAME/index       the pod's completion index
//	pods/NAME/phase       Running, Succeeded or Failed
//	pods/NAME/log         the pod's log: its stdout and stderr, as kubelet keeps it
//
// It answers the requests that molotov-job.sh makes, in the form it makes
// them, and refuses any other, so that a change to the script is a change
// the test sees.
const clusterEnv = "DEPLOY_TEST_CLUSTER"

// Phases of a pod.
const (
	running   = "Running"
	succeeded = "Succeeded"
	failed    = "Failed"
)

type cluster struct {
	dir string
	bin string // a directory holding kubectl, for PATH
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir(), bin: t.TempDir()}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(c.bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(c.dir, "pods"), 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

// env returns the environment under which a command sees this cluster:
// kubectl first on PATH.
func (c *cluster) env(base []string) []string {
	var env []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+c.bin+string(os.PathListSeparator)+os.Getenv("PATH"), clusterEnv+"="+c.dir)
}

// job decodes the created job strictly into the Kubernetes API type: an
// unknown or misspelt field is an error, as kubectl create's strict field
// validation makes it.
func (c *cluster) job() (*batchv1.Job, error) {
	return readJob(filepath.Join(c.dir, "job.yaml"))
}

func readJob(path string) (*batchv1.Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &job, nil
}

func (c *cluster) podDir(name string) string { return filepath.Join(c.dir, "pods", name) }

// claimDir is the directory of a persistent volume claim, shared by every
// pod that mounts it (ReadWriteMany).
func (c *cluster) claimDir(claim string) string { return filepath.Join(c.dir, "claims", claim) }

// addPod records a pod of the job as running, and returns its log file.
func (c *cluster) addPod(name string, index int) (*os.File, error) {
	dir := c.podDir(name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index"), []byte(strconv.Itoa(index)), 0o644); err != nil {
		return nil, err
	}
	if err := c.setPhase(name, running); err != nil {
		return nil, err
	}
	return os.Create(filepath.Join(dir, "log"))
}

// setPhase records a pod's phase, whole, for kubectl to read at any time.
func (c *cluster) setPhase(name, phase string) error {
	p := filepath.Join(c.podDir(name), "phase")
	if err := os.WriteFile(p+".tmp", []byte(phase), 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

type podState struct {
	name, phase string
	index       int
}

func (c *cluster) pods() ([]podState, error) {
	entries, err := os.ReadDir(filepath.Join(c.dir, "pods"))
	if err != nil {
		return nil, err
	}
	var pods []podState
	for _, e := range entries {
		idx, err := os.ReadFile(filepath.Join(c.podDir(e.Name()), "index"))
		if err != nil {
			return nil, err
		}
		phase, err := os.ReadFile(filepath.Join(c.podDir(e.Name()), "phase"))
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(string(idx))
		if err != nil {
			return nil, err
		}
		pods = append(pods, podState{name: e.Name(), phase: string(phase), index: i})
	}
	return pods, nil
}

// conditions returns the job's true conditions as a Job controller of
// Kubernetes 1.31 or later sets them once every index has ended: with
// backoffLimitPerIndex, a failed index fails the job only then.
func (c *cluster) conditions(job *batchv1.Job) (string, error) {
	pods, err := c.pods()
	if err != nil {
		return "", err
	}
	done, ok := map[int]bool{}, map[int]bool{}
	for _, p := range pods {
		switch p.phase {
		case succeeded:
			done[p.index], ok[p.index] = true, true
		case failed:
			done[p.index] = true
		}
	}
	n := int(*job.Spec.Completions)
	switch {
	case len(ok) == n:
		return "SuccessCriteriaMet Complete", nil
	case len(done) == n:
		return "FailureTarget Failed", nil
	}
	return "", nil
}

// The requests of molotov-job.sh.
const (
	jsonpathConditions = `jsonpath={.status.conditions[?(@.status=="True")].type}`
	jsonpathCompletion = `jsonpath={.spec.completions}`
	jsonpathPods       = `jsonpath={range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{" "}{.metadata.name}{"\n"}{end}`
)

// kubectl is the cluster's kubectl: it runs a request and returns its
// exit status.
func kubectl(dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cluster{dir: dir}
	if err := c.serve(args, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	return 0
}

func (c *cluster) serve(args []string, stdin io.Reader, stdout io.Writer) error {
	jobFile := filepath.Join(c.dir, "job.yaml")
	if slices.Equal(args, []string{"create", "-f", "-"}) {
		if _, err := os.Stat(jobFile); err == nil {
			return errors.New("jobs.batch already exists")
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		if err := os.WriteFile(jobFile, data, 0o644); err != nil {
			return err
		}
		job, err := c.job()
		if err != nil {
			return fmt.Errorf("error validating data: %w", err)
		}
		fmt.Fprintf(stdout, "job.batch/%s created\n", job.Name)
		return nil
	}
	job, err := c.job()
	if err != nil {
		return err
	}
	switch {
	case len(args) == 4 && args[0] == "get" && args[1] == "job/"+job.Name && args[2] == "-o" && args[3] == jsonpathConditions:
		cond, err := c.conditions(job)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, cond)
	case len(args) == 4 && args[0] == "get" && args[1] == "job/"+job.Name && args[2] == "-o" && args[3] == jsonpathCompletion:
		fmt.Fprint(stdout, *job.Spec.Completions)
	case slices.Equal(args, []string{"get", "pods", "-l", "job-name=" + job.Name, "--field-selector=status.phase=Succeeded", "-o", jsonpathPods}):
		pods, err := c.pods()
		if err != nil {
			return err
		}
		for _, p := range pods {
			if p.phase == succeeded {
				fmt.Fprintf(stdout, "%d %s\n", p.index, p.name)
			}
		}
	case len(args) == 2 && args[0] == "logs" && strings.HasPrefix(args[1], "pod/"):
		f, err := os.Open(filepath.Join(c.podDir(strings.TrimPrefix(args[1], "pod/")), "log"))
		if err != nil {
			return fmt.Errorf("pods %q not found", strings.TrimPrefix(args[1], "pod/"))
		}
		defer f.Close()
		_, err = io.Copy(stdout, f)
		return err
	case len(args) >= 2 && args[0] == "get" && strings.HasPrefix(args[1], "job/"):
		return fmt.Errorf(`jobs.batch %q not found`, strings.TrimPrefix(args[1], "job/"))
	default:
		return fmt.Errorf("the test's kubectl does not know the request %q", args)
	}
	return nil
}
