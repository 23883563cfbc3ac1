//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/cli"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// skiff dev against the real cluster, Docker and registry: the tests edit
// a project's files while dev runs and check what every replica serves
// and what the cluster holds.

// devStartTimeout bounds dev's first build, deploy and rollout.
const devStartTimeout = 5 * time.Minute

// devStepTimeout bounds one sync, rebuild or reload after an edit.
const devStepTimeout = 3 * time.Minute

var (
	watchingLine = regexp.MustCompile(`Watching for changes\.\.\.`)
	syncedLine   = regexp.MustCompile(`Synced \d+ (files?|deletions?)( and \d+ deletions?)? to 2 pods in `)
	rebuiltLine  = regexp.MustCompile(`Rebuilt \S+ in .*, redeployed in `)
	catchUpLine  = regexp.MustCompile(`Synced the changes so far to 1 pod that started since, in `)
)

// agentBinaryForDev builds cmd/skiff-agent as a static binary for the
// test: skiff dev delivers it into pods whose image has no tar. The Go
// build cache makes every build after the first one a link.
func agentBinaryForDev(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), deliver.BinaryName)
	devGoBuild(t, root, "./cmd/skiff-agent", bin)
	return bin
}

// devGoBuild builds the Go package pkg of the module in dir into out, for
// linux, without cgo, with the build flags given.
func devGoBuild(t testing.TB, dir, pkg, out string, flags ...string) {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"build", "-trimpath"}, flags...), "-o", out, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
}

// devBackground starts `skiff dev -n namespace` on dir's skaffold.yaml in
// the background, with SKIFF_AGENT naming a freshly built skiff-agent,
// and waits until it watches for changes. The test stops it with stop
// (Ctrl-C) or when it ends.
func devBackground(t testing.TB, dir, namespace string, args ...string) *running {
	t.Helper()
	return devBackgroundWithInput(t, dir, namespace, strings.NewReader(""), args...)
}

// devBackgroundWithInput is devBackground with in as skiff's stdin, where
// the test presses Enter.
func devBackgroundWithInput(t testing.TB, dir, namespace string, in io.Reader, args ...string) *running {
	t.Helper()
	return commandBackground(t, "dev", dir, namespace, in, nil, args...)
}

// commandBackground starts `skiff COMMAND -n namespace` (dev or debug) on
// dir's skaffold.yaml in the background, with SKIFF_AGENT naming a
// freshly built skiff-agent and env added to the environment, and waits
// until it watches for changes.
func commandBackground(t testing.TB, command, dir, namespace string, in io.Reader, env []string, args ...string) *running {
	t.Helper()
	env = append(append(os.Environ(), deliver.EnvBinary+"="+agentBinaryForDev(t)), env...)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	r := &running{cancel: cancel, done: make(chan error, 1), out: &testutil.Buffer{}, errOut: &testutil.Buffer{}}
	args = append([]string{command, "-n", namespace}, args...)
	args = append(args, "-f", filepath.Join(dir, "skaffold.yaml"))
	go func() {
		r.done <- cli.Run(ctx, cli.IOStreams{In: in, Out: r.out, ErrOut: r.errOut}, args, cli.WithEnviron(env))
	}()
	t.Cleanup(func() { r.stop(t) })
	r.waitFor(t, devStartTimeout, watchingLine)
	return r
}

// mark is where the command's stderr ends now: waitSince looks only at
// what it prints after.
func (r *running) mark() int { return len(r.errOut.String()) }

// waitSince waits until what the command printed on stderr after mark
// matches re, and returns the offset just after the match; it fails the
// test when the command ends first.
func (r *running) waitSince(t testing.TB, mark int, timeout time.Duration, re *regexp.Regexp) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if loc := re.FindStringIndex(r.errOut.String()[mark:]); loc != nil {
			return mark + loc[1]
		}
		select {
		case err := <-r.done:
			r.done <- err
			// It may have printed it and ended since the last look.
			if loc := re.FindStringIndex(r.errOut.String()[mark:]); loc != nil {
				return mark + loc[1]
			}
			t.Fatalf("skiff dev ended (%v) before printing %q\nstderr:\n%s", err, re, r.errOut)
		case <-deadline:
			all := r.errOut.String()
			t.Fatalf("skiff dev did not print %q within %s of the change\nstderr:\n%s\n<<< the change >>>\n%s", re, timeout, all[:mark], all[mark:])
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alive reports whether the command has not ended.
func (r *running) alive() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return false
	default:
		return true
	}
}

// stopAndCheckCleanup stops dev with Ctrl-C and checks that it ended
// without error after deleting everything it deployed in namespace.
func (c *cluster) stopAndCheckCleanup(t testing.TB, r *running, namespace string) {
	t.Helper()
	if err := r.stop(t); err != nil {
		t.Fatalf("skiff dev after Ctrl-C: %v\nstderr:\n%s", err, r.errOut)
	}
	stderr := r.errOut.String()
	if !strings.Contains(stderr, "Cleaning up: ") || !strings.Contains(stderr, "Cleanup complete") {
		t.Errorf("skiff dev did not report its cleanup after Ctrl-C:\n%s", stderr)
	}
	c.expectCleanedUp(t, namespace, "skiff dev")
}

// expectCleanedUp checks that nothing what (skiff dev, say) deployed in
// namespace is left after its cleanup. Pods stop in the background (dev's
// Ctrl-C does not wait for them, issue 16): they may still be there, but
// must be gone within two minutes.
func (c *cluster) expectCleanedUp(t testing.TB, namespace, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := c.managedObjects(ctx, namespace)
	if err != nil {
		t.Fatal(err)
	}
	if left = slices.DeleteFunc(left, func(o string) bool { return strings.HasPrefix(o, "pod/") }); len(left) > 0 {
		t.Errorf("%s left %v in %s after its cleanup", what, left, namespace)
	}
	waitFor(t, 2*time.Minute, "the pods of "+what+" to be gone after its cleanup", func(ctx context.Context) (bool, string, error) {
		left, err := c.managedObjects(ctx, namespace)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(left) == 0, fmt.Sprintf("still there: %v", left), nil
	})
}

// syncExample copies examples/sync (a ko app on a base without tar that
// serves its kodata, synced through skiff-agent, and answers /version from
// its Go code; 2 replicas) into a temporary directory, with a tag policy
// that needs no git repository and no port forward. extraManifests are
// more rawYaml globs.
func syncExample(t testing.TB, extraManifests ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/sync")); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"skaffold.yaml": syncExampleConfig(extraManifests...)})
	return dir
}

// portForwardTo is a skaffold.yaml's portForward section forwarding port
// 8080 of the resource of kind (service, deployment) and name to the local
// port.
func portForwardTo(kind, name string, port int) string {
	return "portForward:\n- resourceType: " + kind + "\n  resourceName: " + name + "\n  port: 8080\n  localPort: " + strconv.Itoa(port) + "\n"
}

// syncForwardLine matches skiff dev's line saying it forwards the sync
// example's service in namespace ns to the local port.
func syncForwardLine(ns string, port int) *regexp.Regexp {
	return regexp.MustCompile(`Port forwarding service/sync in namespace ` + regexp.QuoteMeta(ns) + `, remote port 8080 -> http://127\.0\.0\.1:` + strconv.Itoa(port) + `\b`)
}

// syncExampleConfig is examples/sync's skaffold.yaml for the tests.
func syncExampleConfig(extraManifests ...string) string {
	var extra string
	for _, m := range extraManifests {
		extra += "  - " + m + "\n"
	}
	return `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: sync
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: sync
    ko:
      main: .
    sync:
      manual:
      - src: "kodata/**"
        dest: /var/run/ko
        strip: kodata/
manifests:
  rawYaml:
  - k8s/*.yaml
` + extra + `deploy:
  kubectl: {}
`
}

// tarProject is a docker artifact FROM a busybox image (it has sh, rm and
// tar, so files sync through tar) that serves /srv with a static Go
// server; its www/ files sync by inference from the Dockerfile's COPY.
// Deployment web has 2 replicas.
func tarProject(t *testing.T) string {
	t.Helper()
	return tarProjectSyncing(t, `infer: ["www/**"]`)
}

// tarProjectSyncing is tarProject with other sync rules: rules is the
// artifact's sync section as one YAML line (e.g. `infer: ["www/**"]`).
func tarProjectSyncing(t *testing.T, rules string) string {
	t.Helper()
	base := dockerBuildBase(t, newDocker(t))
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: tarsync
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: skiff-e2e-dev-tar
    context: app
    docker:
      buildArgs:
        BASE: ` + base + `
    sync:
      ` + rules + `
manifests:
  rawYaml: [k8s/*.yaml]
deploy:
  kubectl: {}
`,
		"app/Dockerfile":       "ARG BASE\nFROM $BASE\nCOPY server /server\nCOPY www /srv\nCMD [\"/server\"]\n",
		"app/www/index.html":   "<h1>tar v1</h1>\n",
		"app/www/css/site.css": "body { color: black; }\n",
		"k8s/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: skiff-e2e-dev-tar
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
`,
	})
	buildServer(t, filepath.Join(dir, "app", "server"))
	return dir
}

// podState is a pod's identity and how often its containers restarted.
type podState struct {
	uid      string
	restarts int32
}

// devPodStates returns the live pods matching selector by name.
func (c *cluster) devPodStates(t testing.TB, namespace, selector string) map[string]podState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := c.podsOf(ctx, namespace, selector)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]podState{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		s := podState{uid: string(p.UID)}
		for _, cs := range p.Status.ContainerStatuses {
			s.restarts += cs.RestartCount
		}
		out[p.Name] = s
	}
	return out
}

// waitReady waits until n pods matching selector are Ready and returns
// their names.
func (c *cluster) waitReady(t testing.TB, namespace, selector string, n int) []string {
	t.Helper()
	var pods []string
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d ready pods %s", n, selector), func(ctx context.Context) (bool, string, error) {
		var err error
		pods, err = c.readyPods(ctx, namespace, selector)
		if err != nil {
			return false, err.Error(), nil
		}
		all, err := c.podsOf(ctx, namespace, selector)
		if err != nil {
			return false, err.Error(), nil
		}
		// Also wait until pods of an earlier rollout are gone.
		return len(pods) == n && len(all) == n, fmt.Sprintf("ready %v of %d pods", pods, len(all)), nil
	})
	return pods
}

// forwardEach forwards a local port to port of every pod and returns
// them by pod.
func (c *cluster) forwardEach(t testing.TB, namespace string, pods []string, port int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range pods {
		out[p] = c.portForward(t, namespace, p, port)
	}
	return out
}

// expectServed checks that every pod serves path with want; want "" means
// the pod answers 404 Not Found. It allows a few seconds for a forward
// that is slow to connect, not for a file that is late.
func expectServed(t testing.TB, forwards map[string]int, path, want string) {
	t.Helper()
	for pod, port := range forwards {
		url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
		what := fmt.Sprintf("pod %s to serve %s with %q", pod, path, want)
		if want == "" {
			what = fmt.Sprintf("pod %s to answer 404 for %s", pod, path)
		}
		waitFor(t, 10*time.Second, what, func(ctx context.Context) (bool, string, error) {
			got, err := httpGet(ctx, url)
			switch {
			case want == "" && err != nil && strings.Contains(err.Error(), "404 Not Found"):
				return true, "", nil
			case err != nil:
				return false, err.Error(), nil
			}
			return got == want, fmt.Sprintf("served %q", got), nil
		})
	}
}

// editAddDelete edits index.html, adds a/b/new.txt and deletes css/site.css
// under the synced directory local, one change at a time, and checks after
// each "Synced" line that both pods serve the change. It returns the
// edited index.html.
func editAddDelete(t *testing.T, r *running, local string, forwards map[string]int) string {
	t.Helper()
	index := "<h1>edited " + randomSuffix(t) + "</h1>\n"
	m := r.mark()
	writeTree(t, local, map[string]string{"index.html": index})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, forwards, "/index.html", index)

	added := "new " + randomSuffix(t) + "\n"
	m = r.mark()
	writeTree(t, local, map[string]string{"a/b/new.txt": added})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, forwards, "/a/b/new.txt", added)

	m = r.mark()
	if err := os.Remove(filepath.Join(local, "css", "site.css")); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, forwards, "/css/site.css", "")
	// The earlier changes are still there.
	expectServed(t, forwards, "/index.html", index)
	expectServed(t, forwards, "/a/b/new.txt", added)
	return index
}

// expectSamePods checks that the pods matching selector are those of
// before, none restarted: changes were synced, not redeployed.
func (c *cluster) expectSamePods(t testing.TB, namespace, selector string, before map[string]podState) {
	t.Helper()
	after := c.devPodStates(t, namespace, selector)
	if len(after) != len(before) {
		t.Errorf("pods %s: before %v, after %v", selector, before, after)
	}
	for name, b := range before {
		a, ok := after[name]
		if !ok || a.uid != b.uid || a.restarts != 0 {
			t.Errorf("pod %s was replaced or restarted (before %+v, after %+v; pods now %v)", name, b, a, after)
		}
	}
}

// TestDevSyncWithoutTar runs skiff dev on examples/sync, whose ko image
// has no tar and runs as nonroot (65532) while its kodata belongs to
// root, with its manifests as they are: the pods run the development
// image (skiff-agent in a layer, /var/run/ko owned by 65532) with no init
// container, and an edit of a root-owned file, a new nested file and the
// deletion of a root-owned file in a nested directory under kodata/ reach
// both replicas without restarting them.
func TestDevSyncWithoutTar(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	r := devBackground(t, dir, ns)

	pods := c.waitReady(t, ns, "app=sync", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "sync", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Spec.Template.Spec
	if len(spec.InitContainers) != 0 || len(spec.Volumes) != 0 || spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil {
		t.Errorf("deployment sync: init containers %v, volumes %v, security context %v; want the manifest's (none)", spec.InitContainers, spec.Volumes, spec.SecurityContext)
	}
	app := spec.Containers[0]
	if !strings.Contains(app.Image, "-skiff-dev@sha256:") || app.SecurityContext != nil || len(app.VolumeMounts) != 0 {
		t.Errorf("container sync: image %s, security context %v, mounts %v; want the development image and the manifest's settings", app.Image, app.SecurityContext, app.VolumeMounts)
	}
	if !strings.Contains(r.errOut.String(), "/var/run/ko, /var/run/ko/css owned by the image's user 65532:65532") {
		t.Errorf("skiff dev did not say what its development image changes:\n%s", r.errOut)
	}
	before := c.devPodStates(t, ns, "app=sync")
	forwards := c.forwardEach(t, ns, pods, 8080)
	original, err := os.ReadFile(filepath.Join(dir, "kodata", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	expectServed(t, forwards, "/index.html", string(original))

	editAddDelete(t, r, filepath.Join(dir, "kodata"), forwards)
	c.expectSamePods(t, ns, "app=sync", before)
	if !strings.Contains(r.errOut.String(), "Synced") || strings.Contains(r.errOut.String(), "Rebuilt") {
		t.Errorf("kodata changes should only sync, never rebuild:\n%s", r.errOut)
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevSyncWithTar runs skiff dev on a docker artifact whose busybox
// base has tar, with sync.infer rules: the same edit, new nested file and
// deletion reach both replicas without restarting them (through the
// agent's sessions; tar is the fallback where the agent is missing).
func TestDevSyncWithTar(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := tarProject(t)
	r := devBackground(t, dir, ns)

	pods := c.waitReady(t, ns, "app=web", 2)
	before := c.devPodStates(t, ns, "app=web")
	forwards := c.forwardEach(t, ns, pods, 8080)
	expectServed(t, forwards, "/index.html", "<h1>tar v1</h1>\n")
	expectServed(t, forwards, "/css/site.css", "body { color: black; }\n")

	index := editAddDelete(t, r, filepath.Join(dir, "app", "www"), forwards)
	c.expectSamePods(t, ns, "app=web", before)
	if strings.Contains(r.errOut.String(), "Rebuilt") {
		t.Errorf("www changes should only sync, never rebuild:\n%s", r.errOut)
	}

	// A Dockerfile change rebuilds; files sync into the new pods.
	m := r.mark()
	dockerfile := filepath.Join(dir, "app", "Dockerfile")
	df, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, filepath.Join(dir, "app"), map[string]string{"Dockerfile": string(df) + "ENV REBUILT=1\n"})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	pods = c.waitReady(t, ns, "app=web", 2)
	forwards = c.forwardEach(t, ns, pods, 8080)
	expectServed(t, forwards, "/index.html", index)
	edited := "<h1>after the rebuild " + randomSuffix(t) + "</h1>\n"
	m = r.mark()
	writeTree(t, filepath.Join(dir, "app", "www"), map[string]string{"index.html": edited})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, forwards, "/index.html", edited)
	c.stopAndCheckCleanup(t, r, ns)
}

// versionSource is examples/sync's main.go with its version constant set
// to v.
func versionSource(t testing.TB, v string) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/sync/main.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`const version = "[^"]*"`)
	if !re.Match(src) {
		t.Fatalf("examples/sync/main.go has no version constant:\n%s", src)
	}
	return re.ReplaceAllString(string(src), `const version = "`+v+`"`)
}

// expectVersion waits until n pods of app=sync are ready and checks
// that each answers /version with v, through a forward of its own.
func (c *cluster) expectVersion(t testing.TB, namespace, v string) map[string]int {
	t.Helper()
	pods := c.waitReady(t, namespace, "app=sync", 2)
	forwards := c.forwardEach(t, namespace, pods, 8080)
	expectVersionServed(t, forwards, v)
	return forwards
}

// expectVersionServed checks that every forwarded pod answers /version
// with v.
func expectVersionServed(t testing.TB, forwards map[string]int, v string) {
	t.Helper()
	for pod := range forwards {
		expectServed(t, map[string]int{pod: forwards[pod]}, "/version", fmt.Sprintf("%s (pod %s)\n", v, pod))
	}
}

// TestDevRebuildsAndKeepsServingOnBrokenBuild changes examples/sync's Go
// code: dev rebuilds and rolls out v2; a syntax error fails the build,
// dev says so and goes on while v2 keeps serving; the fix (v3) rolls out.
func TestDevRebuildsAndKeepsServingOnBrokenBuild(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	r := devBackground(t, dir, ns, "--hot-swap=false")
	c.expectVersion(t, ns, "v1")

	mainGo := filepath.Join(dir, "main.go")
	m := r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	v2 := c.expectVersion(t, ns, "v2")

	m = r.mark()
	if err := os.WriteFile(mainGo, []byte(versionSource(t, "v2")+"\nfunc broken( {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	end := r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Build of sync failed: (?s:.*)The previous version keeps running\. Watching for changes\.\.\.`))
	if !r.alive() {
		t.Fatalf("skiff dev ended after a failed build:\n%s", r.errOut)
	}
	// The compiler's message is printed once, in the build's output, not
	// again in the failure line (issue 11 item 14).
	if n := strings.Count(r.errOut.String()[m:end], "syntax error"); n != 1 {
		t.Errorf("the compile error is printed %d times, want once:\n%s", n, r.errOut.String()[m:end])
	}
	expectVersionServed(t, v2, "v2")
	if got := c.waitReady(t, ns, "app=sync", 2); !slices.Equal(got, slices.Sorted(maps.Keys(v2))) {
		t.Errorf("the failed build changed the pods: %v, want %v", got, slices.Sorted(maps.Keys(v2)))
	}
	if strings.Contains(r.errOut.String()[end:], "Rebuilt") {
		t.Errorf("a rollout followed the failed build:\n%s", r.errOut.String()[m:])
	}

	m = r.mark()
	writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v3")})
	r.waitSince(t, m, devStepTimeout, rebuiltLine)
	c.expectVersion(t, ns, "v3")
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevKilledPodGetsSyncedFiles syncs an edit into examples/sync's two
// pods, deletes one of them, and checks that dev syncs the edit into the
// pod that replaces it.
func TestDevKilledPodGetsSyncedFiles(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	r := devBackground(t, dir, ns)
	pods := c.waitReady(t, ns, "app=sync", 2)

	index := "<h1>before the pod died " + randomSuffix(t) + "</h1>\n"
	m := r.mark()
	writeTree(t, dir, map[string]string{"kodata/index.html": index, "kodata/extra/more.txt": "more\n"})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", index)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m = r.mark()
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pods[0], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, catchUpLine)
	now := c.waitReady(t, ns, "app=sync", 2)
	var fresh []string
	for _, p := range now {
		if !slices.Contains(pods, p) {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) != 1 || !slices.Contains(now, pods[1]) {
		t.Fatalf("want one new pod beside %s after deleting %s, got %v", pods[1], pods[0], now)
	}
	forwards := c.forwardEach(t, ns, now, 8080)
	expectServed(t, forwards, "/index.html", index)
	expectServed(t, forwards, "/extra/more.txt", "more\n")
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevCleanupOnCtrlC: Ctrl-C ends dev without an error after it deleted
// what it deployed, the Deployment of the development image and the
// ApplySet's parent included; its pods stop in the background (issue 16)
// and are gone soon after (stopAndCheckCleanup).
func TestDevCleanupOnCtrlC(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	r := devBackground(t, syncExample(t), ns)
	c.waitReady(t, ns, "app=sync", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deployed, err := c.managedObjects(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deployment/sync", "service/sync"} {
		if !slices.Contains(deployed, want) {
			t.Errorf("dev deployed %v, no %s", deployed, want)
		}
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevAgainRightAfterCtrlC: Ctrl-C leaves the pods to stop in the
// background; a dev started at once in the same namespace does not trip
// over them: its status check passes, and it syncs into its own two pods
// only (issue 16).
func TestDevAgainRightAfterCtrlC(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	first := devBackground(t, dir, ns)
	old := c.waitReady(t, ns, "app=sync", 2)
	start := time.Now()
	if err := first.stop(t); err != nil || !strings.Contains(first.errOut.String(), "Cleanup complete") {
		t.Fatalf("the first skiff dev after Ctrl-C: %v\nstderr:\n%s", err, first.errOut)
	}
	t.Logf("Ctrl-C to exit took %s", time.Since(start))
	if still, err := c.podsOf(t.Context(), ns, "app=sync"); err == nil {
		t.Logf("%d pods of the first dev are still there as the second starts", len(still))
	}

	r := devBackground(t, dir, ns)
	index := "<h1>after a restart " + randomSuffix(t) + "</h1>\n"
	m := r.mark()
	writeTree(t, dir, map[string]string{"kodata/index.html": index})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	pods := c.waitReady(t, ns, "app=sync", 2)
	for _, p := range pods {
		if slices.Contains(old, p) {
			t.Fatalf("pod %s of the first dev is still ready after its Ctrl-C: %v", p, pods)
		}
	}
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", index)
	if strings.Contains(r.errOut.String(), "WARN") {
		t.Errorf("the second dev warned:\n%s", r.errOut)
	}
	for _, p := range old {
		if strings.Contains(r.out.String()+r.errOut.String(), p) {
			t.Errorf("the second dev printed about pod %s of the first (its logs?):\nstdout:\n%s\nstderr:\n%s", p, r.out, r.errOut)
		}
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevReloadsConfig adds a manifest glob to skaffold.yaml while dev
// runs: dev reloads the configuration and deploys the newly listed
// ConfigMap without replacing the running pods, then redeploys when that
// manifest changes.
func TestDevReloadsConfig(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	configMap := func(greeting string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  greeting: " + greeting + "\n"
	}
	writeTree(t, dir, map[string]string{"extra/configmap.yaml": configMap("hello")})
	r := devBackground(t, dir, ns)
	c.waitReady(t, ns, "app=sync", 2)
	before := c.devPodStates(t, ns, "app=sync")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "extra", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("ConfigMap extra before skaffold.yaml lists it: %v", err)
	}

	m := r.mark()
	writeTree(t, dir, map[string]string{"skaffold.yaml": syncExampleConfig("extra/*.yaml")})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`skaffold\.yaml changed: reloading the configuration`))
	r.waitSince(t, m, devStepTimeout, watchingLine)
	greeting := func(want string) {
		t.Helper()
		waitFor(t, devStepTimeout, "ConfigMap extra with greeting "+want, func(ctx context.Context) (bool, string, error) {
			cm, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "extra", metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			if cm.Labels[kube.ManagedByLabel] != kube.ManagedBy {
				return false, fmt.Sprintf("labels %v", cm.Labels), nil
			}
			return cm.Data["greeting"] == want, fmt.Sprintf("data %v", cm.Data), nil
		})
	}
	greeting("hello")
	c.expectSamePods(t, ns, "app=sync", before)

	// The reloaded configuration watches the new manifest.
	m = r.mark()
	writeTree(t, dir, map[string]string{"extra/configmap.yaml": configMap("reloaded")})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Redeployed in `))
	greeting("reloaded")
	c.stopAndCheckCleanup(t, r, ns)
}

// With --trigger=manual, changes wait for Enter, or for /v2/execute.
func TestDevManualTrigger(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	enter, press := io.Pipe()
	t.Cleanup(func() { press.Close() })
	r := devBackgroundWithInput(t, dir, ns, enter, "--trigger=manual", "--rpc-http-port=0")
	api := apiLine.FindStringSubmatch(r.errOut.String())
	if api == nil {
		t.Fatalf("skiff dev did not say where the API is:\n%s", r.errOut)
	}
	pods := c.waitReady(t, ns, "app=sync", 2)
	forwards := c.forwardEach(t, ns, pods, 8080)

	index := "<h1>manual " + randomSuffix(t) + "</h1>\n"
	m := r.mark()
	writeTree(t, filepath.Join(dir, "kodata"), map[string]string{"index.html": index})
	time.Sleep(time.Second) // notify would have synced by now
	if strings.Contains(r.errOut.String()[m:], "Synced") {
		t.Fatalf("--trigger=manual synced before Enter:\n%s", r.errOut)
	}
	if _, err := io.WriteString(press, "\n"); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, syncedLine)
	expectServed(t, forwards, "/index.html", index)

	// An IDE's execute runs what the trigger holds, as Skaffold's does.
	index = "<h1>execute " + randomSuffix(t) + "</h1>\n"
	m = r.mark()
	writeTree(t, filepath.Join(dir, "kodata"), map[string]string{"index.html": index})
	// The watcher may not have the edit yet: an execute with nothing
	// held does nothing, so ask again until it syncs.
	for give := time.Now().Add(devStepTimeout); !syncedLine.MatchString(r.errOut.String()[m:]); {
		if time.Now().After(give) {
			t.Fatalf("/v2/execute did not sync what --trigger=manual holds:\n%s", r.errOut.String()[m:])
		}
		call(t, http.MethodPost, api[1]+"/v2/execute", `{"sync": true}`)
		time.Sleep(200 * time.Millisecond)
	}
	expectServed(t, forwards, "/index.html", index)
	c.stopAndCheckCleanup(t, r, ns)
}
