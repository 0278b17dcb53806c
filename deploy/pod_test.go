package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// runPod runs pod index of an Indexed Job as the Job controller and
// kubelet would: the container's command (the image's ENTRYPOINT when it
// has none) and args, with $(VAR) references expanded from its env; the
// image's env, then the container's, then JOB_COMPLETION_INDEX; stdout
// and stderr into one log; SIGTERM at the deadline of ctx, then SIGKILL
// after the grace period. The image's paths map to this machine's: its
// files to im.root, /busybox to this machine's tools, each emptyDir to a
// directory of the pod's own (TMPDIR points at the one mounted on /tmp,
// which the pod's shell script uses) and each persistentVolumeClaim to a
// directory of the cluster's, shared by the pods (ReadWriteMany); an env
// value that is a path under a mount point maps with it. It records the
// pod's phase in the cluster when the container exits.
func runPod(ctx context.Context, c *cluster, im *image, job *batchv1.Job, index int) error {
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		return fmt.Errorf("job %s: %d containers and %d init containers, want one container", job.Name, len(spec.Containers), len(spec.InitContainers))
	}
	ctr := spec.Containers[0]
	name := fmt.Sprintf("%s-%d-%s", job.Name, index, strconv.FormatInt(time.Now().UnixNano()%1e6, 36))
	log, err := c.addPod(name, index)
	if err != nil {
		return err
	}
	defer log.Close()
	root := c.podDir(name)

	// Volumes: each emptyDir is a directory of the pod, each claim one of
	// the cluster.
	mounts := map[string]string{} // mount path -> local directory
	for _, m := range ctr.VolumeMounts {
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == m.Name {
				vol = &spec.Volumes[i]
			}
		}
		var dir string
		switch {
		case vol != nil && vol.EmptyDir != nil:
			dir = filepath.Join(root, "volumes", m.Name)
		case vol != nil && vol.PersistentVolumeClaim != nil: // ReadWriteMany: one directory for every pod
			dir = c.claimDir(vol.PersistentVolumeClaim.ClaimName)
		default:
			return fmt.Errorf("job %s: volume %q: the test knows emptyDir and persistentVolumeClaim volumes only", job.Name, m.Name)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		mounts[m.MountPath] = dir
	}
	tmp, ok := mounts["/tmp"]
	if !ok {
		return fmt.Errorf("job %s: nothing mounted on /tmp: the root file system is read-only, and the result is written in /tmp", job.Name)
	}
	workdir, ok := mounts[im.workdir]
	if !ok {
		return fmt.Errorf("job %s: the image's WORKDIR %s is not a volume: it would be read-only", job.Name, im.workdir)
	}

	// PATH: the image's, mapped.
	var path []string
	for _, dir := range im.path {
		switch local, ok := im.local(dir); {
		case ok:
			path = append(path, local)
		case dir == "/busybox":
			path = append(path, filepath.SplitList(os.Getenv("PATH"))...)
		default:
			path = append(path, filepath.Join(im.root, dir)) // empty in the image: nothing found there
		}
	}
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	set("PATH", strings.Join(path, string(os.PathListSeparator)))
	set("HOSTNAME", fmt.Sprintf("%s-%d", job.Name, index))
	set("HOME", "/")
	set("TMPDIR", tmp)
	refs := map[string]string{} // what $(VAR) may name: the container's env
	for _, e := range ctr.Env {
		if e.ValueFrom != nil {
			return fmt.Errorf("job %s: env %s: the test knows literal values only", job.Name, e.Name)
		}
		v := expand(e.Value, refs)
		set(e.Name, mapMounted(v, mounts))
		refs[e.Name] = v
	}
	set("JOB_COMPLETION_INDEX", strconv.Itoa(index))
	refs["JOB_COMPLETION_INDEX"] = env["JOB_COMPLETION_INDEX"]

	argv := ctr.Command
	if len(argv) == 0 {
		argv = im.entrypoint
	}
	argv = append(append([]string(nil), argv...), ctr.Args...)
	for i := range argv {
		argv[i] = expand(argv[i], refs)
	}
	exe, err := lookPath(argv[0], path)
	if err != nil {
		return fmt.Errorf("job %s: command %q: %w", job.Name, argv[0], err)
	}

	cmd := exec.Command(exe, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = workdir
	for _, k := range order {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Stdout, cmd.Stderr = log, log
	grace := 30 * time.Second
	if s := spec.TerminationGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-time.After(grace):
				cmd.Process.Kill()
			case <-done:
			}
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	phase := succeeded
	if err != nil {
		phase = failed
	}
	return c.setPhase(name, phase)
}

// lookPath finds a command in the directories of path.
func lookPath(name string, path []string) (string, error) {
	if strings.Contains(name, "/") {
		return "", fmt.Errorf("the test looks commands up on PATH only")
	}
	for _, dir := range path {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found on the image's PATH")
}

// expand replaces the $(VAR) references of s as Kubernetes does in a
// container's command, args and env: $(VAR) by the value of VAR when it
// is defined, left as it is when not, and $$ by $.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			ref := s[i : i+2+end+1]
			if v, ok := vars[s[i+2:i+2+end]]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(ref)
			}
			i += len(ref) - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// mapMounted maps v, when it is a path at or under one of the pod's mount
// points, to this machine's directory for that volume: the image's paths
// are not this machine's.
func mapMounted(v string, mounts map[string]string) string {
	for at, dir := range mounts {
		if v == at || strings.HasPrefix(v, at+"/") {
			return dir + strings.TrimPrefix(v, at)
		}
	}
	return v
}
