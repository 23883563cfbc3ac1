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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testutil"
)

// hotSwappedLine is what dev prints after a hot swap into both replicas.
var hotSwappedLine = regexp.MustCompile(`Hot-swapped sync into 2 pods in .*, no new pod`)

// TestDevHotSwap changes examples/sync's Go code while dev runs (hot swap
// on, the default): v2 is served by the same two pods, none restarted; a
// change that does not compile leaves v2 serving; v3 is swapped in the
// same way, as a patch against v2 in both pods; a killed pod's
// replacement serves v3 once dev catches it up.
func TestDevHotSwap(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	r := devBackground(t, dir, ns)
	c.expectVersion(t, ns, "v1")
	before := c.devPodStates(t, ns, "app=sync")

	m := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, m, devStepTimeout, hotSwappedLine)
	c.expectVersion(t, ns, "v2")
	c.expectSamePods(t, ns, "app=sync", before)

	m = r.mark()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(versionSource(t, "v2")+"\nfunc broken( {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Build of sync failed: (?s:.*)The previous version keeps running\. Watching for changes\.\.\.`))
	c.expectVersion(t, ns, "v2")
	c.expectSamePods(t, ns, "app=sync", before)

	// The second swap sends the executable as a patch against the first,
	// to both pods.
	m = r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v3")})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Hot-swapped sync into 2 pods in .*, sent .* \(2 of 2 as patches\), no new pod`))
	c.expectVersion(t, ns, "v3")
	c.expectSamePods(t, ns, "app=sync", before)
	if regexp.MustCompile(`Rebuilt|redeployed`).MatchString(r.errOut.String()) {
		t.Errorf("a Go change rebuilt or redeployed with hot swap on:\n%s", r.errOut)
	}

	pods := c.waitReady(t, ns, "app=sync", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m = r.mark()
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pods[0], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, catchUpLine)
	now := c.waitReady(t, ns, "app=sync", 2)
	if slices.Contains(now, pods[0]) || !slices.Contains(now, pods[1]) {
		t.Fatalf("want a new pod beside %s after deleting %s, got %v", pods[1], pods[0], now)
	}
	c.expectVersion(t, ns, "v3")
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevHotSwapServesThroughTheForward sends requests through skiff
// dev's own port-forward, one new connection each, while three Go changes
// are hot-swapped into both replicas: none fails, and none waits until the
// client gives up (15 s, half the time a stream that the pod side never
// answers takes to fail), though each swap restarts the app in both pods.
func TestDevHotSwapServesThroughTheForward(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	port := testutil.FreePort(t)
	writeTree(t, dir, map[string]string{"skaffold.yaml": syncExampleConfig() + portForwardTo("service", "sync", port)})
	r := devBackground(t, dir, ns, "--port-forward=user")
	r.waitSince(t, 0, devStepTimeout, syncForwardLine(ns, port))
	before := c.devPodStates(t, ns, "app=sync")

	q, stop := startRequester(t, port, 15*time.Second)

	const swaps = 3
	for i := 2; i < 2+swaps; i++ {
		v := "v" + strconv.Itoa(i)
		m := r.mark()
		writeTree(t, dir, map[string]string{"main.go": versionSource(t, v)})
		r.waitSince(t, m, devStepTimeout, hotSwappedLine)
		q.waitSeen(t, v, devStepTimeout)
	}
	stop()
	n, failed, seen := q.counts()
	t.Logf("%d requests through the forward during %d hot swaps; answers by version: %v", n, swaps, seen)
	if len(failed) > 0 {
		t.Errorf("%d of %d requests through the forward failed during the hot swaps:\n%s", len(failed), n, strings.Join(failed, "\n"))
	}
	c.expectSamePods(t, ns, "app=sync", before)
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevHotSwapFallsBackWithoutSupervisor: a manifest whose command
// replaces the development image's entrypoint runs the app without
// skiff-agent run; a Go change then says so and rebuilds and redeploys.
func TestDevHotSwapFallsBackWithoutSupervisor(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	manifest := filepath.Join(dir, "k8s", "deployment.yaml")
	yaml, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	withCommand := regexp.MustCompile(`(?m)^        image: sync$`).ReplaceAllString(string(yaml), "        image: sync\n        command: [\"/ko-app/sync\"]")
	if withCommand == string(yaml) {
		t.Fatalf("examples/sync/k8s/deployment.yaml has no `image: sync` line:\n%s", yaml)
	}
	writeTree(t, dir, map[string]string{"k8s/deployment.yaml": withCommand})
	r := devBackground(t, dir, ns)
	c.expectVersion(t, ns, "v1")

	m := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	if !regexp.MustCompile(`(?s)Hot swap of sync: .*does not run under skiff-agent run.*\nRebuilding and redeploying it instead`).MatchString(r.errOut.String()[m:]) {
		t.Errorf("skiff dev did not say why it rebuilt:\n%s", r.errOut.String()[m:])
	}
	c.expectVersion(t, ns, "v2")
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevHotSwapWithoutSyncRules: examples/sync with its sync section
// removed, a plain ko app, is hot-swapped as well: a Go change is served
// by the same two pods, with no rebuild, and a killed pod's replacement
// gets the swapped executable as dev catches it up.
func TestDevHotSwapWithoutSyncRules(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	config := syncExampleConfig()
	noSync := regexp.MustCompile(`(?m)^    sync:\n(?:      .*\n)+`).ReplaceAllString(config, "")
	if noSync == config || strings.Contains(noSync, "sync:") {
		t.Fatalf("cannot remove the sync section from examples/sync's skaffold.yaml:\n%s", config)
	}
	writeTree(t, dir, map[string]string{"skaffold.yaml": noSync})
	r := devBackground(t, dir, ns)
	c.expectVersion(t, ns, "v1")
	before := c.devPodStates(t, ns, "app=sync")

	m := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, m, devStepTimeout, hotSwappedLine)
	c.expectVersion(t, ns, "v2")
	c.expectSamePods(t, ns, "app=sync", before)
	if regexp.MustCompile(`Rebuilt|redeployed`).MatchString(r.errOut.String()) {
		t.Errorf("a Go change of a ko artifact without sync rules rebuilt or redeployed with hot swap on:\n%s", r.errOut)
	}

	pods := c.waitReady(t, ns, "app=sync", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m = r.mark()
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pods[0], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, catchUpLine)
	now := c.waitReady(t, ns, "app=sync", 2)
	if slices.Contains(now, pods[0]) || !slices.Contains(now, pods[1]) {
		t.Fatalf("want a new pod beside %s after deleting %s, got %v", pods[1], pods[0], now)
	}
	c.expectVersion(t, ns, "v2")
	c.stopAndCheckCleanup(t, r, ns)
}
