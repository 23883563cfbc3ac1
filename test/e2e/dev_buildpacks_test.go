//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The buildpacks dev-mode tests build with skiff's offline builder (make
// builder) pushed to the local registry, or the one SKIFF_E2E_BUILDER
// names (e.g. one made with SKIFF_BUILDER_PREFIX=mine make builder). Their
// images have fixed names, so that a rerun finds the lifecycle's cache
// volumes warm.

// e2eBuilder is the builder the buildpacks dev-mode tests use.
func e2eBuilder() string {
	if b := os.Getenv("SKIFF_E2E_BUILDER"); b != "" {
		return b
	}
	return "127.0.0.1:5001/skiff/builder"
}

// waitOut waits until what the command printed on stdout (the
// containers' logs) after mark matches re, and returns the offset just
// after the match.
func (r *running) waitOut(t testing.TB, mark int, timeout time.Duration, re *regexp.Regexp) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if loc := re.FindStringIndex(r.out.String()[mark:]); loc != nil {
			return mark + loc[1]
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("skiff dev ended (%v) before logging %q\nstderr:\n%s\nstdout:\n%s", err, re, r.errOut, r.out)
		case <-deadline:
			t.Fatalf("the logs did not say %q within %s\nstderr:\n%s\nstdout after the change:\n%s", re, timeout, r.errOut, r.out.String()[mark:])
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outMark is where the command's stdout ends now.
func (r *running) outMark() int { return len(r.out.String()) }

// noRebuildSince fails the test when skiff built an image after mark.
func (r *running) noRebuildSince(t testing.TB, mark int) {
	t.Helper()
	if after := r.errOut.String()[mark:]; strings.Contains(after, "Building [") || strings.Contains(after, "Rebuilt") {
		t.Errorf("a synced change rebuilt the image:\n%s", after)
	}
}

// TestDevBuildpacksGoSync is the seed's file-sync example on skiff's
// builder: the Go buildpack builds in development mode and declares
// **/*.go -> /workspace; editing main.go to "Hello moon!" shows in the
// logs with no image rebuild; a new .go file is synced and built in; its
// deletion is synced and the app is rebuilt without it.
func TestDevBuildpacksGoSync(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/buildpacks-sync")); err != nil {
		t.Fatal(err)
	}
	image := "skiff-e2e/bp-sync-go"
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": bpDevConfig(image, e2eBuilder(), "k8s-pod.yaml"),
		"k8s-pod.yaml":  strings.Replace(readFile(t, filepath.Join(dir, "k8s-pod.yaml")), "image: example-file-sync", "image: "+image, 1),
	})
	r := devBackground(t, dir, ns, "--tail")
	if !strings.Contains(r.errOut.String(), image+": syncing **/*.go to /workspace, the rules its image declares in the label dev.skiff.sync") {
		t.Errorf("skiff dev did not say where the sync rules came from:\n%s", r.errOut)
	}
	r.waitOut(t, 0, devStepTimeout, regexp.MustCompile(`Hello world!`))
	start := r.mark()

	m, o := r.mark(), r.outMark()
	writeTree(t, dir, map[string]string{"main.go": strings.Replace(readFile(t, filepath.Join(dir, "main.go")),
		"\tfor {\n\t\tfmt.Println(\"Hello world!\")", "\tfor {\n\t\tfmt.Println(msg)", 1) + "\nvar msg = \"Hello moon!\"\n"})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Synced 1 file to 1 pod in `))
	r.waitOut(t, o, devStepTimeout, regexp.MustCompile(`Hello moon!`))

	m, o = r.mark(), r.outMark()
	writeTree(t, dir, map[string]string{"extra.go": "package main\n\nfunc init() { msg = \"Hello from extra.go!\" }\n"})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Synced 1 file to 1 pod in `))
	r.waitOut(t, o, devStepTimeout, regexp.MustCompile(`Hello from extra\.go!`))

	m = r.mark()
	if err := os.Remove(filepath.Join(dir, "extra.go")); err != nil {
		t.Fatal(err)
	}
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Synced 1 deletion to 1 pod in `))
	// The app restarts built without extra.go: it says "Hello moon!" again
	// after the watcher says it restarted.
	o = r.waitOut(t, r.outMark(), devStepTimeout, regexp.MustCompile(`skiff-watch: restarted `))
	r.waitOut(t, o, devStepTimeout, regexp.MustCompile(`Hello moon!`))
	r.noRebuildSince(t, start)
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevBuildpacksNodeSync: the Node.js buildpack's development image
// restarts the server when a synced .js file changes; the edit is served
// with no image rebuild.
func TestDevBuildpacksNodeSync(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/buildpacks-node")); err != nil {
		t.Fatal(err)
	}
	image := "skiff-e2e/bp-sync-node"
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": bpDevConfig(image, e2eBuilder(), "k8s/*.yaml"),
		"k8s/web.yaml":  strings.Replace(readFile(t, filepath.Join(dir, "k8s", "web.yaml")), "image: example-node", "image: "+image, 1),
	})
	r := devBackground(t, dir, ns)
	pods := c.waitReady(t, ns, "app=web", 1)
	forwards := c.forwardEach(t, ns, pods, 3000)
	expectServed(t, forwards, "/", "Hello from Node.js!\n")
	start := r.mark()
	writeTree(t, dir, map[string]string{"server.js": strings.Replace(readFile(t, filepath.Join(dir, "server.js")), "Hello from Node.js!", "Hello from skiff dev!", 1)})
	r.waitSince(t, start, devStepTimeout, regexp.MustCompile(`Synced 1 file to 1 pod in `))
	expectServed(t, forwards, "/", "Hello from skiff dev!\n")
	r.noRebuildSince(t, start)
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevBuildpacksRulesOfTestBuildpacks builds with small test
// buildpacks (project.toml's group, on skiff's builder): one declares no
// sync rules, so a change rebuilds and skiff says why once; one declares
// them as Google's buildpacks did, a legacy [[bom]] devmode.sync entry,
// which the current lifecycle puts in the SBOM layer, and the change is
// synced.
func TestDevBuildpacksRulesOfTestBuildpacks(t *testing.T) {
	for _, tc := range []struct {
		name, bom string
		legacy    bool
	}{
		{name: "no-rules"},
		{name: "legacy-bom", legacy: true, bom: `
[[bom]]
name = "devmode"
[bom.metadata]
"devmode.sync" = [{src = "*.txt", dest = "/workspace"}]
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			ns := c.newNamespace(t)
			dir := t.TempDir()
			image := "skiff-e2e/bp-rules-" + tc.name
			writeTree(t, dir, map[string]string{
				"skaffold.yaml":     bpDevConfig(image, e2eBuilder(), "pod.yaml"),
				"pod.yaml":          "apiVersion: v1\nkind: Pod\nmetadata:\n  name: msg\nspec:\n  containers:\n  - name: msg\n    image: " + image + "\n",
				"msg.txt":           "message one\n",
				"project.toml":      "[_]\nschema-version = \"0.2\"\nid = \"e2e\"\n\n[io.buildpacks]\nexclude = [\"bp/\"]\n\n[[io.buildpacks.group]]\nuri = \"./bp\"\n",
				"bp/buildpack.toml": "api = \"0.12\"\n\n[buildpack]\nid = \"e2e/" + tc.name + "\"\nversion = \"0.0.1\"\n\n[[targets]]\nos = \"linux\"\narch = \"amd64\"\n",
				"bp/bin/detect":     "#!/bin/bash\n[ -f msg.txt ]\n",
				"bp/bin/build": "#!/bin/bash\nset -e\ncat >\"$CNB_LAYERS_DIR/launch.toml\" <<'TOML'\n" +
					"[[processes]]\ntype = \"web\"\ncommand = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while true; do cat /workspace/msg.txt; sleep 1; done\"]\ndefault = true\n" +
					tc.bom + "TOML\n",
			})
			for _, f := range []string{"bp/bin/detect", "bp/bin/build"} {
				if err := os.Chmod(filepath.Join(dir, f), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			r := devBackground(t, dir, ns, "--tail")
			r.waitOut(t, 0, devStepTimeout, regexp.MustCompile(`message one`))
			m, o := r.mark(), r.outMark()
			writeTree(t, dir, map[string]string{"msg.txt": "message two\n"})
			if tc.legacy {
				if !strings.Contains(r.errOut.String(), image+": syncing *.txt to /workspace, the rules its image declares in the legacy BOM (devmode.sync) in the SBOM layer's sbom/launch/sbom.legacy.json") {
					t.Errorf("skiff dev did not say it found the legacy rules in the SBOM layer:\n%s", r.errOut)
				}
				r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Synced 1 file to 1 pod in `))
				r.waitOut(t, o, devStepTimeout, regexp.MustCompile(`message two`))
				r.noRebuildSince(t, m)
			} else {
				if n := strings.Count(r.errOut.String(), image+": the buildpacks declared no sync rules; rebuilding on changes"); n != 1 {
					t.Errorf("skiff dev said %d times that the image declares no rules, want once:\n%s", n, r.errOut)
				}
				r.waitSince(t, m, devStepTimeout, rebuiltLine)
				r.waitOut(t, o, devStepTimeout, regexp.MustCompile(`message two`))
				if n := strings.Count(r.errOut.String(), "declared no sync rules"); n != 1 {
					t.Errorf("after the rebuild, skiff dev said %d times that the image declares no rules, want once:\n%s", n, r.errOut)
				}
			}
			c.stopAndCheckCleanup(t, r, ns)
		})
	}
}

// bpDevConfig is the skaffold.yaml of a buildpacks artifact image built by
// builder (sync.auto by default), deployed from the rawYaml manifests.
func bpDevConfig(image, builder, manifests string) string {
	return `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: ` + image + `
    buildpacks:
      builder: ` + builder + `
manifests:
  rawYaml:
  - ` + manifests + `
deploy:
  kubectl: {}
`
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
