package cli

import (
	"bytes"
	"context"
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

// On a terminal, skiff init asks which builder builds an image it could not
// pair; elsewhere, or with --assume-yes or --interactive=false, it does not.
func TestInitAsksOnATerminal(t *testing.T) {
	t.Parallel()
	newProject := func() string {
		dir := t.TempDir()
		for name, content := range map[string]string{
			"a/Dockerfile": "FROM scratch\n",
			"b/Dockerfile": "FROM scratch\n",
			"k8s/x.yaml":   "apiVersion: v1\nkind: Pod\nmetadata: {name: front}\nspec:\n  containers: [{name: front, image: front}]\n",
			"k8s/y.yaml":   "apiVersion: v1\nkind: Pod\nmetadata: {name: back}\nspec:\n  containers: [{name: back, image: back}]\n",
		} {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return filepath.Join(dir, "skaffold.yaml")
	}
	initWith := func(terminal bool, stdin string, args ...string) (string, string, error) {
		file := newProject()
		var out, errOut bytes.Buffer
		err := Run(context.Background(), IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
			append([]string{"init", "-f", file}, args...), WithEnviron(nil), WithTerminalInput(terminal))
		cfg, _ := os.ReadFile(file)
		return string(cfg), errOut.String(), err
	}
	cfg, stderr, err := initWith(true, "2\n1\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "Which builder builds image front?") || !strings.Contains(stderr, "1) Docker a/Dockerfile") {
		t.Errorf("no question asked:\n%s", stderr)
	}
	if !strings.Contains(cfg, "- image: back\n    context: a") || !strings.Contains(cfg, "- image: front\n    context: b") {
		t.Errorf("the answers (front: b, back: a) are not in the config:\n%s", cfg)
	}
	for name, tc := range map[string]struct {
		terminal bool
		args     []string
	}{"no terminal": {false, nil}, "--assume-yes": {true, []string{"--assume-yes"}}, "--interactive=false": {true, []string{"--interactive=false"}}} {
		cfg, stderr, err := initWith(tc.terminal, "2\n1\n", tc.args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		if strings.Contains(stderr, "Which builder") || !strings.Contains(cfg, "- image: a\n") || !strings.Contains(stderr, "Image front: no builder found") {
			t.Errorf("%s: asked, or paired by guess:\n%s\n%s", name, stderr, cfg)
		}
	}
	if _, _, err := initWith(true, "7\n"); err == nil || !strings.Contains(err.Error(), "from 0 to 2") {
		t.Errorf("a choice out of range: %v", err)
	}
}
