package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeanEngineHandsHelmToTheFullEngine builds the engine as make build
// does, lean (without Helm) and full, and checks that the lean one links
// neither Helm nor client-go's clientset, informers and discovery (which
// register every API group), renders raw YAML and kustomize projects
// itself and runs the command line of a Helm project in
// skiff-engine-full, next to it, or says how to get it when it is
// missing.
func TestLeanEngineHandsHelmToTheFullEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two engines")
	}
	deps, err := exec.Command("go", "list", "-deps", "-tags", "lean", "skiff.dev/skiff/cmd/skiff-engine").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, deps)
	}
	for _, pkg := range strings.Fields(string(deps)) {
		for _, heavy := range []string{"helm.sh/", "k8s.io/client-go/kubernetes", "k8s.io/client-go/informers", "k8s.io/client-go/discovery"} {
			if strings.HasPrefix(pkg, heavy) {
				t.Errorf("the lean engine links %s", pkg)
			}
		}
	}

	dir := t.TempDir()
	lean, full := filepath.Join(dir, "skiff-engine"), filepath.Join(dir, "skiff-engine-full")
	for bin, tags := range map[string]string{lean: "lean", full: ""} {
		if out, err := exec.Command("go", "build", "-tags", tags, "-o", bin, "skiff.dev/skiff/cmd/skiff-engine").CombinedOutput(); err != nil {
			t.Fatalf("go build -tags %q: %v\n%s", tags, err, out)
		}
	}
	write := func(root, name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n"
	raw, kz := t.TempDir(), t.TempDir()
	write(raw, "skaffold.yaml", "apiVersion: skaffold/v4beta11\nkind: Config\nmetadata:\n  name: raw\nmanifests:\n  rawYaml: [cm.yaml]\n")
	write(raw, "cm.yaml", cm)
	write(kz, "skaffold.yaml", "apiVersion: skaffold/v4beta11\nkind: Config\nmetadata:\n  name: kz\nmanifests:\n  kustomize:\n    paths: [k]\n")
	write(kz, "k/kustomization.yaml", "resources: [cm.yaml]\nnamePrefix: kz-\n")
	write(kz, "k/cm.yaml", cm)
	chart := t.TempDir()
	write(chart, "skaffold.yaml", "apiVersion: skaffold/v4beta11\nkind: Config\nmetadata:\n  name: chart\nmanifests:\n  helm:\n    releases:\n    - name: web\n      chartPath: chart\n")
	write(chart, "chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
	write(chart, "chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  k: v\n")
	render := func(project string) (string, string, error) {
		cmd := exec.Command(lean, "render", "--offline", "--digest-source=none")
		cmd.Dir, cmd.Env = project, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	if out, errOut, err := render(chart); err != nil || !strings.Contains(out, "name: web-cm") {
		t.Errorf("lean engine, Helm project: %v\n%s%s\nwant the chart's ConfigMap, rendered by skiff-engine-full", err, out, errOut)
	}

	// Without the full engine: raw YAML and kustomize still render, Helm
	// says what is missing.
	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := render(raw); err != nil || !strings.Contains(out, "name: cm") {
		t.Errorf("lean engine alone, raw YAML project: %v\n%s%s\nwant the ConfigMap", err, out, errOut)
	}
	if out, errOut, err := render(kz); err != nil || !strings.Contains(out, "name: kz-cm") {
		t.Errorf("lean engine alone, kustomize project: %v\n%s%s\nwant the ConfigMap as kustomize names it", err, out, errOut)
	}
	if _, errOut, err := render(chart); err == nil || !strings.Contains(errOut, "skaffold.yaml: manifests.helm needs "+full) || !strings.Contains(errOut, "make build") {
		t.Errorf("lean engine alone, Helm project: %v\n%s\nwant an error naming manifests.helm, %s and make build", err, errOut, full)
	}
}
