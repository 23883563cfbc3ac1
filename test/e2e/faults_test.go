//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testutil"
)

// The fault-injection suite: `skiff dev`, the binary as a user runs it,
// against the real cluster, registry and Docker, while the test kills a
// pod, breaks the build, takes the registry or the API server away,
// presses Ctrl-C in the middle of a build, or kills skiff itself. Each
// case ends with the app serving the latest state (or skiff saying
// clearly what failed) and checks that nothing is left behind: no object
// or pod in the namespace, no process skiff started, nothing in the
// temporary directory skiff was given. The figures it logs ("figure:")
// are measured, never asserted; docs/reliability.md lists them.
//
// Run it alone with
//
//	eval "$(hack/cluster.sh env)" && go test -count=1 -tags e2e -run TestFault ./test/e2e/
//
// The registry and API server cases stop and start those components of
// the shared cluster (hack/cluster.sh stop|start|restart), so other tests
// running against the cluster at the same time may see them go away.

// TestFault runs the fault cases, each in a namespace and a dev session of
// its own, with one build of skiff and skiff-agent.
func TestFault(t *testing.T) {
	c := newCluster(t)
	bin := skiffBinary(t)
	t.Run("KilledPod", func(t *testing.T) { faultKilledPod(t, c, bin) })
	t.Run("FailedBuild", func(t *testing.T) { faultFailedBuild(t, c, bin) })
	t.Run("RegistryOutage", func(t *testing.T) { faultRegistryOutage(t, c, bin) })
	t.Run("APIServerRestart", func(t *testing.T) { faultAPIServerRestart(t, c, bin) })
	t.Run("CtrlCDuringBuild", func(t *testing.T) { faultCtrlCDuringBuild(t, c, bin) })
	t.Run("KilledDev", func(t *testing.T) { faultKilledDev(t, c, bin) })
}

// faultKilledPod deletes one of the two pods after an edit was synced into
// both: the pod that replaces it gets the synced files, while the other
// one goes on answering.
func faultKilledPod(t *testing.T, c *cluster, bin string) {
	ns := c.newNamespace(t)
	dir := syncExample(t)
	tmp := skiffTempDir(t)
	r, _ := startDev(t, bin, dir, ns)
	pods := c.waitReady(t, ns, "app=sync", 2)

	index := "<h1>before the pod died " + randomSuffix(t) + "</h1>\n"
	m := r.mark()
	writeTree(t, dir, map[string]string{"kodata/index.html": index, "kodata/extra/more.txt": "more\n"})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", index)

	load := c.startTraffic(t, ns, "app=sync", "/index.html")
	m = r.mark()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pods[0], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, catchUpLine)
	now := c.waitReady(t, ns, "app=sync", 2)
	if slices.Contains(now, pods[0]) || !slices.Contains(now, pods[1]) {
		t.Fatalf("want one new pod beside %s after deleting %s, got %v", pods[1], pods[0], now)
	}
	forwards := c.forwardEach(t, ns, now, 8080)
	expectServed(t, forwards, "/index.html", index)
	expectServed(t, forwards, "/extra/more.txt", "more\n")
	recovered := time.Now()
	figure(t, "killed pod: the replacement served the synced files %s after the deletion; %s", recovered.Sub(killed).Round(100*time.Millisecond), load.between(killed, recovered))

	c.stopAndCheckCleanup(t, r, ns)
	expectNothingLeft(t, tmp)
}

// faultFailedBuild breaks the Go code while dev runs: the build fails, dev
// says so and goes on, the pods of the last good build keep answering;
// the fix is built and served.
func faultFailedBuild(t *testing.T, c *cluster, bin string) {
	ns := c.newNamespace(t)
	dir := syncExample(t)
	tmp := skiffTempDir(t)
	r, _ := startDev(t, bin, dir, ns, "--hot-swap=false")
	v1 := c.expectVersion(t, ns, "v1")

	load := c.startTraffic(t, ns, "app=sync", "/version")
	m := r.mark()
	broke := time.Now()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2") + "\nfunc broken( {\n"})
	r.waitSince(t, m, devStepTimeout, buildFailedLine)
	failed := time.Now()
	if !r.alive() {
		t.Fatalf("skiff dev ended after a failed build:\n%s", r.errOut)
	}
	expectVersionServed(t, v1, "v1")
	figure(t, "failed build: reported %s after the broken save; %s", failed.Sub(broke).Round(100*time.Millisecond), load.between(broke, failed))

	m = r.mark()
	fixed := time.Now()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	c.expectVersion(t, ns, "v2")
	served := time.Now()
	figure(t, "failed build: the fix served %s after it was saved; %s", served.Sub(fixed).Round(100*time.Millisecond), load.between(fixed, served))

	c.stopAndCheckCleanup(t, r, ns)
	expectNothingLeft(t, tmp)
}

// faultRegistryOutage stops the registry the images are pushed to: a
// rebuild fails, naming the registry, and the last good version keeps
// answering; once the registry is back, the next change is built, pushed
// and served.
func faultRegistryOutage(t *testing.T, c *cluster, bin string) {
	ns := c.newNamespace(t)
	registry := c.localRegistry(t)
	dir := syncExample(t)
	tmp := skiffTempDir(t)
	r, _ := startDev(t, bin, dir, ns, "--hot-swap=false")
	v1 := c.expectVersion(t, ns, "v1")

	load := c.startTraffic(t, ns, "app=sync", "/version")
	down := time.Now()
	clusterComponent(t, "stop", "registry")
	m := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	end := r.waitSince(t, m, devStepTimeout, buildFailedLine)
	failure := r.errOut.String()[m:end]
	t.Logf("with the registry down, skiff dev said:\n%s", failure)
	if !strings.Contains(failure, registry) {
		t.Errorf("the failed build does not name the registry %s that is down:\n%s", registry, failure)
	}
	if !r.alive() {
		t.Fatalf("skiff dev ended when the registry was down:\n%s", r.errOut)
	}
	expectVersionServed(t, v1, "v1")
	clusterComponent(t, "start", "registry")
	up := time.Now()
	figure(t, "registry outage: the rebuild failed and the registry was back %s after it stopped; %s", up.Sub(down).Round(100*time.Millisecond), load.between(down, up))

	m = r.mark()
	changed := time.Now()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v3")})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	c.expectVersion(t, ns, "v3")
	figure(t, "registry outage: the next change served %s after it was saved", time.Since(changed).Round(100*time.Millisecond))

	c.stopAndCheckCleanup(t, r, ns)
	expectNothingLeft(t, tmp)
}

// faultAPIServerRestart restarts the API server while dev runs: dev
// survives, the next sync and the next rebuild are served, and Ctrl-C
// still deletes everything.
func faultAPIServerRestart(t *testing.T, c *cluster, bin string) {
	ns := c.newNamespace(t)
	dir := syncExample(t)
	tmp := skiffTempDir(t)
	r, _ := startDev(t, bin, dir, ns, "--hot-swap=false")
	c.waitReady(t, ns, "app=sync", 2)

	load := c.startTraffic(t, ns, "app=sync", "/version")
	restart := time.Now()
	m := r.mark()
	clusterComponent(t, "restart", "apiserver")
	back := time.Now()
	if !r.alive() {
		t.Fatalf("skiff dev ended when the API server restarted:\n%s", r.errOut)
	}
	t.Logf("while the API server was away, skiff dev said:\n%s", r.errOut.String()[m:])
	figure(t, "API server restart: away and back in %s; %s", back.Sub(restart).Round(100*time.Millisecond), load.between(restart, back))

	index := "<h1>after the restart " + randomSuffix(t) + "</h1>\n"
	m = r.mark()
	writeTree(t, dir, map[string]string{"kodata/index.html": index})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	pods := c.waitReady(t, ns, "app=sync", 2)
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", index)
	figure(t, "API server restart: the first edit after it served %s after the API server was back", time.Since(back).Round(100*time.Millisecond))

	m = r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	c.expectVersion(t, ns, "v2")

	stopping := time.Now()
	c.stopAndCheckCleanup(t, r, ns)
	figure(t, "API server restart: Ctrl-C cleaned up in %s", time.Since(stopping).Round(100*time.Millisecond))
	expectNothingLeft(t, tmp)
}

// faultCtrlCDuringBuild presses Ctrl-C while `go build` compiles a
// rebuild: skiff stops the build, deletes what it deployed and leaves no
// temporary file and no compiler behind.
func faultCtrlCDuringBuild(t *testing.T, c *cluster, bin string) {
	ns := c.newNamespace(t)
	dir := syncExample(t)
	tmp := skiffTempDir(t)
	r, _ := startDev(t, bin, dir, ns, "--hot-swap=false")
	c.waitReady(t, ns, "app=sync", 2)

	m := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2"), "slow.go": slowSource(t)})
	var compiler testutil.Process
	waitFor(t, devStepTimeout, "go build to compile the change", func(context.Context) (bool, string, error) {
		for _, p := range processesWith(t, "TMPDIR="+tmp) {
			if len(p.Cmdline) > 0 && filepath.Base(p.Cmdline[0]) == "compile" {
				compiler = p
				return true, "", nil
			}
		}
		return false, "no compiler running yet", nil
	})
	interrupted := time.Now()
	c.stopAndCheckCleanup(t, r, ns)
	figure(t, "Ctrl-C during a build: skiff (compiler pid %d running) exited, cleaned up, %s after the signal", compiler.Pid, time.Since(interrupted).Round(100*time.Millisecond))
	if strings.Contains(r.errOut.String()[m:], "Rebuilt") {
		t.Logf("the build finished before Ctrl-C reached it:\n%s", r.errOut.String()[m:])
	}
	expectNothingLeft(t, tmp)
}

// faultKilledDev kills skiff dev with SIGKILL, so that it cleans up
// nothing, and changes a synced file while no skiff runs. A second skiff
// dev adopts what the first left and serves the latest files; skiff
// delete then removes everything.
func faultKilledDev(t *testing.T, c *cluster, bin string) {
	ns := c.newNamespace(t)
	dir := syncExample(t)
	tmp := skiffTempDir(t)
	r, p := startDev(t, bin, dir, ns)
	pods := c.waitReady(t, ns, "app=sync", 2)
	synced := "<h1>synced by the first dev " + randomSuffix(t) + "</h1>\n"
	m := r.mark()
	writeTree(t, dir, map[string]string{"kodata/index.html": synced})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", synced)

	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := p.wait(t, time.Minute)
	if status, ok := exitStatus(err); !ok || status.Signal() != syscall.SIGKILL {
		t.Fatalf("skiff dev after SIGKILL: %v, want killed by SIGKILL", err)
	}
	expectNothingLeft(t, tmp)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := c.managedObjects(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	figure(t, "killed dev: SIGKILL left %v", slices.Compact(left))

	latest := "<h1>changed while no skiff ran " + randomSuffix(t) + "</h1>\n"
	writeTree(t, dir, map[string]string{"kodata/index.html": latest})
	started := time.Now()
	r, _ = startDev(t, bin, dir, ns, "--cleanup=false")
	pods = c.waitReady(t, ns, "app=sync", 2)
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", latest)
	figure(t, "killed dev: the second dev served the latest files %s after it started", time.Since(started).Round(100*time.Millisecond))
	deployed, err := c.managedObjects(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(slices.DeleteFunc(slices.Clone(deployed), func(o string) bool { return o != "deployment/sync" })); n != 1 {
		t.Errorf("after the second dev: %v, want exactly one deployment/sync", deployed)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("skiff dev --cleanup=false after Ctrl-C: %v\nstderr:\n%s", err, r.errOut)
	}
	expectNothingLeft(t, tmp)

	_, stderr, err := skiff(t, dir, "delete", "-n", ns)
	if err != nil {
		t.Fatalf("skiff delete after two dev sessions: %v\nstderr:\n%s", err, stderr)
	}
	if left, err := c.managedObjects(ctx, ns); err != nil || len(left) > 0 {
		t.Errorf("skiff delete left %v (%v)\nstderr:\n%s", left, err, stderr)
	}
	if pods, err := c.podsOf(ctx, ns, "app=sync"); err != nil || len(pods) > 0 {
		t.Errorf("skiff delete left %d pods (%v)\nstderr:\n%s", len(pods), err, stderr)
	}
	expectNothingLeft(t, tmp)
}

// buildFailedLine is what dev prints when a rebuild fails and it goes on.
var buildFailedLine = regexp.MustCompile(`Build of sync failed: (?s:.*)The previous version keeps running\. Watching for changes\.\.\.`)

// skiffTempDir makes an empty directory and sets TMPDIR to it until the
// test ends, so that the skiff processes the test starts, and everything
// they start, keep their temporary files there and carry it in their
// environment: expectNothingLeft looks for both.
func skiffTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir() // before Setenv: the test's own temporary directories stay out of it
	t.Setenv("TMPDIR", dir)
	return dir
}

// startDev runs `skiff dev -n namespace` from bin on dir's skaffold.yaml
// and waits until it watches for changes. The running's stop sends it
// SIGINT, as Ctrl-C in a terminal does.
func startDev(t *testing.T, bin, dir, namespace string, args ...string) (*running, *skiffProcess) {
	t.Helper()
	args = append([]string{"dev", "-n", namespace}, args...)
	p := startSkiff(t, bin, append(args, "-f", filepath.Join(dir, "skaffold.yaml"))...)
	r := &running{
		cancel: func() { _ = p.cmd.Process.Signal(os.Interrupt) },
		done:   p.done,
		errOut: p.errOut,
	}
	r.waitSince(t, 0, devStartTimeout, watchingLine)
	return r, p
}

// clusterComponent runs hack/cluster.sh action (stop, start or restart)
// on component (apiserver or registry). After a stop or a restart, the
// component is started again (if it is not running) when the test ends,
// whatever happened.
func clusterComponent(t *testing.T, action, component string) {
	t.Helper()
	script, err := filepath.Abs("../../hack/cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	// The component outlives the test: it must not carry the TMPDIR of a
	// skiff under test, which expectNothingLeft looks for.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TMPDIR=") })
	run := func(action string) error {
		cmd := exec.Command(script, action, component)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("hack/cluster.sh %s %s: %v\n%s", action, component, err, out)
		}
		t.Logf("hack/cluster.sh %s %s:\n%s", action, component, out)
		return nil
	}
	if action != "start" {
		t.Cleanup(func() {
			if err := run("start"); err != nil {
				t.Errorf("bringing the %s back: %v", component, err)
			}
		})
	}
	if err := run(action); err != nil {
		t.Fatal(err)
	}
}

// slowSource is a Go file of package main with a few thousand functions
// and a random constant, so that compiling it takes the compiler long
// enough to be caught at work, and is never in the build cache.
func slowSource(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "package main\n\nconst slowSeed = %q\n\n", randomSuffix(t))
	for i := range 4000 {
		fmt.Fprintf(&b, "func slow%d(s []int) int {\n\tn := len(slowSeed)\n\tfor i, v := range s {\n\t\tif v%%%d == i {\n\t\t\tn += v * %d\n\t\t}\n\t}\n\treturn n\n}\n\n", i, i+2, i+3)
	}
	return b.String()
}

// expectNothingLeft checks, once the skiff processes the test started
// have exited, that nothing they started still runs and that they left
// nothing in tmp, their TMPDIR. It kills what it finds still running.
func expectNothingLeft(t *testing.T, tmp string) {
	t.Helper()
	if left := processesWith(t, "TMPDIR="+tmp); len(left) > 0 {
		t.Errorf("processes skiff started outlive it: %v", left)
		for _, p := range left {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("skiff left temporary files in its TMPDIR %s: %v", tmp, names)
	}
}

// exitStatus is the wait status of a process that exited with err.
func exitStatus(err error) (syscall.WaitStatus, bool) {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return 0, false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	return status, ok
}

// figure logs a measured figure of the suite; docs/reliability.md quotes
// them.
func figure(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("figure: "+format, args...)
}

// traffic is a client of the app that sends a request every 100 ms to one
// of its ready pods in turn, straight to the pod's IP: not through the API
// server, so that it goes on while the API server is away. It records
// every answer until the test ends.
type traffic struct {
	mu      sync.Mutex
	answers []answer
}

// answer is whether one request got a 200 answer, and when it was sent.
type answer struct {
	at time.Time
	ok bool
}

// startTraffic starts sending GET path to port 8080 of the ready pods
// matching selector, looking up which pods those are every second (the
// last known pods while the API server does not answer).
func (c *cluster) startTraffic(t *testing.T, namespace, selector, path string) *traffic {
	t.Helper()
	tr := &traffic{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
	})
	go func() {
		defer close(done)
		var targets []string
		var looked time.Time
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			if time.Since(looked) >= time.Second {
				looked = time.Now()
				if ips, err := c.readyPodIPs(ctx, namespace, selector); err == nil {
					targets = ips
				}
			}
			if len(targets) > 0 {
				at := time.Now()
				rctx, rcancel := context.WithTimeout(ctx, time.Second)
				_, err := httpGet(rctx, fmt.Sprintf("http://%s:8080%s", targets[n%len(targets)], path))
				rcancel()
				tr.mu.Lock()
				tr.answers = append(tr.answers, answer{at: at, ok: err == nil})
				tr.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return tr
}

// between says how many of the requests sent between from and to were
// answered.
func (tr *traffic) between(from, to time.Time) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	sent, ok := 0, 0
	for _, a := range tr.answers {
		if a.at.Before(from) || a.at.After(to) {
			continue
		}
		sent++
		if a.ok {
			ok++
		}
	}
	return fmt.Sprintf("%d of %d requests answered meanwhile", ok, sent)
}

// readyPodIPs returns the IPs of the ready pods matching selector.
func (c *cluster) readyPodIPs(ctx context.Context, namespace, selector string) ([]string, error) {
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ready, err := c.readyPods(lctx, namespace, selector)
	if err != nil {
		return nil, err
	}
	pods, err := c.podsOf(lctx, namespace, selector)
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, p := range pods {
		if slices.Contains(ready, p.Name) && p.Status.PodIP != "" {
			ips = append(ips, p.Status.PodIP)
		}
	}
	return ips, nil
}
