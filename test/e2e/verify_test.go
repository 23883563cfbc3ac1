//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyRunsContainersToCompletion builds an image with a shell, then
// skiff verify runs the verify containers on the Docker Engine: their
// output is shown under their names, and the one that exits 3 fails the
// command with its code while the others still run, as does the one that
// outlives its timeout.
func TestVerifyRunsContainersToCompletion(t *testing.T) {
	newCluster(t)
	busybox, err := lookBusyboxE2E()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: e2e-verifier
verify:
- name: greets
  container:
    name: greets
    image: e2e-verifier
    command: ["/bin/busybox", "sh", "-c"]
    args: ["echo verified $GREETING"]
    env:
    - name: GREETING
      value: hello
- name: fails
  container:
    name: fails
    image: e2e-verifier
    command: ["/bin/busybox", "sh", "-c", "echo failing; exit 3"]
- name: after
  container:
    name: after
    image: e2e-verifier
    command: ["/bin/busybox", "echo", "still ran"]
- name: slow
  timeout: 1
  container:
    name: slow
    image: e2e-verifier
    command: ["/bin/busybox", "sleep", "30"]
`,
		"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\n",
	})
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	builds := filepath.Join(t.TempDir(), "builds.json")
	if _, stderr, err := skiff(t, dir, "build", "--file-output", builds); err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	_, stderr, err := skiff(t, dir, "verify", "-a", builds)
	if err == nil || !strings.Contains(err.Error(), "verify[1] (fails): fails exited with code 3") || !strings.Contains(err.Error(), "verify[3] (slow): slow still ran after its timeout of 1s") || strings.Contains(err.Error(), "greets") {
		t.Errorf("skiff verify: %v, want the failing test's exit code and the slow test's timeout\n%s", err, stderr)
	}
	for _, want := range []string{"[verify greets] verified hello\n", "[verify fails] failing\n", "[verify after] still ran\n", "Verify test greets passed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("skiff verify's output lacks %q:\n%s", want, stderr)
		}
	}
}

// TestExecRunsCustomAction runs a custom action's containers at once: the
// one that fails stops the other (failFast), and only its failure is
// reported; an action without failures succeeds.
func TestExecRunsCustomAction(t *testing.T) {
	newCluster(t)
	busybox, err := lookBusyboxE2E()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: e2e-actor
customActions:
- name: ok
  containers:
  - name: one
    image: e2e-actor
    command: ["/bin/busybox", "sh", "-c", "echo one $WHO"]
    env:
    - name: WHO
      value: ran
  - name: two
    image: e2e-actor
    command: ["/bin/busybox", "echo", "two ran"]
- name: broken
  containers:
  - name: fails
    image: e2e-actor
    command: ["/bin/busybox", "sh", "-c", "exit 4"]
  - name: waits
    image: e2e-actor
    command: ["/bin/busybox", "sleep", "60"]
`,
		"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\n",
	})
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	builds := filepath.Join(t.TempDir(), "builds.json")
	if _, stderr, err := skiff(t, dir, "build", "--file-output", builds); err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	_, stderr, err := skiff(t, dir, "exec", "ok", "-a", builds)
	if err != nil {
		t.Fatalf("skiff exec ok: %v\n%s", err, stderr)
	}
	for _, want := range []string{"[one] one ran\n", "[two] two ran\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("skiff exec ok's output lacks %q:\n%s", want, stderr)
		}
	}
	_, stderr, err = skiff(t, dir, "exec", "broken", "-a", builds)
	if err == nil || !strings.Contains(err.Error(), "container fails: fails exited with code 4") || strings.Contains(err.Error(), "waits") {
		t.Errorf("skiff exec broken: %v, want only the failing container's exit code\n%s", err, stderr)
	}
}
