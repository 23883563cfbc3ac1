//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// skiffBinary builds skiff, and next to it skiff-engine with the lean tag
// and skiff-agent, as make build does, for tests that signal the real
// process. Their projects use neither Helm nor kustomize, so
// skiff-engine-full is not built: the lean engine would say it is
// missing.
func skiffBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "skiff")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	devGoBuild(t, root, "./cmd/skiff", bin)
	devGoBuild(t, root, "./cmd/skiff-engine", bin+"-engine", "-tags=lean")
	devGoBuild(t, root, "./cmd/skiff-agent", filepath.Join(filepath.Dir(bin), deliver.BinaryName))
	return bin
}

// waitForFile waits until file exists.
func (p *skiffProcess) waitForFile(t *testing.T, file string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case err := <-p.done:
			p.done <- err
			// It may have written it and ended since the last look.
			if _, serr := os.Stat(file); serr == nil {
				return
			}
			t.Fatalf("skiff ended (%v) before %s was written\nstderr:\n%s", err, file, p.errOut)
		case <-deadline:
			t.Fatalf("%s was not written within %s\nstderr:\n%s", file, timeout, p.errOut)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopTime sends Ctrl-C and returns how long skiff took to exit (the
// safety timeout is generous; the figure goes to the log).
func (p *skiffProcess) stopTime(t *testing.T) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	p.ctrlC(t)
	err := p.wait(t, 2*time.Minute)
	return time.Since(start), err
}

// processesWith returns the live processes whose environment holds kv.
func processesWith(t *testing.T, kv string) []testutil.Process {
	t.Helper()
	return testutil.Processes(t, func(p testutil.Process) bool { return slices.Contains(p.Environ, kv) })
}

// Ctrl-C during a custom build ends skiff and everything the build command
// started, although the command runs in a process group of its own and so
// does not get the terminal's SIGINT (issue 11 item 13).
func TestCtrlCDuringACustomBuild(t *testing.T) {
	bin := skiffBinary(t)
	dir := t.TempDir()
	marker := "SKIFF_E2E_BUILD=" + dir
	writeTree(t, dir, map[string]string{"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {sha256: {}}
  artifacts:
  - image: slow
    custom:
      buildCommand: sleep 300 & sleep 301 & touch started; wait
`})
	p := startSkiffEnv(t, bin, []string{marker}, "build", "-f", filepath.Join(dir, "skaffold.yaml"))
	p.waitForFile(t, filepath.Join(dir, "started"), time.Minute)
	if n := len(processesWith(t, marker)); n < 3 {
		t.Fatalf("%d processes of the build command run, want its shell and two sleeps", n)
	}
	took, err := p.stopTime(t)
	t.Logf("skiff build exited %s after Ctrl-C (%v)", took, err)
	if err == nil {
		t.Errorf("skiff build succeeded after Ctrl-C\nstderr:\n%s", p.errOut)
	}
	for _, left := range processesWith(t, marker) {
		t.Errorf("process %d %v outlived skiff build", left.Pid, left.Cmdline)
	}
}

// Ctrl-C during a ko build ends skiff, go build and the compilers it
// started, and leaves no temporary directory (issue 11 item 13).
func TestCtrlCDuringAKoBuild(t *testing.T) {
	bin := skiffBinary(t)
	dir := syncExample(t)
	// An empty build cache makes go build compile the standard library,
	// long enough to interrupt; its path marks this build's processes.
	cache := t.TempDir()
	tmp := t.TempDir()
	marker := "GOCACHE=" + cache
	p := startSkiffEnv(t, bin, []string{marker, "TMPDIR=" + tmp}, "build", "-f", filepath.Join(dir, "skaffold.yaml"))
	deadline := time.After(2 * time.Minute)
	for !slices.ContainsFunc(processesWith(t, marker), func(p testutil.Process) bool {
		return len(p.Cmdline) > 0 && filepath.Base(p.Cmdline[0]) == "compile"
	}) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("skiff ended (%v) before a compiler ran\nstderr:\n%s", err, p.errOut)
		case <-deadline:
			t.Fatalf("no compiler ran within 2 minutes\nstderr:\n%s", p.errOut)
		case <-time.After(20 * time.Millisecond):
		}
	}
	took, err := p.stopTime(t)
	t.Logf("skiff build (ko) exited %s after Ctrl-C (%v)", took, err)
	if err == nil {
		t.Errorf("skiff build succeeded after Ctrl-C\nstderr:\n%s", p.errOut)
	}
	for _, left := range processesWith(t, marker) {
		t.Errorf("process %d %v outlived skiff build", left.Pid, left.Cmdline)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("skiff build left %s in its temporary directory", e.Name())
	}
}

// Ctrl-C during a render that does not notice it (a template command that
// ignores SIGINT and sleeps) still ends skiff at once.
func TestCtrlCDuringASlowRender(t *testing.T) {
	bin := skiffBinary(t)
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	writeTree(t, dir, map[string]string{"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
manifests:
  rawYaml:
  - '{{cmd "sh" "-c" ` + "`" + `trap "" INT TERM; echo $$ > ` + started + `; exec sleep 300` + "`" + `}}k8s/*.yaml'
`})
	// The template's command ignores Ctrl-C, and the config package runs
	// it without a context: only skiff giving up on it can stop skiff.
	t.Cleanup(func() {
		if b, err := os.ReadFile(started); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	p := startSkiff(t, bin, "render", "--offline", "--digest-source=none", "-f", filepath.Join(dir, "skaffold.yaml"))
	p.waitForFile(t, started, time.Minute)
	for b, _ := os.ReadFile(started); len(b) == 0; b, _ = os.ReadFile(started) {
		time.Sleep(10 * time.Millisecond) // the pid is being written
	}
	took, err := p.stopTime(t)
	t.Logf("skiff render exited %s after Ctrl-C (%v)", took, err)
	if err == nil {
		t.Errorf("skiff render succeeded after Ctrl-C\nstderr:\n%s", p.errOut)
	}
}

// Ctrl-C while skiff dev waits for a rollout that never becomes ready ends
// the wait, deletes what dev deployed (saying how long it waits) and
// exits.
func TestCtrlCDuringTheStatusWait(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	bin := skiffBinary(t)
	dir := syncExample(t)
	manifest := filepath.Join(dir, "k8s", "deployment.yaml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	never := strings.Replace(string(b), "path: /version", "path: /never-ready", 1)
	if never == string(b) {
		t.Fatal("the example's readiness probe moved: update this test")
	}
	writeTree(t, dir, map[string]string{"k8s/deployment.yaml": never})

	p := startSkiff(t, bin, "dev", "-n", ns, "-f", filepath.Join(dir, "skaffold.yaml"))
	p.waitFor(t, devStartTimeout, regexp.MustCompile(`Waiting for deployments to stabilize`))
	start := time.Now()
	p.ctrlC(t)
	p.waitFor(t, time.Minute, regexp.MustCompile(`Cleaning up: .* waiting up to 15s`))
	cleaning := time.Since(start)
	err = p.wait(t, 2*time.Minute)
	t.Logf("skiff dev began its cleanup %s after Ctrl-C and exited after %s (%v)", cleaning, time.Since(start), err)
	if !strings.Contains(p.errOut.String(), "Cleanup complete") {
		t.Errorf("no cleanup after Ctrl-C:\nstderr:\n%s", p.errOut)
	}
	c.expectCleanedUp(t, ns, "skiff dev after Ctrl-C")
}

// heldConfigMap is a manifest of a ConfigMap that a finalizer nobody
// removes holds when it is deleted: what a dead controller or an API
// server without its garbage collector would leave.
const heldConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  finalizers: [skiff.dev/e2e-hold]
data: {a: b}
`

// releaseHeld removes the finalizer of heldConfigMap in namespace, so
// that the namespace can go.
func (c *cluster) releaseHeld(namespace string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	_, _ = c.client.CoreV1().ConfigMaps(namespace).Patch(ctx, "held", types.MergePatchType, patch, metav1.PatchOptions{})
}

// When what dev deployed does not go (a finalizer nobody removes holds a
// ConfigMap, as a dead controller or an API server without its garbage
// collector would), Ctrl-C's cleanup says what it waits for, gives up
// after the time it stated, and names what is left and how to remove it
// (issue 11 item 12).
func TestCtrlCCleanupGivesUpAfterTheStatedWait(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	bin := skiffBinary(t)
	dir := syncExample(t, "held/*.yaml")
	writeTree(t, dir, map[string]string{"held/held.yaml": heldConfigMap})
	t.Cleanup(func() { c.releaseHeld(ns) })

	p := startSkiff(t, bin, "dev", "-n", ns, "-f", filepath.Join(dir, "skaffold.yaml"))
	p.waitFor(t, devStartTimeout, watchingLine)
	start := time.Now()
	p.ctrlC(t)
	p.waitFor(t, time.Minute, regexp.MustCompile(`Cleaning up: .* waiting up to 15s`))
	err := p.wait(t, 2*time.Minute)
	t.Logf("skiff dev exited %s after Ctrl-C (%v)", time.Since(start), err)
	stderr := p.errOut.String()
	for _, want := range []string{
		"deleting 3 objects of project sync-",
		"still there after 15s: configmap/held in namespace " + ns + " (finalizers: skiff.dev/e2e-hold)",
		"run `skiff delete`",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if err == nil {
		t.Errorf("skiff dev exited 0 although the cleanup left an object\nstderr:\n%s", stderr)
	}
}
