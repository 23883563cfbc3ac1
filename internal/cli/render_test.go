package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const renderConfig = `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: shop
build:
  artifacts:
  - image: web
manifests:
  rawYaml: [k8s.yaml]
`

const renderManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web
      - name: sidecar
        image: busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000
`

// TestRenderImagesAndLabels renders with images from --images, and from -a
// (a build's --file-output), with no cluster or registry at hand.
func TestRenderImagesAndLabels(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, renderConfig)
	dir := filepath.Dir(file)
	if err := os.WriteFile(filepath.Join(dir, "k8s.yaml"), []byte(renderManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	buildJSON := filepath.Join(dir, "build.json")
	if err := os.WriteFile(buildJSON, []byte(`{"builds":[{"imageName":"web","tag":"reg.example/web:v2@sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"--images": {"--images", "web=reg.example/web:v1"},
		"-a":       {"-a", buildJSON},
	} {
		out, stderr, err := run(t, nil, append([]string{"render", "--offline", "-f", file}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		want := "image: reg.example/web:v1"
		if name == "-a" {
			want = "image: reg.example/web:v2@sha256:1111"
		}
		for _, w := range []string{want, "image: busybox@sha256:0000", "app.kubernetes.io/managed-by: skiff", "skiff.dev/project: shop-"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s: rendered manifests lack %q:\n%s", name, w, out)
			}
		}
	}
}

// TestRenderOfflineCannotBuild: --offline with the default digest source
// would need a build and a push; the error says what to use instead.
func TestRenderOfflineCannotBuild(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, renderConfig)
	_, _, err := run(t, nil, "render", "--offline", "-f", file)
	if err == nil || !strings.Contains(err.Error(), "--digest-source=tag") {
		t.Fatalf("want an error pointing to --digest-source=tag, got %v", err)
	}
}

// Rendering builds nothing, so render takes configs whose artifacts use a
// builder skiff does not have (jib, bazel, kaniko in a cluster): the
// images are named with the tag policy's tags, with --images, or left
// alone. Commands that build refuse them before building.
func TestRenderWithoutTheBuilder(t *testing.T) {
	t.Parallel()
	for name, artifacts := range map[string]string{
		"jib":    "  - image: web\n    jib: {}\n",
		"bazel":  "  - image: web\n    bazel: {target: //:web.tar}\n",
		"kaniko": "  - image: web\n  cluster: {}\n",
	} {
		file := writeConfig(t, strings.Replace(renderConfig, "  - image: web\n", artifacts, 1))
		if err := os.WriteFile(filepath.Join(filepath.Dir(file), "k8s.yaml"), []byte(renderManifest), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"--digest-source=tag", "-t", "v3"},
			{"--images", "web=reg.example/web:v1"},
			{"--digest-source=none"},
		} {
			out, stderr, err := run(t, nil, append([]string{"render", "--offline", "-f", file}, args...)...)
			if err != nil {
				t.Errorf("%s: render %q: %v\n%s", name, args, err, stderr)
				continue
			}
			want := map[string]string{"--digest-source=tag": "image: web:v3", "--images": "image: reg.example/web:v1", "--digest-source=none": "image: web\n"}[args[0]]
			if !strings.Contains(out, want) {
				t.Errorf("%s: render %q does not name the image %q:\n%s", name, args, want, out)
			}
		}
		for _, cmd := range [][]string{{"build"}, {"render"}, {"run"}} {
			_, stderr, err := run(t, nil, append(cmd, "-f", file)...)
			if err == nil || !strings.Contains(err.Error(), "not supported by skiff yet") || strings.Contains(stderr, "Building") {
				t.Errorf("%s: skiff %s should refuse the builder before building: %v\n%s", name, cmd[0], err, stderr)
			}
		}
	}
}
