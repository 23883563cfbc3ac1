package initconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config"
)

// writeTree writes files (slash paths relative to dir).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func deployment(name, image string) string {
	return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\nspec:\n  selector:\n    matchLabels: {app: " + name + "}\n  template:\n    metadata:\n      labels: {app: " + name + "}\n    spec:\n      containers:\n      - name: " + name + "\n        image: " + image + "\n"
}

// MultiService is a project of four services built four ways, raw
// manifests, kustomize overlays and a Helm chart.
var MultiService = map[string]string{
	"web/Dockerfile":                    "FROM scratch\nCOPY . /\n",
	"web/Dockerfile.notes":              "just some notes\n",
	"api/go.mod":                        "module example.com/api\n\ngo 1.22\n",
	"api/main.go":                       "package main\n\nfunc main() {}\n",
	"worker/go.mod":                     "module example.com/worker\n\ngo 1.22\n",
	"worker/cmd/worker/main.go":         "package main\n\nfunc main() {}\n",
	"worker/lib/lib.go":                 "package lib\n",
	"frontend/package.json":             "{\"name\": \"frontend\"}\n",
	"node_modules/x/Dockerfile":         "FROM scratch\n",
	"k8s/web.yaml":                      deployment("web", "web"),
	"k8s/api.yaml":                      deployment("api", "registry.example/shop/api:v1"),
	"k8s/redis.yaml":                    deployment("redis", "redis:7"),
	"k8s/notes.yaml":                    "title: not a manifest\n",
	"kustomize/base/kustomization.yaml": "resources: [worker.yaml]\n",
	"kustomize/base/worker.yaml":        deployment("worker", "worker"),
	"kustomize/dev/kustomization.yaml":  "resources: [../base]\nnamePrefix: dev-\n",
	"kustomize/prod/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\n",
	"chart/Chart.yaml":                  "apiVersion: v2\nname: frontend\nversion: 0.1.0\n",
	"chart/values.yaml":                 "image: frontend\n",
	"chart/templates/deployment.yaml":   "{{ .Values.image }}\n",
}

func TestAnalyzeAndGenerateMultiService(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, MultiService)
	a, err := Analyze(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var builders []string
	for _, b := range a.Builders {
		builders = append(builders, b.Name+":"+b.Path+":"+b.Main)
	}
	wantBuilders := []string{"Ko:api/go.mod:.", "Buildpacks:frontend/package.json:", "Docker:web/Dockerfile:", "Ko:worker/go.mod:./cmd/worker"}
	if !slices.Equal(builders, wantBuilders) {
		t.Errorf("builders %q, want %q", builders, wantBuilders)
	}
	if want := []string{"k8s/api.yaml", "k8s/redis.yaml", "k8s/web.yaml"}; !slices.Equal(a.Manifests, want) {
		t.Errorf("manifests %q, want %q", a.Manifests, want)
	}
	if want := []string{"kustomize/dev", "kustomize/prod"}; !slices.Equal(a.Kustomizations, want) {
		t.Errorf("kustomizations %q, want %q", a.Kustomizations, want)
	}
	if want := []string{"chart"}; !slices.Equal(a.Charts, want) {
		t.Errorf("charts %q, want %q", a.Charts, want)
	}
	arts := a.Pair(nil)
	pairs := map[string]string{}
	for _, art := range arts {
		pairs[art.Builder.Path] = art.Image
	}
	wantPairs := map[string]string{"api/go.mod": "registry.example/shop/api:v1", "frontend/package.json": "frontend", "web/Dockerfile": "web", "worker/go.mod": "worker"}
	for k, v := range wantPairs {
		if pairs[k] != v {
			t.Errorf("%s builds %q, want %q (all: %v)", k, pairs[k], v, pairs)
		}
	}
	if u := a.Unresolved(arts); !slices.Equal(u, []string{"redis:7"}) {
		t.Errorf("unresolved %q, want [redis:7]", u)
	}

	data, notes, err := a.Config(arts, GenerateOptions{Name: "My Shop"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := config.Load(config.Options{File: file, Environ: []string{}})
	if err != nil {
		t.Fatalf("the generated config does not load: %v\n%s", err, data)
	}
	c := p.Configs[0]
	if c.Metadata.Name != "my-shop" || len(c.Build.Artifacts) != 4 || c.Render.Kustomize == nil || c.Render.Helm == nil || len(c.Render.RawK8s) != 3 {
		t.Errorf("generated config:\n%s", data)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"main: ./cmd/worker", "context: worker", "builder: " + DefaultBuildpacksBuilder, "chartPath: chart", "- kustomize/dev", "name: prod"} {
		if !strings.Contains(text, want) {
			t.Errorf("generated config lacks %q:\n%s", want, text)
		}
	}
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "kustomize/prod is the profile prod") }) {
		t.Errorf("notes %q do not say where the other overlay went", notes)
	}
	if _, _, err := a.Config(arts, GenerateOptions{DefaultKustomization: "kustomize/nope"}); err == nil {
		t.Error("an unknown --default-kustomization was accepted")
	}
}

// -a pairs explicitly, in JSON or path=image form; bad values say how.
func TestParseArtifact(t *testing.T) {
	t.Parallel()
	art, err := ParseArtifact(`{"builder":"Docker","payload":{"path":"web/Dockerfile.prod"},"image":"gcr.io/p/web"}`)
	if err != nil || art.Image != "gcr.io/p/web" || art.Builder.Context != "web" || art.Builder.Path != "web/Dockerfile.prod" {
		t.Errorf("JSON form: %+v, %v", art, err)
	}
	if s := artifactOf(art); s.Workspace != "web" || s.DockerArtifact.DockerfilePath != "Dockerfile.prod" {
		t.Errorf("artifact of %+v: %+v", art, s)
	}
	art, err = ParseArtifact("Dockerfile=web")
	if err != nil || art.Image != "web" || art.Builder.Name != Docker || art.Builder.Context != "." {
		t.Errorf("path=image form: %+v, %v", art, err)
	}
	for _, bad := range []string{"web", `{"builder":"Bazel","payload":{"path":"BUILD"},"image":"x"}`, `{"builder":"Docker","image":"x"}`} {
		if _, err := ParseArtifact(bad); err == nil || !strings.Contains(err.Error(), "-a") {
			t.Errorf("-a %s: %v", bad, err)
		}
	}
}

// A project without manifests gets none, and the error says what to do.
func TestConfigWithoutManifests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	a, err := Analyze(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = a.Config(a.Pair(nil), GenerateOptions{Name: "x"})
	if err == nil || !strings.Contains(err.Error(), "--generate-manifests") {
		t.Errorf("no manifests: %v", err)
	}
}
