package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyExample copies examples/name into a fresh directory without its
// skaffold.yaml and returns the directory.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "skaffold.yaml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// skiff init on the examples, their skaffold.yaml removed, writes a config
// with the same artifact and manifests, which loads; it does not overwrite
// without --force.
func TestInitExamples(t *testing.T) {
	t.Parallel()
	for _, ex := range []string{"hello", "sync"} {
		dir := copyExample(t, ex)
		file := filepath.Join(dir, "skaffold.yaml")
		out, _, err := run(t, nil, "init", "-f", file, "--analyze")
		if err != nil || strings.TrimSpace(out) != `{"images":["`+ex+`"]}` {
			t.Errorf("%s: init --analyze: %v, %q", ex, err, out)
		}
		if _, err := os.Stat(file); err == nil {
			t.Fatalf("%s: --analyze wrote a config", ex)
		}
		_, stderr, err := run(t, nil, "init", "-f", file)
		if err != nil {
			t.Fatalf("%s: init: %v\n%s", ex, err, stderr)
		}
		if !strings.Contains(stderr, "Image "+ex+": built by Ko (go.mod)") {
			t.Errorf("%s: init said:\n%s", ex, stderr)
		}
		out, _, err = run(t, nil, "diagnose", "-f", file)
		if err != nil {
			t.Fatalf("%s: the generated config: %v", ex, err)
		}
		for _, want := range []string{"Artifact 1: " + ex, "Builder: ko", "/k8s/deployment.yaml\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: diagnose of the generated config lacks %q:\n%s", ex, want, out)
			}
		}
		if _, _, err := run(t, nil, "init", "-f", file); err == nil || !strings.Contains(err.Error(), "--force") {
			t.Errorf("%s: init over an existing config: %v", ex, err)
		}
		if _, _, err := run(t, nil, "init", "-f", file, "--force"); err != nil {
			t.Errorf("%s: init --force: %v", ex, err)
		}
	}
}

// --generate-manifests writes a Deployment for an image no manifest uses;
// --skip-build leaves the build out; --compose-file says skiff lacks it.
func TestInitGenerateManifestsAndSkipBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "skaffold.yaml")
	if _, _, err := run(t, nil, "init", "-f", file); err == nil || !strings.Contains(err.Error(), "--generate-manifests") {
		t.Fatalf("init without manifests: %v", err)
	}
	_, stderr, err := run(t, nil, "init", "-f", file, "--generate-manifests", "-a", "Dockerfile=shop/web")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	gen, err := os.ReadFile(filepath.Join(dir, "k8s", "web.yaml"))
	if err != nil || !strings.Contains(string(gen), "image: shop/web") {
		t.Fatalf("generated manifest: %v\n%s\n%s", err, gen, stderr)
	}
	cfg, _ := os.ReadFile(file)
	if !strings.Contains(string(cfg), "image: shop/web") || !strings.Contains(string(cfg), "k8s/web.yaml") {
		t.Errorf("config:\n%s", cfg)
	}
	_, _, err = run(t, nil, "init", "-f", file, "--force", "--skip-build", "-k", "k8s/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := os.ReadFile(file); strings.Contains(string(cfg), "build:") {
		t.Errorf("--skip-build wrote a build section:\n%s", cfg)
	}
	var missing *NotInSkiffError
	if _, _, err := run(t, nil, "init", "-f", file, "--compose-file", "compose.yaml"); !errors.As(err, &missing) {
		t.Errorf("--compose-file: %v", err)
	}
	var usage *UsageError
	if _, _, err := run(t, nil, "init", "-f", file, "--force", "-a", "nonsense"); !errors.As(err, &usage) {
		t.Errorf("-a nonsense: %v, want a usage error", err)
	}
	out, _, err := run(t, nil, "init", "-f", file, "--analyze", "--XXenableNewInitFormat")
	var v map[string]any
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v["builders"] == nil {
		t.Errorf("--analyze in the new format: %v, %q", err, out)
	}
}
