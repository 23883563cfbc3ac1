package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/builders"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// writeFiles creates files (slash paths relative to dir) with their
// contents; a path ending in "/" is a directory.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testConfig is a config whose skaffold.yaml is in dir.
func testConfig(dir string, arts ...*schema.Artifact) *config.Config {
	c := &config.Config{File: filepath.Join(dir, "skaffold.yaml"), Dir: dir}
	c.Build.Artifacts = arts
	return c
}

func dockerArtifact(name, ws, dockerfile string) *schema.Artifact {
	return &schema.Artifact{ImageName: name, Workspace: ws, ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{DockerfilePath: dockerfile}}}
}

func TestArtifactInputOwns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		// art is the artifact, given the directory the files are in.
		art func(dir string) *schema.Artifact
		// owned and notOwned are slash paths relative to the files'
		// directory; one ending in "/" is asked about as a directory.
		owned, notOwned []string
	}{
		{
			name: "docker with .dockerignore and a Dockerfile elsewhere",
			files: map[string]string{
				"app/.dockerignore": "*.md\nnode_modules\n", "app/main.js": "", "app/README.md": "",
				"app/node_modules/x/i.js": "", "docker/web.Dockerfile": "FROM scratch\n", "docker/other": "",
			},
			art: func(dir string) *schema.Artifact {
				return dockerArtifact("web", filepath.Join(dir, "app"), "../docker/web.Dockerfile")
			},
			owned:    []string{"app/main.js", "app/lib/", "app/", "docker/web.Dockerfile"},
			notOwned: []string{"app/README.md", "app/node_modules/", "app/node_modules/x/i.js", "docker/other", "main.js"},
		},
		{
			name:     "docker without .dockerignore owns its whole context",
			files:    map[string]string{"app/Dockerfile": "FROM scratch\n", "app/README.md": ""},
			art:      func(dir string) *schema.Artifact { return dockerArtifact("web", filepath.Join(dir, "app"), "") },
			owned:    []string{"app/Dockerfile", "app/README.md", "app/a/b/c"},
			notOwned: []string{"app2/x", "x"},
		},
		{
			// Docker sends the Dockerfile whatever .dockerignore says, so
			// an edit to it must rebuild.
			name:     "docker with its Dockerfile in .dockerignore",
			files:    map[string]string{"app/Dockerfile": "FROM scratch\n", "app/.dockerignore": "Dockerfile\n*.md\n", "app/main.js": ""},
			art:      func(dir string) *schema.Artifact { return dockerArtifact("web", filepath.Join(dir, "app"), "") },
			owned:    []string{"app/Dockerfile", "app/main.js"},
			notOwned: []string{"app/README.md"},
		},
		{
			name:  "ko default paths",
			files: map[string]string{"svc/main.go": "package main\n"},
			art: func(dir string) *schema.Artifact {
				return &schema.Artifact{ImageName: "svc", Workspace: filepath.Join(dir, "svc"), ArtifactType: schema.ArtifactType{KoArtifact: &schema.KoArtifact{}}}
			},
			owned:    []string{"svc/main.go", "svc/internal/x/x.go", "svc/go.mod", "svc/go.sum", "svc/kodata/x", "svc/cmd/kodata/index.html", "svc/internal/"},
			notOwned: []string{"svc/README.md", "svc/Makefile", "svc/main.go~", "other.go"},
		},
		{
			name:  "ko dependencies",
			files: map[string]string{"svc/main.go": "package main\n"},
			art: func(dir string) *schema.Artifact {
				return &schema.Artifact{ImageName: "svc", Workspace: filepath.Join(dir, "svc"), ArtifactType: schema.ArtifactType{KoArtifact: &schema.KoArtifact{
					Dependencies: &schema.KoDependencies{Paths: []string{"cmd", "pkg/**/*.go"}, Ignore: []string{"cmd/gen"}},
				}}}
			},
			owned:    []string{"svc/cmd/main.go", "svc/cmd/x/y.txt", "svc/pkg/a/b.go"},
			notOwned: []string{"svc/main.go", "svc/go.mod", "svc/cmd/gen/z.go", "svc/cmd/gen/", "svc/pkg/a/b.txt"},
		},
		{
			name:  "custom dependencies paths and ignore",
			files: map[string]string{"ui/package.json": "{}"},
			art: func(dir string) *schema.Artifact {
				return &schema.Artifact{ImageName: "ui", Workspace: filepath.Join(dir, "ui"), ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{
					BuildCommand: "./build.sh",
					Dependencies: &schema.CustomDependencies{Paths: []string{"src/**", "package.json"}, Ignore: []string{"src/**/*.test.js"}},
				}}}
			},
			owned:    []string{"ui/src/a.js", "ui/src/x/y/a.css", "ui/package.json"},
			notOwned: []string{"ui/src/x/a.test.js", "ui/docs/x.md", "ui/build.sh"},
		},
		{
			name:  "custom dependencies paths .",
			files: map[string]string{"ui/package.json": "{}"},
			art: func(dir string) *schema.Artifact {
				return &schema.Artifact{ImageName: "ui", Workspace: filepath.Join(dir, "ui"), ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{
					Dependencies: &schema.CustomDependencies{Paths: []string{"."}},
				}}}
			},
			owned:    []string{"ui/package.json", "ui/src/a/b.js"},
			notOwned: []string{"other/a.js"},
		},
		{
			name:  "custom dependencies command owns the whole context",
			files: map[string]string{"ui/package.json": "{}"},
			art: func(dir string) *schema.Artifact {
				return &schema.Artifact{ImageName: "ui", Workspace: filepath.Join(dir, "ui"), ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{
					Dependencies: &schema.CustomDependencies{Command: "./deps.sh"},
				}}}
			},
			owned:    []string{"ui/package.json", "ui/anything/at/all"},
			notOwned: []string{"other/a.js"},
		},
		{
			name:  "custom dependencies dockerfile applies its .dockerignore",
			files: map[string]string{"ui/Dockerfile": "FROM scratch\n", "ui/.dockerignore": "*.log\n"},
			art: func(dir string) *schema.Artifact {
				return &schema.Artifact{ImageName: "ui", Workspace: filepath.Join(dir, "ui"), ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{
					Dependencies: &schema.CustomDependencies{Dockerfile: &schema.DockerfileDependency{Path: "Dockerfile"}},
				}}}
			},
			owned:    []string{"ui/Dockerfile", "ui/src/a.js"},
			notOwned: []string{"ui/debug.log"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			ai, err := newArtifactInput(tc.art(dir), builders.All, build.Env{})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []bool{true, false} {
				paths := tc.owned
				if !want {
					paths = tc.notOwned
				}
				for _, p := range paths {
					isDir := strings.HasSuffix(p, "/")
					abs := filepath.Join(dir, filepath.FromSlash(p))
					if got := ai.owns(abs, isDir); got != want {
						t.Errorf("owns(%s, dir=%v) = %v, want %v", p, isDir, got, want)
					}
				}
			}
		})
	}
}

func TestNewArtifactInputKeepsTheConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	deps := &schema.CustomDependencies{Paths: []string{".", "src"}}
	a := &schema.Artifact{ImageName: "ui", Workspace: dir, ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{Dependencies: deps}}}
	if _, err := newArtifactInput(a, builders.All, build.Env{}); err != nil {
		t.Fatal(err)
	}
	// The builder reads dependencies.paths after dev mode reads them.
	if want := []string{".", "src"}; !slices.Equal(deps.Paths, want) {
		t.Errorf("newArtifactInput changed dependencies.paths to %q, want %q", deps.Paths, want)
	}
}

func TestNewArtifactInputErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"bad/.dockerignore": "[\n"})
	for _, a := range []*schema.Artifact{
		dockerArtifact("web", filepath.Join(dir, "bad"), ""),
		{ImageName: "web", Workspace: dir, ArtifactType: schema.ArtifactType{KoArtifact: &schema.KoArtifact{Dependencies: &schema.KoDependencies{Ignore: []string{"["}}}}},
	} {
		_, err := newArtifactInput(a, builders.All, build.Env{})
		if err == nil || !strings.Contains(err.Error(), `artifact "web"`) {
			t.Errorf("error %v, want one naming artifact web", err)
		}
	}
}

// manifestConfig is a config in dir with every kind of local manifest
// source.
func manifestConfig(dir string) *config.Config {
	c := testConfig(dir)
	c.Render.RawK8s = []string{"k8s/*.yaml", "https://example.com/crd.yaml", filepath.Join(dir, "abs", "svc.yaml")}
	c.Render.Kustomize = &schema.Kustomize{Paths: []string{"overlays/dev"}}
	c.Render.Helm = &schema.Helm{Releases: []schema.HelmRelease{{Name: "web", ChartPath: "charts/web", ValuesFiles: []string{"values-dev.yaml", "https://example.com/values.yaml"}}}}
	c.Deploy.HelmDeploy = &schema.HelmDeploy{Releases: []schema.HelmRelease{{Name: "db", RemoteChart: "bitnami/postgresql", ValuesFiles: []string{"db/*.yaml"}}}}
	return c
}

func TestManifestInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	// URLs are no local files; a remote chart has no directory.
	want := []manifestInput{
		{glob: at("k8s/*.yaml")},
		{glob: at("abs/svc.yaml")},
		{dir: at("overlays/dev")},
		{dir: at("charts/web")},
		{glob: at("values-dev.yaml")},
		{glob: at("db/*.yaml")},
	}
	if got := manifestInputs(manifestConfig(dir)); !slices.Equal(got, want) {
		t.Errorf("manifestInputs = %+v, want %+v", got, want)
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := &inputs{manifests: manifestInputs(manifestConfig(dir))}
	for p, want := range map[string]bool{
		"k8s/deploy.yaml":                     true,
		"k8s/deploy.json":                     false,
		"k8s/sub/deploy.yaml":                 false,
		"k8s/":                                true,
		"abs/svc.yaml":                        true,
		"abs/other.yaml":                      false,
		"overlays/dev/kustomization.yaml":     true,
		"overlays/dev/patches/replicas.yaml":  true,
		"overlays/dev/":                       true,
		"overlays/prod/kustomization.yaml":    false,
		"charts/web/Chart.yaml":               true,
		"charts/web/templates/deployment.yml": true,
		"charts/db/Chart.yaml":                false,
		"values-dev.yaml":                     true,
		"values.yaml":                         false,
		"db/primary.yaml":                     true,
		"src/main.go":                         false,
		"src/":                                false,
	} {
		isDir := strings.HasSuffix(p, "/")
		if got := in.manifest(filepath.Join(dir, filepath.FromSlash(p)), isDir); got != want {
			t.Errorf("manifest(%s, dir=%v) = %v, want %v", p, isDir, got, want)
		}
	}
}

func TestManifestKustomizeDefaultsToTheConfigDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := testConfig(dir)
	c.Render.Kustomize = &schema.Kustomize{}
	in := &inputs{manifests: manifestInputs(c)}
	if !in.manifest(filepath.Join(dir, "base", "deployment.yaml"), false) {
		t.Error("a file of the config's directory is not a kustomize input")
	}
	if in.manifest(filepath.Join(filepath.Dir(dir), "elsewhere.yaml"), false) {
		t.Error("a file outside the config's directory is a kustomize input")
	}
}

// rootsProject is a project in base/proj with an artifact inside it, two
// beside it (one in a directory whose name starts like proj's), a
// Dockerfile elsewhere, manifests inside it and a manifest glob in a
// directory that does not exist.
func rootsProject(t *testing.T) (base string, p *config.Project) {
	t.Helper()
	base = t.TempDir()
	writeFiles(t, base, map[string]string{
		"proj/skaffold.yaml": "", "proj/app/main.js": "", "proj/k8s/web.yaml": "", "proj/node_modules/x.js": "", "proj/notes.txt": "",
		"lib/lib.js": "", "proj-extra/x.js": "", "docker/Dockerfile": "FROM scratch\n", "other/x": "",
	})
	proj := filepath.Join(base, "proj")
	c := testConfig(proj,
		dockerArtifact("web", filepath.Join(proj, "app"), "../../docker/Dockerfile"),
		dockerArtifact("lib", filepath.Join(base, "lib"), ""),
		dockerArtifact("extra", filepath.Join(base, "proj-extra"), ""),
	)
	c.Render.RawK8s = []string{"k8s/*.yaml", "../missing/*.yaml", "../missing/gone.yaml"}
	return base, &config.Project{Configs: []*config.Config{c}}
}

func TestWatchRoots(t *testing.T) {
	t.Parallel()
	base, p := rootsProject(t)
	in, err := newInputs(p, builders.All, build.Env{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range []string{"docker", "lib", "proj", "proj-extra"} {
		want = append(want, filepath.Join(base, d))
	}
	if !slices.Equal(in.roots, want) {
		t.Errorf("roots %q, want %q", in.roots, want)
	}
}

func TestIgnored(t *testing.T) {
	t.Parallel()
	base, p := rootsProject(t)
	in, err := newInputs(p, builders.All, build.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"./":                     false, // leads to the roots
		"proj/":                  false,
		"proj/skaffold.yaml":     false,
		"proj/app/":              false,
		"proj/app/main.js":       false,
		"proj/k8s/":              false,
		"proj/k8s/web.yaml":      false,
		"docker/Dockerfile":      false,
		"lib/lib.js":             false,
		"other/":                 true,
		"proj/node_modules/":     true,
		"proj/node_modules/x.js": true,
		"proj/notes.txt":         true,
		"docker/README.md":       true,
	} {
		isDir := strings.HasSuffix(rel, "/")
		path := filepath.Clean(filepath.Join(base, filepath.FromSlash(rel)))
		if got := in.ignored(path, isDir); got != want {
			t.Errorf("ignored(%s, dir=%v) = %v, want %v", rel, isDir, got, want)
		}
	}
	// What leads to the project from above is watched; what lies beside
	// the project's directory is not.
	if in.ignored(filepath.Dir(base), true) {
		t.Error("the parent of the roots is ignored")
	}
}

func TestIgnoredLeadsToRoots(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	writeFiles(t, base, map[string]string{"a/b/proj/skaffold.yaml": "", "a/lib/x.js": "", "a/c/": ""})
	c := testConfig(filepath.Join(base, "a", "b", "proj"), dockerArtifact("lib", filepath.Join(base, "a", "lib"), ""))
	in, err := newInputs(&config.Project{Configs: []*config.Config{c}}, builders.All, build.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{"a": false, "a/b": false, "a/c": true} {
		if got := in.ignored(filepath.Join(base, filepath.FromSlash(rel)), true); got != want {
			t.Errorf("ignored(%s, dir=true) = %v, want %v", rel, got, want)
		}
	}
}

func TestNewInputsConfigs(t *testing.T) {
	t.Parallel()
	base, p := rootsProject(t)
	in, err := newInputs(p, builders.All, build.Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(base, "proj", "skaffold.yaml")
	if len(in.configs) != 1 || !in.configs[want] {
		t.Errorf("configs %v, want only %s", in.configs, want)
	}
	if len(in.artifacts) != 3 || len(in.manifests) != 3 {
		t.Errorf("%d artifacts and %d manifest sources, want 3 and 3", len(in.artifacts), len(in.manifests))
	}
}
