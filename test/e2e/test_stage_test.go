//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// TestBuildRunsCustomTests builds an image and runs its custom test on it
// (the test reads IMAGE); a failing test fails skiff build, and
// --skip-tests skips it.
func TestBuildRunsCustomTests(t *testing.T) {
	newCluster(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: e2e-tested
test:
- image: e2e-tested
  custom:
  - command: echo "$IMAGE" > seen
  - command: test ! -f fail
    timeoutSeconds: 60
`,
		"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n",
		"a.txt":      randomSuffix(t) + "\n",
	})
	builds := filepath.Join(t.TempDir(), "builds.json")
	if _, stderr, err := skiff(t, dir, "build", "--file-output", builds); err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	seen, err := os.ReadFile(filepath.Join(dir, "seen"))
	if err != nil {
		t.Fatalf("the custom test did not run: %v", err)
	}
	if tag := readBuilds(t, builds)["e2e-tested"]; strings.TrimSpace(string(seen)) != tag {
		t.Errorf("the test saw IMAGE=%q, want the built %q", seen, tag)
	}
	writeTree(t, dir, map[string]string{"fail": ""})
	_, stderr, err := skiff(t, dir, "build")
	if err == nil || !strings.Contains(err.Error(), "custom[1] (test ! -f fail): the command exited with 1") {
		t.Errorf("a failing test: %v\n%s", err, stderr)
	}
	if _, stderr, err := skiff(t, dir, "build", "--skip-tests"); err != nil {
		t.Errorf("skiff build --skip-tests ran the failing test: %v\n%s", err, stderr)
	}
}

// TestStructureTestsOnAPushedImage builds and pushes an image to the
// cluster's registry, removes the daemon's copy, and runs skiff test:
// container-structure-test runs on the image pulled back into the daemon,
// named by its digest, with the config's files and arguments. The program
// is a stand-in that records its arguments: container-structure-test
// itself is not served by the Go module proxy this project builds its
// tools from.
func TestStructureTestsOnAPushedImage(t *testing.T) {
	c := newCluster(t)
	registry := c.localRegistry(t)
	docker := newDocker(t)
	bin, dir := t.TempDir(), t.TempDir()
	calls := filepath.Join(bin, "calls")
	fake := "#!/bin/sh\necho \"$*\" >> " + calls + "\n"
	if err := os.WriteFile(filepath.Join(bin, "container-structure-test"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: e2e-structure
test:
- image: e2e-structure
  structureTests: [./st.yaml]
  structureTestsArgs: [--no-color]
`,
		"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n",
		"a.txt":      randomSuffix(t) + "\n",
		"st.yaml":    "schemaVersion: 2.0.0\nfileExistenceTests:\n- name: a\n  path: /a.txt\n",
	})
	builds := filepath.Join(t.TempDir(), "builds.json")
	if _, stderr, err := skiff(t, dir, "build", "--push", "--default-repo", registry, "--skip-tests", "--cache-artifacts=false", "--file-output", builds); err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	ref := readBuilds(t, builds)["e2e-structure"]
	repoTag, digest, ok := strings.Cut(ref, "@")
	if !ok {
		t.Fatalf("the pushed image %q has no digest", ref)
	}
	repo := repoTag[:strings.LastIndex(repoTag, ":")]
	ctx := context.Background()
	for _, r := range []string{repoTag, repo + "@" + digest} {
		_, _ = docker.ImageRemove(ctx, r, client.ImageRemoveOptions{Force: true})
	}
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), repo+"@"+digest, client.ImageRemoveOptions{Force: true})
	})
	if _, err := docker.ImageInspect(ctx, repo+"@"+digest); err == nil {
		t.Fatalf("the daemon still has %s@%s", repo, digest)
	}
	_, stderr, err := skiff(t, dir, "test", "-a", builds)
	if err != nil {
		t.Fatalf("skiff test: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "pulling "+repo+"@"+digest) {
		t.Errorf("skiff test did not pull the image into the daemon:\n%s", stderr)
	}
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatalf("container-structure-test did not run: %v", err)
	}
	if want := "test -v warn --image " + repo + "@" + digest + " --config " + filepath.Join(dir, "st.yaml") + " --no-color\n"; string(got) != want {
		t.Errorf("container-structure-test ran with\n%s\nwant\n%s", got, want)
	}
	if _, err := docker.ImageInspect(ctx, repo+"@"+digest); err != nil {
		t.Errorf("the daemon has not the image container-structure-test was given: %v", err)
	}
}

// TestDevRunsTestsAgain: skiff dev tests the image it builds; a change to
// the test's dependencies (dependencies.paths) runs the test again, with
// no build; a failing test is reported and dev goes on; a rebuilt image
// whose test fails is not deployed until the test passes. The test
// command writes a line on the host each time it runs.
func TestDevRunsTestsAgain(t *testing.T) {
	newCluster(t)
	dir := t.TempDir()
	runs := filepath.Join(t.TempDir(), "runs")
	image := "e2e-retested-" + randomSuffix(t)
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  local: {push: false}
  artifacts:
  - image: ` + image + `
    context: app
test:
- image: ` + image + `
  context: tests
  custom:
  - command: echo "$IMAGE" >> ` + runs + `; sh check.sh
    dependencies:
      paths: [check.sh]
`,
		"app/Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n",
		"app/a.txt":      randomSuffix(t) + "\n",
		"tests/check.sh": "exit 0\n",
	})
	lines := func() []string {
		b, err := os.ReadFile(runs)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
	r := devBackground(t, dir, "default")
	if got := lines(); len(got) != 1 || !strings.HasPrefix(got[0], image+":") {
		t.Fatalf("the first build's test ran %d times (%q), want once on %s\n%s", len(got), got, image, r.errOut)
	}

	m := r.mark()
	writeTree(t, dir, map[string]string{"tests/check.sh": "echo broken; exit 3\n"})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Tests of `+image+` failed: .*the command exited with 3`))
	if got := lines(); len(got) != 2 || got[1] != got[0] {
		t.Errorf("after the test changed, test runs %q, want a second on the same image", got)
	}
	if strings.Contains(r.errOut.String()[m:], "Rebuilt") {
		t.Errorf("a change to a test's dependency rebuilt the image:\n%s", r.errOut.String()[m:])
	}

	m = r.mark()
	writeTree(t, dir, map[string]string{"app/a.txt": randomSuffix(t) + "\n"})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Rebuilt `+image+` in .*; the tests failed: .*\nNot deploying until they pass`))
	got := lines()
	if len(got) != 3 || got[2] == got[0] {
		t.Errorf("after the rebuild, test runs %q, want a third on the new image", got)
	}

	m = r.mark()
	writeTree(t, dir, map[string]string{"tests/check.sh": "exit 0\n"})
	r.waitSince(t, m, devStepTimeout, regexp.MustCompile(`Redeployed in `))
	if after := lines(); len(after) != 4 || after[3] != got[2] {
		t.Errorf("after the fix, test runs %q, want a fourth on the rebuilt image", after)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("skiff dev after Ctrl-C: %v\n%s", err, r.errOut)
	}
}
