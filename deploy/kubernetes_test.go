package deploy

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/molotov-go/molotov"
)

// segments is the number of pods of the simulated jobs.
const segments = 4

// jobRun is what one run of the Job through the guide's steps gave.
type jobRun struct {
	dir                  string // where the guide's commands ran
	job                  string
	startAt              time.Time
	service              *service // the target
	wait, collect, merge int      // exit statuses
	waitOut, collectOut  string
	mergeOut, mergeErr   string
	partialOut           string // molotov merge -partial, when merge failed
	partialCode          int
	logs                 map[int]string // pod logs by index
	total                *molotov.Result
	totalHist            int64
	shares               map[int]*molotov.Result
	claims               string // where the cluster keeps its persistent volume claims
}

// jobCase is a run of the Job.
type jobCase struct {
	options map[string]string     // the run's options, added to the container's env
	late    map[int]time.Duration // pods that start this long after the run's start
	stop    time.Duration         // when set, the pods are stopped (SIGTERM) this long after the start
	// resultDir mounts a ReadWriteMany volume on /results and sets
	// RESULT_DIR to it, as the guide says, for the pods to leave their
	// results there too.
	resultDir bool
}

// runJob runs the Indexed Job of kubernetes/ the guide's way, with the
// cluster played by this machine: molotov-job.sh create; the job's pods
// as processes of the image's binary, the run's options added to the
// container's env as a user adds them to job.yaml; molotov-job.sh wait;
// molotov-job.sh collect; molotov merge.
func runJob(t *testing.T, name string, tc jobCase) *jobRun {
	t.Helper()
	im := buildImage(t)
	bin := filepath.Dir(molotovCommand(t))
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	r := &jobRun{dir: t.TempDir(), job: "loadtest-" + name, service: target(t), logs: map[int]string{}, shares: map[int]*molotov.Result{},
		claims: c.claimDir("")}
	env := c.env(cleanEnv(os.Environ()))

	vars := map[string]string{"JOB": r.job, "IMAGE": "registry.example.com/shop/loadtest:v1", "SEGMENTS": fmt.Sprint(segments), "TARGET": r.service.URL, "START_IN": "3"}
	out, errs, code := runScript(ctx, t, r.dir, env, vars, "create")
	if code != 0 || out != "job.batch/"+r.job+" created\n" {
		t.Fatalf("molotov-job.sh create: exit %d\n%s%s", code, out, errs)
	}
	job, err := c.job()
	if err != nil {
		t.Fatal(err)
	}
	start := checkJob(t, job, vars)
	if r.startAt, err = time.Parse(time.RFC3339, start); err != nil {
		t.Fatal(err)
	}
	ctr := &job.Spec.Template.Spec.Containers[0]
	for k, v := range tc.options {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: k, Value: v})
	}
	if tc.resultDir {
		spec := &job.Spec.Template.Spec
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "results", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "loadtest-results"}}})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "results", MountPath: "/results"})
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "RESULT_DIR", Value: "/results"})
	}

	// The pods, and molotov-job.sh wait while they run.
	podCtx := ctx
	if tc.stop > 0 { // as at the job's activeDeadlineSeconds
		var cancel context.CancelFunc
		podCtx, cancel = context.WithDeadline(ctx, r.startAt.Add(tc.stop))
		defer cancel()
	}
	var wg sync.WaitGroup
	errc := make(chan error, segments)
	for i := range int(*job.Spec.Completions) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, ok := tc.late[i]; ok {
				select {
				case <-time.After(time.Until(r.startAt.Add(d))):
				case <-ctx.Done():
				}
			}
			errc <- runPod(podCtx, c, im, job, i)
		}()
	}
	r.waitOut, errs, r.wait = runScript(ctx, t, r.dir, env, map[string]string{"POLL": "1"}, "wait", r.job)
	r.waitOut += errs
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	pods, err := c.pods()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		b, err := os.ReadFile(filepath.Join(c.podDir(p.name), "log"))
		if err != nil {
			t.Fatal(err)
		}
		r.logs[p.index] = string(b)
	}

	// Collect and merge, as the guide says (its job is checkout-load).
	r.collectOut, errs, r.collect = runScript(ctx, t, r.dir, env, nil, "collect", r.job)
	r.collectOut += errs
	env = withPath(env, bin)
	results := "results-" + r.job
	merge := strings.ReplaceAll(guideLine(t, "## On Kubernetes", "molotov merge "), "checkout-load", r.job)
	r.mergeOut, r.mergeErr, r.merge = shell(ctx, t, r.dir, env, merge)
	if r.merge == 2 {
		r.partialOut, _, r.partialCode = shell(ctx, t, r.dir, env, strings.Replace(merge, "molotov merge ", "molotov merge -partial ", 1))
	}
	// The guide's one-liner for one pod reads what collect read.
	for _, p := range pods {
		if p.phase != succeeded {
			continue
		}
		line := guideLine(t, "### How the results leave the pods", "kubectl logs pod/NAME ")
		line = strings.Replace(strings.Replace(line, "pod/NAME", "pod/"+p.name, 1), "> result.json", "> one-liner.json", 1)
		if _, errs, code := shell(ctx, t, r.dir, env, line); code != 0 {
			t.Errorf("%s: exit %d: %s", line, code, errs)
		}
		one, err1 := os.ReadFile(filepath.Join(r.dir, "one-liner.json"))
		collected, err2 := os.ReadFile(filepath.Join(r.dir, results, fmt.Sprintf("result-%d.json", p.index)))
		if err1 != nil || err2 != nil || !bytes.Equal(one, collected) {
			t.Errorf("the guide's one-liner and collect read different results from pod %s (%v, %v)", p.name, err1, err2)
		}
		break
	}
	files, _ := filepath.Glob(filepath.Join(r.dir, results, "result-*.json"))
	for _, f := range files {
		var i int
		if _, err := fmt.Sscanf(filepath.Base(f), "result-%d.json", &i); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		r.shares[i], _ = readResult(t, f)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "total.json")); err == nil {
		r.total, r.totalHist = readResult(t, filepath.Join(r.dir, "total.json"))
	}
	return r
}

// checkShares checks that every share's result came back, for its
// segment, on the common start.
func (r *jobRun) checkShares(t *testing.T, want []int) {
	t.Helper()
	if len(r.shares) != len(want) {
		t.Errorf("%d results collected, want %d", len(r.shares), len(want))
	}
	for _, i := range want {
		res := r.shares[i]
		if res == nil {
			t.Errorf("no result for share %d; its log:\n%s", i, r.logs[i])
			continue
		}
		if seg := fmt.Sprintf("%d/%d", i, segments); res.Segment != seg {
			t.Errorf("share %d: segment %q, want %q", i, res.Segment, seg)
		}
		if !res.Start.Equal(r.startAt) {
			t.Errorf("share %d: start %v, want the job's start-at %v", i, res.Start, r.startAt)
		}
	}
}

// checkPassed checks the steps of a run whose shares all ran.
func (r *jobRun) checkPassed(t *testing.T) {
	t.Helper()
	if r.wait != 0 || !strings.Contains(r.waitOut, "complete") {
		t.Errorf("molotov-job.sh wait: exit %d, %q; want 0 and complete", r.wait, r.waitOut)
	}
	if r.collect != 0 || !strings.Contains(r.collectOut, fmt.Sprintf("collected %d of %d results into results-%s", segments, segments, r.job)) {
		t.Errorf("molotov-job.sh collect: exit %d, %q", r.collect, r.collectOut)
	}
	r.checkShares(t, []int{0, 1, 2, 3})
	if r.merge != 0 || !strings.Contains(r.mergeOut, "PASS") || r.total == nil {
		t.Fatalf("molotov merge: exit %d, want 0 and PASS:\n%s%s", r.merge, r.mergeOut, r.mergeErr)
	}
	if r.total.Segment != "" || r.total.Partial {
		t.Errorf("merged segment %q, partial %v: want the whole run", r.total.Segment, r.total.Partial)
	}
	if runs := r.total.OK + r.total.Failed; r.totalHist != runs {
		t.Errorf("merged histogram count %d, want the merged runs, %d", r.totalHist, runs)
	}
	for _, p := range []int{0, 1, 2, 3} {
		if !strings.Contains(r.logs[p], "molotov: share done (test exit status 0)") {
			t.Errorf("pod %d's log does not say its share passed:\n%s", p, r.logs[p])
		}
	}
}

// The Job of kubernetes/, run as Kubernetes would run it and collected,
// merged and judged the guide's way, adds up to the configured run.
func TestIndexedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a load test in 4 processes")
	}
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		const workers, maxRuns = 10, 20
		r := runJob(t, "closed", jobCase{options: map[string]string{"MOLOTOV_WORKERS": fmt.Sprint(workers), "MOLOTOV_MAX_RUNS": fmt.Sprint(maxRuns), "MOLOTOV_DURATION": "1m"},
			resultDir: true})
		r.checkPassed(t)
		if t.Failed() {
			return
		}
		// With RESULT_DIR on a shared volume, each pod left there the
		// result its log carries.
		for i := range segments {
			name := fmt.Sprintf("result-%d.json", i)
			shared, err := os.ReadFile(filepath.Join(r.claims, "loadtest-results", name))
			if err != nil {
				t.Errorf("pod %d left no result on the shared volume: %v", i, err)
				continue
			}
			logged, err := os.ReadFile(filepath.Join(r.dir, "results-"+r.job, name))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(shared)) != strings.TrimSpace(string(logged)) {
				t.Errorf("pod %d: the result on the shared volume is not the one in its log", i)
			}
		}
		tot := r.total
		if tot.MaxWorkers != workers || tot.OK+tot.Failed != workers*maxRuns || tot.Started != workers*maxRuns || tot.Failed != 0 {
			t.Errorf("merged: %d workers, %d runs started, %d ok, %d failed; want %d workers and %d runs, none failed",
				tot.MaxWorkers, tot.Started, tot.OK, tot.Failed, workers, workers*maxRuns)
		}
		for i, want := range []int{3, 3, 2, 2} {
			if got := r.shares[i].MaxWorkers; got != want {
				t.Errorf("share %d: %d workers, want %d", i, got, want)
			}
		}
		t.Logf("merged: %d workers, %d runs (%d ok, %d failed), histogram count %d, in %v",
			tot.MaxWorkers, tot.OK+tot.Failed, tot.OK, tot.Failed, r.totalHist, tot.Elapsed.Round(time.Millisecond))
	})
	t.Run("open", func(t *testing.T) {
		t.Parallel()
		const rate, seconds = 400, 3
		r := runJob(t, "open", jobCase{options: map[string]string{"MOLOTOV_RATE": fmt.Sprint(rate), "MOLOTOV_DURATION": fmt.Sprintf("%ds", seconds)}})
		cv, requests := r.service.gapCV()
		t.Logf("requests at the server: %d, CV of the gaps between arrivals %.3f", requests, cv)
		r.checkPassed(t)
		if t.Failed() {
			return
		}
		tot := r.total
		if want := float64(rate * seconds); math.Abs(float64(tot.Scheduled)-want) > 0.01*want {
			t.Errorf("merged scheduled %d, want %v ± 1%%", tot.Scheduled, want)
		}
		if tot.Started+tot.Dropped != tot.Scheduled {
			t.Errorf("merged: %d started + %d dropped != %d scheduled", tot.Started, tot.Dropped, tot.Scheduled)
		}
		// Each scenario run sends one request. The 4 processes interleave
		// their starts, 2.5 ms apart, rather than sending 4 at once every
		// 10 ms: bursts whose gaps have a CV of sqrt(3), 1.73, or about 1.5
		// as the arrivals of 4 processes measure them here (each share run
		// as share 0), against 0.3 to 0.6 interleaved.
		if requests != int(tot.OK+tot.Failed) || cv > 1 {
			t.Errorf("%d requests arrived with a CV of the gaps of %.3f; want %d (the runs), interleaved (CV <= 1)", requests, cv, tot.OK+tot.Failed)
		}
		t.Logf("merged: %d scheduled, %d started, %d dropped, %d runs (%d failed), histogram count %d, in %v",
			tot.Scheduled, tot.Started, tot.Dropped, tot.OK+tot.Failed, tot.Failed, r.totalHist, tot.Elapsed.Round(time.Millisecond))
	})
	// A pod that starts after the run's start, as a rescheduled one would,
	// refuses to join: its index fails, the others' results are collected
	// and merge only partially.
	t.Run("late-pod", func(t *testing.T) {
		t.Parallel()
		const workers, maxRuns = 10, 20
		r := runJob(t, "late", jobCase{
			options: map[string]string{"MOLOTOV_WORKERS": fmt.Sprint(workers), "MOLOTOV_MAX_RUNS": fmt.Sprint(maxRuns), "MOLOTOV_DURATION": "1m"},
			late:    map[int]time.Duration{3: 2 * time.Second},
		})
		if !strings.Contains(r.logs[3], "in the past") || !strings.Contains(r.logs[3], "molotov: the load test wrote no result") ||
			strings.Contains(r.logs[3], "BEGIN MOLOTOV RESULT") {
			t.Errorf("the late pod's log does not say it refused to start and wrote no result:\n%s", r.logs[3])
		}
		if r.wait != 1 || !strings.Contains(r.waitOut, "failed: some shares have no result") {
			t.Errorf("molotov-job.sh wait: exit %d, %q; want 1 and failed", r.wait, r.waitOut)
		}
		if r.collect != 1 || !strings.Contains(r.collectOut, "collected 3 of 4 results") || !strings.Contains(r.collectOut, "no result for share(s) 3 of 4; molotov merge -partial") {
			t.Errorf("molotov-job.sh collect: exit %d, %q; want 1 and share 3 missing", r.collect, r.collectOut)
		}
		r.checkShares(t, []int{0, 1, 2})
		if r.merge != 2 || !strings.Contains(r.mergeErr, "3/4") {
			t.Errorf("molotov merge without share 3: exit %d, %q; want 2, naming the missing share", r.merge, r.mergeErr)
		}
		if r.partialCode != 0 || r.total == nil {
			t.Fatalf("molotov merge -partial: exit %d, want 0:\n%s", r.partialCode, r.partialOut)
		}
		// Shares 0 to 2 of 4 hold workers 0, 1, 2, 4, 5, 6, 8 and 9.
		if tot := r.total; !tot.Partial || tot.Segment != "0-2/4" || tot.MaxWorkers != 8 || tot.OK+tot.Failed != 8*maxRuns || r.totalHist != 8*maxRuns {
			t.Errorf("partial merge: segment %q, partial %v, %d workers, %d runs, histogram count %d; want 0-2/4, partial, 8 workers, %d runs",
				tot.Segment, tot.Partial, tot.MaxWorkers, tot.OK+tot.Failed, r.totalHist, 8*maxRuns)
		}
	})
	// Pods stopped during the run, as at the job's activeDeadlineSeconds or
	// a node's drain: the wrapper passes SIGTERM on to the test, which
	// ends the run and still writes its result; the merged verdict says
	// the run was interrupted.
	t.Run("stopped", func(t *testing.T) {
		t.Parallel()
		r := runJob(t, "stopped", jobCase{options: map[string]string{"MOLOTOV_WORKERS": "10", "MOLOTOV_DURATION": "1m"}, stop: time.Second})
		if r.wait != 0 || r.collect != 0 {
			t.Errorf("wait: exit %d, collect: exit %d; want 0: every pod wrote its result\n%s\n%s", r.wait, r.collect, r.waitOut, r.collectOut)
		}
		r.checkShares(t, []int{0, 1, 2, 3})
		if r.merge != 1 || !strings.Contains(r.mergeOut, "FAIL: interrupted") || r.total == nil {
			t.Fatalf("molotov merge: exit %d, want 1 and FAIL: interrupted:\n%s%s", r.merge, r.mergeOut, r.mergeErr)
		}
		if tot := r.total; tot.StopReason != molotov.StopCancelled || tot.OK == 0 || tot.Elapsed > 10*time.Second {
			t.Errorf("merged: stop reason %s, %d ok in %v; want cancelled about a second into the run, with runs done", tot.StopReason, tot.OK, tot.Elapsed)
		}
	})
}
