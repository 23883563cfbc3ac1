//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/testutil"
)

var dashboardLine = regexp.MustCompile(`Serving the dashboard on (http://127\.0\.0\.1:\d+/)`)

// dashboardProject is examples/sync (artifact sync: a ko Go app with 2
// replicas whose kodata/ syncs) with a second artifact, worker: a docker
// image FROM a busybox base whose one pod logs a line and sleeps.
func dashboardProject(t *testing.T) string {
	t.Helper()
	dir := syncExample(t)
	base := dockerBuildBase(t, newDocker(t))
	config := strings.Replace(syncExampleConfig(), "manifests:", `  - image: skiff-e2e-worker
    context: worker
    docker:
      buildArgs:
        BASE: `+base+`
manifests:`, 1)
	writeTree(t, dir, map[string]string{
		"skaffold.yaml":     config,
		"worker/Dockerfile": "ARG BASE\nFROM $BASE\nCMD [\"sh\", \"-c\", \"echo worker ready to work; while true; do sleep 3600; done\"]\n",
		"k8s/worker.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: worker
        image: skiff-e2e-worker
`,
	})
	return dir
}

// TestDevDashboard runs skiff dev --ui on a project of two artifacts and
// drives the dashboard in headless Chromium: both workloads become
// healthy, with their pods, their log lines and the forwarded service, an edit of a synced file shows as a sync, a broken Go build
// shows the failed row with the compiler's message, and with auto build
// off the rebuild button of a row runs the build of a fix of its artifact
// only. It saves screenshots of
// the healthy and the failed dashboard in the test's artifact directory
// (go test -artifacts). Then skiff restarts, without a port given, on the
// port of the session before, and the page reconnects to the new session.
func TestDevDashboard(t *testing.T) {
	chromium, err := testutil.ChromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := dashboardProject(t)
	// No port given: the next session of the project takes this one's
	// port again, so that the page finds skiff after a restart.
	// skiff remembers the port in ~/.skiff/ui-ports.json: a HOME of the
	// test's own keeps the real one untouched.
	env := homeOfItsOwn(t)
	r := commandBackground(t, "dev", dir, ns, strings.NewReader(""), env, "--ui", "--port-forward=services")
	m := dashboardLine.FindStringSubmatch(r.errOut.String())
	if m == nil {
		t.Fatalf("skiff dev --ui did not say where the dashboard is:\n%s", r.errOut)
	}
	page := testutil.NewPage(t, testutil.Chromium(t, chromium), m[1])
	shots := t.ArtifactDir()
	const (
		wait = devStepTimeout
		body = `document.body.innerText`
	)
	row := func(kind, name string) string {
		return `document.querySelector('tr[data-` + kind + `="` + name + `"]')`
	}
	text := func(kind, name string) string { return `((` + row(kind, name) + ` || {}).innerText || '')` }
	state := func(kind, name string) string {
		return `(` + row(kind, name) + ` || {dataset: {}}).dataset.state`
	}

	for _, w := range []string{"deployment/sync", "deployment/worker"} {
		page.WaitJS(wait, w+" healthy", state("workload", w)+` === 'healthy'`, body)
	}
	page.WaitJS(wait, "both artifacts built", state("artifact", "sync")+` === 'built' && `+state("artifact", "skiff-e2e-worker")+` === 'built'`, body)
	page.WaitJS(wait, "the pods of sync", `(`+text("workload", "deployment/sync")+`.match(/sync-[a-z0-9]+-[a-z0-9]+/g) || []).length === 2`, text("workload", "deployment/sync"))
	page.WaitJS(wait, "worker's pod ready, no restarts", `/worker-[a-z0-9]+-[a-z0-9]+ ready$/m.test(`+text("workload", "deployment/worker")+`)`, text("workload", "deployment/worker"))
	page.WaitJS(wait, "worker's log line in the pane", `document.querySelector('#logs').innerText.includes('worker ready to work')`, `document.querySelector('#logs').innerText`)
	page.WaitJS(wait, "sync's log line in the pane", `document.querySelector('#logs').innerText.includes('listening on :8080')`, `document.querySelector('#logs').innerText`)
	page.WaitJS(wait, "service sync's forwarded URL as a link", row("workload", "deployment/sync")+`.querySelector('a[href^="http://127.0.0.1:"]')`, text("workload", "deployment/sync"))
	page.Screenshot(filepath.Join(shots, "healthy.png"))

	// An edit of a synced file.
	writeTree(t, dir, map[string]string{"kodata/index.html": "<h1>dashboard edit</h1>\n"})
	page.WaitJS(wait, "the sync of index.html into both pods", text("artifact", "sync")+`.includes('synced 1 file (') && `+text("artifact", "sync")+`.includes('kodata/index.html) to 2 pods in ')`, text("artifact", "sync"))

	// A broken build.
	mainGo := filepath.Join(dir, "main.go")
	if err := os.WriteFile(mainGo, []byte(versionSource(t, "v2")+"\nfunc broken( {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	page.WaitJS(wait, "the failed row with the compiler's message", state("artifact", "sync")+` === 'failed' && `+text("artifact", "sync")+`.includes('syntax error') && `+text("artifact", "sync")+`.includes('./main.go:')`, text("artifact", "sync"))
	page.Screenshot(filepath.Join(shots, "failed.png"))

	// Auto build off, a fix, and the rebuild button.
	page.Eval(`document.querySelector('#auto-build').click()`, nil)
	testutil.WaitFor(t, wait, "auto build off in /v2/state", func(context.Context) (bool, string) {
		var on bool
		page.Eval(`fetch('/v2/state').then((r) => r.json()).then((s) => s.buildState.autoTrigger)`, &on)
		return !on, "auto build is on"
	})
	// Both artifacts change; sync's row button rebuilds sync only (skiff's
	// "artifacts" field of /v2/execute), the worker's change stays held.
	var builds, workerBuilds int
	page.Eval(`+`+row("artifact", "sync")+`.dataset.builds`, &builds)
	page.Eval(`+`+row("artifact", "skiff-e2e-worker")+`.dataset.builds`, &workerBuilds)
	mark := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v3"), "worker/Dockerfile": "ARG BASE\nFROM $BASE\nCMD [\"sh\", \"-c\", \"echo worker v2 ready; while true; do sleep 3600; done\"]\n"})
	r.waitSince(t, mark, wait, regexp.MustCompile(`(?m)(^|, )sync(, [^\n]*)? changed; press Enter to rebuild`))
	r.waitSince(t, mark, wait, regexp.MustCompile(`skiff-e2e-worker(, [^\n]*)? changed; press Enter to rebuild`))
	page.Eval(`document.querySelector('button.rebuild[data-artifact="sync"]').click()`, nil)
	page.WaitJS(wait, "the rebuild to run and succeed", `+`+row("artifact", "sync")+`.dataset.builds > `+strconv.Itoa(builds)+` && `+state("artifact", "sync")+` === 'built'`, text("artifact", "sync"))
	// sync is a ko artifact: skiff dev hot-swaps its Go change.
	r.waitSince(t, mark, wait, regexp.MustCompile(`Hot-swapped sync into 2 pods in `))
	var after int
	page.Eval(`+`+row("artifact", "skiff-e2e-worker")+`.dataset.builds`, &after)
	if after != workerBuilds || strings.Contains(r.errOut.String()[mark:], "Rebuilt skiff-e2e-worker") {
		t.Errorf("sync's Rebuild built skiff-e2e-worker too (%d builds, were %d):\n%s", after, workerBuilds, r.errOut.String()[mark:])
	}
	page.WaitJS(wait, "deployment/sync still healthy", state("workload", "deployment/sync")+` === 'healthy'`, text("workload", "deployment/sync"))
	c.expectVersion(t, ns, "v3")
	c.stopAndCheckCleanup(t, r, ns)

	// skiff restarts on the same port: the page reconnects and shows the
	// new session from its start.
	page.WaitJS(wait, "the page to see skiff gone", `document.querySelector('#connection').dataset.state === 'lost'`, `document.querySelector('#connection').innerText`)
	r = commandBackground(t, "dev", dir, ns, strings.NewReader(""), env, "--ui")
	if again := dashboardLine.FindStringSubmatch(r.errOut.String()); again == nil || again[1] != m[1] {
		t.Fatalf("the restarted skiff serves the dashboard at %v, want the last session's %s:\n%s", again, m[1], r.errOut)
	}
	page.WaitJS(wait, "the new session's rows", `document.querySelector('#connection').dataset.state === 'open' && `+row("artifact", "sync")+`.dataset.builds === '1' && `+state("workload", "deployment/sync")+` === 'healthy' && !document.querySelector('#error').innerText`, body)
	c.stopAndCheckCleanup(t, r, ns)
	if _, err := os.Stat(filepath.Join(strings.TrimPrefix(env[0], "HOME="), ".skiff", "ui-ports.json")); err != nil {
		t.Errorf("the port was not remembered under the test's HOME: %v", err)
	}
}

// homeOfItsOwn returns the environment entries that give skiff a HOME of
// the test's own, keeping Go's build and module caches where they are (a
// cold cache would compile the standard library and fetch modules).
func homeOfItsOwn(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	v := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(v) != 3 {
		t.Fatalf("go env printed %q, want 3 lines", out)
	}
	return []string{"HOME=" + t.TempDir(), "GOCACHE=" + v[0], "GOMODCACHE=" + v[1], "GOPATH=" + v[2]}
}
