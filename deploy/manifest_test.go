package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const (
	manifest  = "kubernetes/job.yaml"
	jobScript = "kubernetes/molotov-job.sh"
)

// runScript runs molotov-job.sh in dir (a new one when empty) with the
// variables vars, under env (the cluster's, or this machine's): its
// output and exit status.
func runScript(ctx context.Context, t *testing.T, dir string, env []string, vars map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	script, err := filepath.Abs(jobScript)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "sh", append([]string{script}, args...)...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = cleanEnv(env)
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return run(t, cmd)
}

// The template's placeholders are the five that molotov-job.sh fills in
// and job.yaml's envsubst line names, no more.
func TestJobTemplatePlaceholders(t *testing.T) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"IMAGE", "JOB", "SEGMENTS", "START_AT", "TARGET"}
	var got []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(string(data), -1) {
		if !slices.Contains(got, m[1]) {
			got = append(got, m[1])
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("placeholders %v, want %v", got, want)
	}
	if !strings.Contains(string(data), "envsubst '${JOB} ${IMAGE} ${SEGMENTS} ${START_AT} ${TARGET}'") {
		t.Errorf("job.yaml's envsubst line does not name the placeholders %v", want)
	}
}

// The rendered Job decodes strictly into the Kubernetes API types and
// sets what a segmented run needs.
func TestJobManifest(t *testing.T) {
	for _, segments := range []int{1, 4, 50} {
		t.Run(strconv.Itoa(segments), func(t *testing.T) {
			vars := map[string]string{
				"JOB": "checkout-load", "IMAGE": "registry.example.com/team/loadtest:v1", "SEGMENTS": strconv.Itoa(segments),
				"TARGET": "https://staging.example.com/api?a=1&b=|2", "START_IN": "300",
			}
			before := time.Now().Truncate(time.Second)
			out, errs, code := runScript(t.Context(), t, "", os.Environ(), vars, "render")
			if code != 0 {
				t.Fatalf("render: exit %d: %s", code, errs)
			}
			var job batchv1.Job
			if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
				t.Fatalf("the rendered job.yaml is not a Job: %v", err)
			}
			startAt := checkJob(t, &job, vars)
			if at, err := time.Parse(time.RFC3339, startAt); err != nil {
				t.Errorf("start-at %q: %v", startAt, err)
			} else if d := at.Sub(before); d < 300*time.Second || d > 302*time.Second {
				t.Errorf("start-at %s is %v from now, want START_IN=300s", startAt, d)
			}
		})
	}
	t.Run("START_AT", func(t *testing.T) {
		vars := map[string]string{"IMAGE": "loadtest", "START_AT": "2030-01-02T03:04:05Z"}
		out, errs, code := runScript(t.Context(), t, "", os.Environ(), vars, "render")
		if code != 0 {
			t.Fatalf("render: exit %d: %s", code, errs)
		}
		var job batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
			t.Fatal(err)
		}
		vars["JOB"], vars["SEGMENTS"] = "loadtest", "4" // the defaults
		if got := checkJob(t, &job, vars); got != vars["START_AT"] {
			t.Errorf("start-at %s, want START_AT %s", got, vars["START_AT"])
		}
	})
}

// checkJob checks the fields of a rendered Job that a segmented run needs
// and returns its start time.
func checkJob(t *testing.T, job *batchv1.Job, vars map[string]string) (startAt string) {
	t.Helper()
	n, _ := strconv.Atoi(vars["SEGMENTS"])
	spec := job.Spec
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Name != vars["JOB"] {
		t.Errorf("%s %s %s, want batch/v1 Job %s", job.APIVersion, job.Kind, job.Name, vars["JOB"])
	}
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed: JOB_COMPLETION_INDEX gives each pod its share", spec.CompletionMode)
	}
	if spec.Completions == nil || int(*spec.Completions) != n || spec.Parallelism == nil || int(*spec.Parallelism) != n {
		t.Errorf("completions %v, parallelism %v, want both %d: every share at once", spec.Completions, spec.Parallelism, n)
	}
	// No retry, per index: a retry would start late and be refused, and a
	// failed index must not stop the others.
	if spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex != 0 {
		t.Errorf("backoffLimitPerIndex %v, want 0", spec.BackoffLimitPerIndex)
	}
	if spec.BackoffLimit != nil || spec.MaxFailedIndexes != nil || spec.PodFailurePolicy != nil {
		t.Errorf("backoffLimit %v, maxFailedIndexes %v, podFailurePolicy %v: want them unset, so that a failed index ends no other", spec.BackoffLimit, spec.MaxFailedIndexes, spec.PodFailurePolicy)
	}
	if spec.ActiveDeadlineSeconds == nil || *spec.ActiveDeadlineSeconds <= 0 {
		t.Errorf("activeDeadlineSeconds %v: want a bound on the job", spec.ActiveDeadlineSeconds)
	}
	if spec.TTLSecondsAfterFinished == nil || *spec.TTLSecondsAfterFinished < 3600 {
		t.Errorf("ttlSecondsAfterFinished %v: want the pods and their logs kept an hour or more for collect", spec.TTLSecondsAfterFinished)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %s, want Never: a restarted container would run its share twice", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	ctr := pod.Containers[0]
	if ctr.Image != vars["IMAGE"] {
		t.Errorf("image %q, want %q", ctr.Image, vars["IMAGE"])
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	if env["MOLOTOV_SEGMENTS"] != vars["SEGMENTS"] {
		t.Errorf("MOLOTOV_SEGMENTS %q, want %q (completions)", env["MOLOTOV_SEGMENTS"], vars["SEGMENTS"])
	}
	if env["MOLOTOV_BASE_URL"] != vars["TARGET"] {
		t.Errorf("MOLOTOV_BASE_URL %q, want TARGET %q", env["MOLOTOV_BASE_URL"], vars["TARGET"])
	}
	if _, ok := env["MOLOTOV_SEGMENT"]; ok {
		t.Errorf("MOLOTOV_SEGMENT is set: the segment is -molotov.segment=auto")
	}
	if !slices.Contains(ctr.Args, "-molotov.segment=auto") {
		t.Errorf("args %q lack -molotov.segment=auto", ctr.Args)
	}
	for _, a := range ctr.Args {
		if v, ok := strings.CutPrefix(a, "-molotov.start-at="); ok {
			if startAt != "" {
				t.Errorf("args %q: -molotov.start-at twice", ctr.Args)
			}
			startAt = v
		}
	}
	if startAt == "" {
		t.Errorf("args %q lack -molotov.start-at", ctr.Args)
	}
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser 65532, the image's USER", sc)
	}
	return startAt
}

// render refuses what would make a broken Job, saying what to set.
func TestJobRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{}, "IMAGE is not set"},
		{map[string]string{"IMAGE": "x", "SEGMENTS": "0"}, "SEGMENTS is '0': give the number of pods"},
		{map[string]string{"IMAGE": "x", "SEGMENTS": "four"}, "SEGMENTS is 'four'"},
		{map[string]string{"IMAGE": "x", "MANIFEST": "/nonexistent/job.yaml"}, "cannot read the job template /nonexistent/job.yaml"},
	} {
		out, errs, code := runScript(t.Context(), t, "", os.Environ(), tc.vars, "render")
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("render with %v: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, and %q", tc.vars, code, out, errs, tc.want)
		}
	}
	if _, errs, code := runScript(t.Context(), t, "", os.Environ(), nil, "deploy"); code != 2 || !strings.Contains(errs, "usage: molotov-job.sh") {
		t.Errorf("molotov-job.sh deploy: exit %d, %q; want 2 and the usage", code, errs)
	}
}
