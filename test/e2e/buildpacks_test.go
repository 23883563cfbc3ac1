//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/testutil"
)

// The buildpacks tests build the seed's examples and small projects with
// skiff's offline builder, which `make e2e` pushes to the local registry
// (hack/builder.sh) before the tests run. skiff runs in process (cli.Run)
// and runs the lifecycle in containers on the Docker Engine.

// offlineBuilder is the builder examples/buildpacks* name; skiff trusts it
// without trustBuilder.
const offlineBuilder = "127.0.0.1:5001/skiff/builder"

// needBuilder fails the test when the offline builder is not in the
// registry, and says how to make it.
func needBuilder(t testing.TB, registry string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, ok, err := image.NewRegistry(nil).Digest(ctx, offlineBuilder+":latest"); err != nil || !ok {
		t.Fatalf("the offline builder %s:latest is not in the registry %s (found %v, %v): run `make builder` (make e2e does) first", offlineBuilder, registry, ok, err)
	}
}

// buildpacksExample copies examples/<name> into a temporary directory and
// commits it to a new git repository there, so that the default tag policy
// (gitCommit) tags it as the seed shows: the commit, then -dirty.
func buildpacksExample(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("../../examples", name))); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=skiff e2e", "-c", "user.email=e2e@skiff.invalid", "commit", "-q", "-m", "examples/" + name},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v in %s: %v\n%s", args, dir, err, out)
		}
	}
	return dir
}

// editFile replaces old, which must be there, with new in dir/file.
func editFile(t testing.TB, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", p, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeBuildCaches removes, when the test ends, the cache volumes skiff's
// platform keeps for the application whose images go to repository (see
// appKey in internal/build/buildpacks: a hash of the repository).
func removeBuildCaches(t testing.TB, docker *client.Client, repository string) {
	t.Helper()
	n, err := name.NewRepository(repository)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(n.Name()))
	key := hex.EncodeToString(sum[:8])
	t.Cleanup(func() {
		for _, v := range []string{"skiff-cnb-cache-" + key, "skiff-cnb-launch-" + key, "skiff-cnb-gocache-" + key} {
			docker.VolumeRemove(context.Background(), v, client.VolumeRemoveOptions{Force: true})
		}
	})
}

// lifecycleContainers records the lifecycle containers skiff's platform
// creates (label dev.skiff.buildpacks.phase), from Docker's events, with
// what each was created to do.
type lifecycleContainers struct {
	mu         sync.Mutex
	containers []lifecycleContainer
	missed     []string
}

// lifecycleContainer is one phase's container: its phase, command and
// volumes.
type lifecycleContainer struct {
	phase string
	cmd   []string
	binds []string
}

// watchLifecycle starts recording until the test ends.
func watchLifecycle(t testing.TB, docker *client.Client) *lifecycleContainers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	filters := client.Filters{}.Add("type", "container").Add("event", "create").Add("label", "dev.skiff.buildpacks.phase")
	events := docker.Events(ctx, client.EventsListOptions{Filters: filters})
	lc := &lifecycleContainers{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-events.Err:
				if ctx.Err() == nil {
					lc.mu.Lock()
					lc.missed = append(lc.missed, fmt.Sprintf("the event stream ended: %v", err))
					lc.mu.Unlock()
				}
				return
			case m := <-events.Messages:
				// The platform copies the application in before it starts
				// the container, so it is still there.
				res, err := docker.ContainerInspect(ctx, m.Actor.ID, client.ContainerInspectOptions{})
				if cerrdefs.IsNotFound(err) {
					// Gone already: not one of this test's (those wait for
					// their phase), but another package's build.
					continue
				}
				lc.mu.Lock()
				if err != nil {
					lc.missed = append(lc.missed, fmt.Sprintf("inspecting %s container %s: %v", m.Actor.Attributes["dev.skiff.buildpacks.phase"], m.Actor.ID, err))
				} else {
					lc.containers = append(lc.containers, lifecycleContainer{
						phase: res.Container.Config.Labels["dev.skiff.buildpacks.phase"],
						cmd:   res.Container.Config.Cmd,
						binds: res.Container.HostConfig.Binds,
					})
				}
				lc.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return lc
}

// phasesFor returns, sorted, the phases of the containers of every
// build of images in repository (the platform creates the five phases'
// containers side by side): the container whose command names an
// image of the repository (the creator, or the analyzer and exporter),
// and those sharing its layers volume (the detector, restorer, builder).
func (lc *lifecycleContainers) phasesFor(t testing.TB, repository string) []string {
	t.Helper()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if len(lc.missed) > 0 {
		t.Fatalf("recording the lifecycle's containers: %s", strings.Join(lc.missed, "; "))
	}
	layers := map[string]bool{}
	for _, c := range lc.containers {
		if slices.ContainsFunc(c.cmd, func(arg string) bool { return strings.HasPrefix(arg, repository+":") }) {
			for _, b := range c.binds {
				if v, _, _ := strings.Cut(b, ":"); strings.HasSuffix(v, "-layers") {
					layers[v] = true
				}
			}
		}
	}
	var phases []string
	for _, c := range lc.containers {
		if slices.ContainsFunc(c.binds, func(b string) bool { v, _, _ := strings.Cut(b, ":"); return layers[v] }) {
			phases = append(phases, c.phase)
		}
	}
	slices.Sort(phases)
	return phases
}

// expectOutput fails the test for each of wants (regular expressions) the
// output does not match.
func expectOutput(t testing.TB, what, output string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !regexp.MustCompile(w).MatchString(output) {
			t.Errorf("%s: the output does not match %q:\n%s", what, w, output)
		}
	}
}

// TestBuildpacksGoExample runs the seed's buildpacks example
// (examples/buildpacks: a Go app in a Pod) with `skiff run`: the offline
// builder, trusted by default, builds it in one creator container and
// exports to the local registry; the output is the seed's (tags, the
// lifecycle's phases, "Deployments stabilized") and the Pod answers. A
// one-line change rebuilds, reusing what did not change, and the new
// version answers; an unchanged run is a cache hit and changes nothing.
func TestBuildpacksGoExample(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	registry := c.localRegistry(t)
	needBuilder(t, registry)
	docker := newDocker(t)
	lc := watchLifecycle(t, docker)
	ns := c.newNamespace(t)
	dir := buildpacksExample(t, "buildpacks")
	repo := registry + "/bp-e2e-" + randomSuffix(t)
	app := repo + "/example-basic"
	removeBuildCaches(t, docker, app)
	args := []string{"run", "-n", ns, "--default-repo", repo, "--cache-file", filepath.Join(t.TempDir(), "cache")}

	_, stderr, err := skiff(t, dir, args...)
	if err != nil {
		t.Fatalf("skiff run: %v\n%s", err, stderr)
	}
	expectOutput(t, "first run", stderr,
		`(?m)^Generating tags\.\.\.\n - example-basic -> `+regexp.QuoteMeta(app)+`:[0-9a-f]{7,}\n`,
		`(?m)^ - example-basic: Not found\. Building$`,
		`(?m)^Building \[example-basic\]\.\.\.$`,
		`(?m)^\[example-basic\] \[analyzer\] `,
		`(?m)^\[example-basic\] \[detector\] skiff/go 0\.1\.0$`,
		`(?m)^\[example-basic\] \[builder\] skiff/go: go build `,
		`(?m)^\[example-basic\] \[exporter\] \*\*\* Images \(sha256:[0-9a-f]{64}\):$`,
		`(?m)^Tags used in deployment:\n - example-basic -> `+regexp.QuoteMeta(app)+`:[0-9a-f]{7,}@sha256:[0-9a-f]{64}$`,
		`(?m)^Starting deploy\.\.\.\n - pod/example-basic created$`,
		`(?m)^Deployments stabilized in `,
	)
	if got := lc.phasesFor(t, app); !slices.Equal(got, []string{"creator"}) {
		t.Errorf("the trusted builder ran the containers %v, want one creator", got)
	}
	c.expectAnswer(t, ns, "example-basic", 8080, "Hello, World!\n")
	first := c.podImage(t, ns, "example-basic")

	editFile(t, dir, "main.go", `"Hello, World!"`, `"Hello, skiff!"`)
	_, stderr, err = skiff(t, dir, args...)
	if err != nil {
		t.Fatalf("skiff run after a one-line change: %v\n%s", err, stderr)
	}
	expectOutput(t, "run after a one-line change", stderr,
		`(?m)^ - example-basic -> `+regexp.QuoteMeta(app)+`:[0-9a-f]{7,}-dirty\n`,
		`(?m)^\[example-basic\] \[analyzer\] Restoring`,
		`(?m)^\[example-basic\] \[builder\] skiff/go: go build `,
		`(?m)^\[example-basic\] \[exporter\] Reusing layer 'buildpacksio/lifecycle:launcher'$`,
		`(?m)^Deployments stabilized in `,
	)
	waitFor(t, 3*time.Minute, "pod example-basic to run the new image", func(ctx context.Context) (bool, string, error) {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, "example-basic", metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.Ready && p.Spec.Containers[0].Image != first && strings.HasSuffix(s.ImageID, digestOf(p.Spec.Containers[0].Image)) {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("image %s, statuses %+v", p.Spec.Containers[0].Image, p.Status.ContainerStatuses), nil
	})
	c.expectAnswer(t, ns, "example-basic", 8080, "Hello, skiff!\n")
	second := c.podImage(t, ns, "example-basic")

	_, stderr, err = skiff(t, dir, args...)
	if err != nil {
		t.Fatalf("unchanged skiff run: %v\n%s", err, stderr)
	}
	expectOutput(t, "unchanged run", stderr, `(?m)^ - example-basic: Found in cache, not rebuilt$`)
	if strings.Contains(stderr, "Building [") {
		t.Errorf("the unchanged run built:\n%s", stderr)
	}
	if got := c.podImage(t, ns, "example-basic"); got != second {
		t.Errorf("the unchanged run changed the pod's image from %s to %s", second, got)
	}
	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
}

// podImage returns the image of a pod's first container.
func (c *cluster) podImage(t testing.TB, namespace, pod string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := c.client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pod %s/%s: %v", namespace, pod, err)
	}
	return p.Spec.Containers[0].Image
}

// digestOf returns the sha256:... of a reference pinned by digest.
func digestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

var serviceForwardURL = regexp.MustCompile(`Port forwarding service/web\b.*-> http://(\S+)`)

// TestBuildpacksNodeExample runs examples/buildpacks-node with `skiff run
// --port-forward --tail`: the skiff/nodejs buildpack builds it, the web
// Service answers through skiff's forward and the app's log arrives. A
// one-line change rebuilds reusing the node layer, and the new version
// rolls out and answers.
func TestBuildpacksNodeExample(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	registry := c.localRegistry(t)
	needBuilder(t, registry)
	docker := newDocker(t)
	ns := c.newNamespace(t)
	dir := buildpacksExample(t, "buildpacks-node")
	repo := registry + "/bp-e2e-" + randomSuffix(t)
	app := repo + "/example-node"
	removeBuildCaches(t, docker, app)
	cache := filepath.Join(t.TempDir(), "cache")

	r := skiffBackground(t, dir, "run", "-n", ns, "--default-repo", repo, "--cache-file", cache, "--port-forward", "--tail")
	addr := r.waitFor(t, 5*time.Minute, serviceForwardURL)
	expectOutput(t, "first run", r.errOut.String(),
		`(?m)^\[example-node\] \[detector\] skiff/nodejs 0\.1\.0$`,
		`(?m)^\[example-node\] \[exporter\] Adding layer 'skiff/nodejs:node'$`,
		`(?m)^Deployments stabilized in `,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	waitFor(t, time.Minute, "the web Service to answer through skiff's forward", func(ctx context.Context) (bool, string, error) {
		got, err := httpGet(ctx, "http://"+addr+"/")
		if err != nil {
			return false, err.Error(), nil
		}
		return got == "Hello from Node.js!\n", got, nil
	})
	waitFor(t, time.Minute, "the app's log line", func(context.Context) (bool, string, error) {
		return strings.Contains(r.out.String(), "listening on :3000"), r.out.String(), nil
	})
	if err := r.stop(t); err != nil {
		t.Fatalf("skiff run after Ctrl-C: %v\n%s", err, r.errOut)
	}

	editFile(t, dir, "server.js", `"Hello from Node.js!\n"`, `"Hello again from Node.js!\n"`)
	_, stderr, err := skiff(t, dir, "run", "-n", ns, "--default-repo", repo, "--cache-file", cache)
	if err != nil {
		t.Fatalf("skiff run after a one-line change: %v\n%s", err, stderr)
	}
	expectOutput(t, "run after a one-line change", stderr,
		`(?m)^ - example-node -> `+regexp.QuoteMeta(app)+`:[0-9a-f]{7,}-dirty\n`,
		`(?m)^\[example-node\] \[exporter\] Reusing layer 'skiff/nodejs:node'$`,
	)
	d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := c.waitRolledOut(t, ns, "web", d.Spec.Template.Spec.Containers[0].Image)
	c.expectAnswer(t, ns, pod, 3000, "Hello again from Node.js!\n")
	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
}

// untrustedBuilder copies the offline builder, in the registry, to another
// repository: the same builder under a reference skiff does not trust.
func untrustedBuilder(t testing.TB, registry string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := image.NewRegistry(nil)
	img, err := reg.Image(ctx, offlineBuilder+":latest", nil)
	if err != nil {
		t.Fatalf("reading the offline builder: %v", err)
	}
	ref := registry + "/skiff-e2e/untrusted-builder:latest"
	if _, err := reg.Push(ctx, ref, img); err != nil {
		t.Fatalf("copying the offline builder to %s: %v", ref, err)
	}
	return ref
}

// TestBuildpacksFlows builds the seed's Go app through the CLI with the
// builder trusted and not, exporting to the registry (then pulled by the
// docker deployer) and into the Docker daemon (build.local.push: false),
// and runs it with the docker deployer: each answers on loopback. An
// untrusted builder (the offline builder under another repository) runs
// the lifecycle as five containers, a trusted one as one creator.
func TestBuildpacksFlows(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	registry := c.localRegistry(t)
	needBuilder(t, registry)
	docker := newDocker(t)
	lc := watchLifecycle(t, docker)
	untrusted := untrustedBuilder(t, registry)
	src, err := os.ReadFile("../../examples/buildpacks/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		builder string
		trust   bool
		push    bool
		phases  []string
	}{
		{"untrusted builder, registry", untrusted, false, true, []string{"analyzer", "builder", "detector", "exporter", "restorer"}},
		{"untrusted builder, daemon", untrusted, false, false, []string{"analyzer", "builder", "detector", "exporter", "restorer"}},
		{"trustBuilder, daemon", untrusted, true, false, []string{"creator"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := "bp-flow-" + randomSuffix(t)
			port := testutil.FreePort(t)
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{
				"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + name + `
build:
  tagPolicy: {inputDigest: {}}
  local: {push: ` + fmt.Sprint(tc.push) + `}
  artifacts:
  - image: ` + name + `
    context: app
    buildpacks:
      builder: ` + tc.builder + `
      trustBuilder: ` + fmt.Sprint(tc.trust) + `
deploy:
  docker:
    images: [` + name + `]
portForward:
- resourceType: container
  resourceName: ` + name + `
  port: 8080
  localPort: ` + fmt.Sprint(port) + `
`,
				"app/go.mod":  "module example.com/example-basic\n\ngo 1.25.0\n",
				"app/main.go": string(src),
			})
			app := registry + "/" + name
			removeBuildCaches(t, docker, app)
			t.Cleanup(func() {
				if _, stderr, err := skiff(t, dir, "delete", "--default-repo", registry); err != nil {
					t.Errorf("skiff delete at cleanup: %v\n%s", err, stderr)
				}
			})
			buildFile := filepath.Join(t.TempDir(), "build.json")
			_, stderr, err := skiff(t, dir, "build", "--default-repo", registry, "--cache-artifacts=false", "--file-output", buildFile)
			if err != nil {
				t.Fatalf("skiff build: %v\n%s", err, stderr)
			}
			ref := readBuilds(t, buildFile)[name]
			t.Cleanup(func() { docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}) })
			if got := lc.phasesFor(t, app); !slices.Equal(got, tc.phases) {
				t.Errorf("the lifecycle ran the containers %v, want %v", got, tc.phases)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if tc.push {
				ok, err := registryHasManifest(ctx, registry, ref)
				if err != nil || !ok {
					t.Errorf("%s is not in the registry (%v)", ref, err)
				}
			} else {
				if _, err := docker.ImageInspect(ctx, ref); err != nil {
					t.Errorf("%s is not in the Docker daemon: %v", ref, err)
				}
			}
			_, stderr, err = skiff(t, dir, "run", "--default-repo", registry, "--cache-artifacts=false")
			if err != nil {
				t.Fatalf("skiff run: %v\n%s", err, stderr)
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)
			waitFor(t, time.Minute, "the container to answer on "+url, func(ctx context.Context) (bool, string, error) {
				got, err := httpGet(ctx, url)
				if err != nil {
					return false, err.Error(), nil
				}
				return got == "Hello, World!\n", got, nil
			})
		})
	}
}

// TestBuildpacksFailures: a project no buildpack detects, a Go app that
// does not compile and a builder that is not there fail `skiff build`
// with errors that say what failed and what to do.
func TestBuildpacksFailures(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	registry := c.localRegistry(t)
	needBuilder(t, registry)
	docker := newDocker(t)
	missing := registry + "/skiff-e2e/no-such-builder:" + randomSuffix(t)
	for _, tc := range []struct {
		name    string
		builder string
		files   map[string]string
		wants   []string
	}{
		{"nothing detects", offlineBuilder, map[string]string{"README.md": "no application here\n"}, []string{
			`building artifact "bp-fail-[0-9a-f]+": no buildpack group passed detection; groups tried:`,
			`\n  group 1:\n    skiff/go@0\.1\.0: fail`,
			`\n  group 2:\n    skiff/nodejs@0\.1\.0: fail`,
			`check that the artifact's context holds the application these buildpacks build \(go\.mod, package\.json, \.\.\.\)`,
		}},
		{"Go does not compile", offlineBuilder, map[string]string{
			"go.mod":  "module example.com/broken\n\ngo 1.25.0\n",
			"main.go": "package main\n\nfunc main() { undefinedCall() }\n",
		}, []string{
			`building artifact "bp-fail-[0-9a-f]+": buildpack skiff/go@0\.1\.0 failed to build; its last output lines:`,
			`undefined: undefinedCall`,
			`fix the application \(or the buildpack\) and build again`,
		}},
		{"builder not there", missing, map[string]string{"go.mod": "module example.com/app\n"}, []string{
			`the builder image ` + regexp.QuoteMeta(missing) + ` is not in the Docker daemon and cannot be pulled: `,
			`make builder pushes skiff's offline builder to the local registry`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := "bp-fail-" + randomSuffix(t)
			dir := t.TempDir()
			files := map[string]string{"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: ` + name + `
    context: app
    buildpacks:
      builder: ` + tc.builder + `
`}
			for f, content := range tc.files {
				files["app/"+f] = content
			}
			writeTree(t, dir, files)
			removeBuildCaches(t, docker, registry+"/"+name)
			_, stderr, err := skiff(t, dir, "build", "--cache-artifacts=false")
			if err == nil {
				t.Fatalf("skiff build succeeded:\n%s", stderr)
			}
			t.Logf("skiff build: %v", err)
			expectOutput(t, "the error", err.Error(), tc.wants...)
		})
	}
}
