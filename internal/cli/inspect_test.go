package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inspectConfig has a named and an unnamed config, profiles with build
// environments, tests, verify tests and custom actions.
const inspectConfig = `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: web
build:
  artifacts:
  - image: web
test:
- image: web
  custom:
  - command: go test ./...
    timeoutSeconds: 60
    dependencies:
      paths: ["**/*.go"]
  structureTests: [./st.yaml]
  structureTestsArgs: [--driver=tar]
deploy:
  kubectl:
    defaultNamespace: shop
verify:
- name: smoke
  container: {name: smoke, image: busybox}
  executionMode:
    kubernetesCluster:
      jobManifestPath: k8s/job.yaml
- name: local-check
  container: {name: c, image: busybox}
customActions:
- name: seed
  containers: [{name: s, image: busybox}]
profiles:
- name: gcb
  build:
    googleCloudBuild: {projectId: p}
- name: fast
  build:
    local: {concurrency: 4}
---
apiVersion: skaffold/v4beta14
kind: Config
profiles:
- name: other
`

// inspectJSON runs skiff inspect ARGS and decodes its JSON output into a
// generic value, which it also returns as compact JSON.
func inspectJSON(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := run(t, nil, append([]string{"inspect"}, args...)...)
	if err != nil {
		t.Fatalf("inspect %v: %v\n%s%s", args, err, out, stderr)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("inspect %v printed no JSON: %v\n%s", args, err, out)
	}
	compact, _ := json.Marshal(v)
	return string(compact)
}

// skiff inspect prints Skaffold's JSON shapes (pkg/skaffold/inspect).
func TestInspect(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, inspectConfig)
	abs, _ := filepath.Abs(file)
	manifest := filepath.Join(filepath.Dir(file), "rendered.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: data}
---
apiVersion: v1
kind: Service
metadata: {name: web}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"modules", "list", "-f", file}, `{"modules":[{"isRoot":true,"name":"web","path":"` + abs + `"}]}`},
		{[]string{"modules", "list", "-f", file, "-a"}, `{"modules":[{"isRoot":true,"name":"web","path":"` + abs + `"},{"isRoot":true,"name":"__config_1","path":"` + abs + `"}]}`},
		{[]string{"profiles", "list", "-f", file}, `{"profiles":[{"module":"web","name":"gcb","path":"` + abs + `"},{"module":"web","name":"fast","path":"` + abs + `"},{"name":"other","path":"` + abs + `"}]}`},
		{[]string{"profiles", "list", "-f", file, "--build-env", "googleCloudBuild"}, `{"profiles":[{"module":"web","name":"gcb","path":"` + abs + `"}]}`},
		{[]string{"build-env", "list", "-f", file}, `{"build_envs":[{"module":"web","path":"` + abs + `","type":"local"},{"path":"` + abs + `","type":"local"}]}`},
		{[]string{"build-env", "list", "-f", file, "-p", "gcb"}, `{"build_envs":[{"module":"web","path":"` + abs + `","type":"googleCloudBuild"},{"path":"` + abs + `","type":"local"}]}`},
		{[]string{"tests", "list", "-f", file}, `{"tests":[{"command":"go test ./...","dependencies":{"paths":["**/*.go"]},"testType":"custom-test","timeoutSeconds":60},{"structureTest":"` + filepath.Join(filepath.Dir(abs), "st.yaml") + `","structureTestArgs":["--driver=tar"],"testType":"structure-test"}]}`},
		{[]string{"namespaces", "list", manifest, "-f", file}, `{"resourceToInfoMap":{"apps/v1, Kind=Deployment":[{"name":"web","namespace":"shop"},{"name":"db","namespace":"data"}]}}`},
		{[]string{"jobManifestPaths", "list", "-f", file}, `{"customActionJobManifestPaths":{},"verifyJobManifestPaths":{"smoke":"k8s/job.yaml"}}`},
		{[]string{"executionModes", "list", "-f", file}, `{"customActionsExecutionModes":{"seed":"local"},"verifyExecutionModes":{"local-check":"local","smoke":"kubernetesCluster"}}`},
	} {
		if got := inspectJSON(t, tc.args...); got != tc.want {
			t.Errorf("inspect %v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
}

// A failure is printed as Skaffold's JSON error too; a format other than
// json is a usage error; what edits the config says skiff does not.
func TestInspectErrors(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, nil, "inspect", "modules", "list", "-f", "/nonexistent/skaffold.yaml")
	if err == nil || !strings.Contains(out, `"errorCode":"INSPECT_UNKNOWN_ERR"`) || !strings.Contains(out, `"errorMessage":"config file /nonexistent/skaffold.yaml`) {
		t.Errorf("a missing config: %v, stdout %q", err, out)
	}
	var usage *UsageError
	if _, _, err := run(t, nil, "inspect", "modules", "list", "--format", "yaml"); !errors.As(err, &usage) {
		t.Errorf("--format yaml: %v, want a usage error", err)
	}
	var missing *NotInSkiffError
	if _, _, err := run(t, nil, "inspect", "build-env", "add", "local", "--profile", "x", "--push"); !errors.As(err, &missing) {
		t.Errorf("build-env add: %v, want a *NotInSkiffError", err)
	}
	if _, _, err := run(t, nil, "inspect", "namespaces", "list"); !errors.As(err, &usage) {
		t.Errorf("namespaces list without a file: %v, want a usage error", err)
	}
}

// skiff lint reports unsupported features as warnings (exit 0) and an
// invalid config as an error with its position (exit 1), as text or JSON.
func TestLint(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: app\n    bazel:\n      target: //:app.tar\n")
	out, _, err := run(t, nil, "lint", "-f", file, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var results []lintResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("lint --format json: %v\n%s", err, out)
	}
	if len(results) == 0 || results[0].Rule.RuleID != "SKIFF-UNSUPPORTED" || len(results) != 1 || results[0].StartLine != 7 || !strings.Contains(results[0].Explanation, "bazel") {
		t.Errorf("lint of a bazel artifact: %+v", results)
	}
	bad := writeConfig(t, "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifactz: []\n")
	out, _, err = run(t, nil, "lint", "-f", bad)
	if err == nil || !strings.Contains(out, bad+":4:3: SKIFF-CONFIG-INVALID:") || !strings.Contains(out, "artifactz") {
		t.Errorf("lint of an invalid config: %v\n%s", err, out)
	}
	clean := writeConfig(t, "apiVersion: skaffold/v4beta14\nkind: Config\n")
	if out, _, err := run(t, nil, "lint", "-f", clean, "--format", "json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("lint of a clean config: %v, %q", err, out)
	}
}

// skiff filter is a Helm post-renderer: manifests on stdin come out with
// the images of -a replaced and the labels added.
func TestFilter(t *testing.T) {
	t.Parallel()
	file := writeProject(t, renderConfig)
	buildJSON := filepath.Join(t.TempDir(), "build.json")
	if err := os.WriteFile(buildJSON, []byte(`{"builds":[{"imageName":"web","tag":"reg.example/web:v3"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runIn(t, renderManifest, "filter", "-f", file, "-a", buildJSON, "-l", "team=web")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"image: reg.example/web:v3", "team: web", "app.kubernetes.io/managed-by: skiff"} {
		if !strings.Contains(out, want) {
			t.Errorf("filter output lacks %q:\n%s", want, out)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, nil, "options")
	if err != nil || !strings.Contains(out, "--filename") || !strings.Contains(out, "--kubeconfig") {
		t.Errorf("options: %v\n%s", err, out)
	}
}
