//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
