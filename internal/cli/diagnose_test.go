package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiagnoseBuildpacks: for the seed's buildpacks example, diagnose
// names the builder, its builder image and the files the artifact depends
// on, and lists nothing as unsupported; a runImage is shown too.
func TestDiagnoseBuildpacks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/buildpacks")); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, nil, "diagnose", "-f", filepath.Join(dir, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// README.md, go.mod, k8s-pod.yaml, main.go, skaffold.yaml: the whole
	// context, as Skaffold lists a buildpacks artifact's dependencies.
	want := "Artifact 1: example-basic\n  Builder: buildpacks\n  Builder image: 127.0.0.1:5001/skiff/builder\n  Context: " + dir + "\n  Dependencies: 5 files\n"
	if !strings.Contains(out, want) {
		t.Errorf("diagnose output lacks\n%s\nin:\n%s", want, out)
	}
	if strings.Contains(out, "Not supported") || strings.Contains(out, "Run image:") {
		t.Errorf("diagnose of the buildpacks example says more than it should:\n%s", out)
	}

	file := writeConfig(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
    buildpacks:
      builder: 127.0.0.1:5001/skiff/builder:latest
      runImage: 127.0.0.1:5001/skiff/run:latest
`)
	out, _, err = run(t, nil, "diagnose", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "  Builder image: 127.0.0.1:5001/skiff/builder:latest\n  Run image: 127.0.0.1:5001/skiff/run:latest\n"; !strings.Contains(out, want) {
		t.Errorf("diagnose output lacks\n%s\nin:\n%s", want, out)
	}
}
