package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// diagnose shows each setting with where it comes from, by Skaffold's
// precedence: flag > environment > project > global config for the kube
// context > global config > default; the insecure registries of every
// source add up.
func TestDiagnoseSettingsSources(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	global := filepath.Join(home, ".skaffold", "config")
	if err := os.MkdirAll(filepath.Dir(global), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(global, []byte(`global:
  default-repo: global.example
  insecure-registries: [g:5000]
  debug-helpers-registry: helpers.example
kubeContexts:
- kube-context: kind-.*
  default-repo: ctx.example/x
  insecure-registries: [c:5000]
  local-cluster: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\ncontexts:\n- name: kind-dev\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := writeConfig(t, "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: web\n")
	project := writeConfig(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  insecureRegistries: [p:5000]
  local: {push: true}
  artifacts:
  - image: web
deploy:
  kubeContext: kind-proj
`)
	environ := []string{"HOME=" + home}
	fromContext := func(kc string) string { return "(global config " + global + " (kube-context " + kc + "))" }
	fromGlobal := "(global config " + global + " (global))"
	for _, tc := range []struct {
		name    string
		environ []string
		args    []string
		want    []string
	}{
		{
			name: "flags, and the global config for their kube context",
			args: []string{"-f", plain, "--kubeconfig", kubeconfig, "--kube-context", "kind-dev", "-d", "flag.example"},
			want: []string{
				"kube-context: kind-dev (flag --kube-context)",
				"default-repo: flag.example (flag --default-repo)",
				"insecure-registries: c:5000 " + fromContext("kind-dev"),
				"insecure-registries: g:5000 " + fromGlobal,
				"local-cluster: true " + fromContext("kind-dev"),
				"push: false (local-cluster)",
				"debug-helpers-registry: helpers.example " + fromGlobal,
			},
		},
		{
			name:    "the environment",
			environ: []string{"SKAFFOLD_KUBE_CONTEXT=other", "SKAFFOLD_DEFAULT_REPO=env.example", "SKAFFOLD_PUSH=true", "SKIFF_INSECURE_REGISTRY=e:5000,f:5000"},
			args:    []string{"-f", plain, "--kubeconfig", kubeconfig},
			want: []string{
				"kube-context: other (env SKAFFOLD_KUBE_CONTEXT)",
				"default-repo: env.example (env SKAFFOLD_DEFAULT_REPO)",
				"insecure-registries: e:5000 (env SKIFF_INSECURE_REGISTRY)",
				"insecure-registries: f:5000 (env SKIFF_INSECURE_REGISTRY)",
				"insecure-registries: g:5000 " + fromGlobal,
				"local-cluster: not set (default: ",
				"push: true (env SKAFFOLD_PUSH)",
			},
		},
		{
			name: "the project, then the global config for its kube context",
			args: []string{"-f", project, "--kubeconfig", kubeconfig},
			want: []string{
				"kube-context: kind-proj (project " + project + " (deploy.kubeContext))",
				"default-repo: ctx.example/x " + fromContext("kind-proj"),
				"insecure-registries: p:5000 (project " + project + " (build.insecureRegistries))",
				"insecure-registries: c:5000 " + fromContext("kind-proj"),
				"push: true (project " + project + " (build.local.push))",
			},
		},
		{
			name: "the global values when the kubeconfig names no context",
			args: []string{"-f", plain, "--kubeconfig", kubeconfig},
			want: []string{
				"kube-context: none (default: the kubeconfig sets no current context)",
				"default-repo: global.example " + fromGlobal,
				"local-cluster: not set (default: ",
				"push: not set (default: ",
			},
		},
		{
			name: "defaults without a global config",
			args: []string{"-f", plain, "--kubeconfig", kubeconfig, "-c", filepath.Join(home, "none")},
			want: []string{
				"default-repo: none (default: images keep their names)",
				"insecure-registries: none (default: ",
				"debug-helpers-registry: none (default: ",
			},
		},
	} {
		out, stderr, err := run(t, append(environ, tc.environ...), append([]string{"diagnose"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%s: diagnose: %v\n%s", tc.name, err, stderr)
		}
		_, settings, ok := strings.Cut(out, "Settings (flag > environment > project > global config for the kube context > global config > default):\n")
		if !ok {
			t.Fatalf("%s: diagnose prints no settings:\n%s", tc.name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(settings, "\n  "+w) && !strings.HasPrefix(settings, "  "+w) {
				t.Errorf("%s: the settings lack %q:\n%s", tc.name, w, settings)
			}
		}
	}
}
