package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// skiff config set writes the global config that build then reads: the
// entry of the kube context skiff works with, the global values as
// fallback, and --default-repo or SKAFFOLD_DEFAULT_REPO over both.
func TestGlobalConfigDefaultRepo(t *testing.T) {
	t.Parallel()
	file := writePipeProject(t)
	home := t.TempDir()
	environ := []string{"HOME=" + home}
	for _, args := range [][]string{
		{"config", "set", "default-repo", "ctx.example/x", "-k", "kind-.*"},
		{"config", "set", "default-repo", "global.example", "--global"},
	} {
		if _, stderr, err := run(t, environ, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	build := []string{"build", "-q", "-o", "text", "--dry-run", "--push=false", "-f", file}
	for _, tc := range []struct {
		environ []string
		args    []string
		want    string
	}{
		{environ, []string{"--kube-context", "kind-dev"}, "ctx.example/x/web:v1\nctx.example/x/api:v1\n"},
		{environ, []string{"--kube-context", "other"}, "global.example/web:v1\nglobal.example/api:v1\n"},
		{environ, []string{"--kube-context", "kind-dev", "-d", "flag.example"}, "flag.example/web:v1\nflag.example/api:v1\n"},
		{append(environ, "SKAFFOLD_DEFAULT_REPO=env.example"), []string{"--kube-context", "kind-dev"}, "env.example/web:v1\nenv.example/api:v1\n"},
		// --config names another file; this one does not exist.
		{environ, []string{"--kube-context", "kind-dev", "-c", filepath.Join(home, "none")}, "web:v1\napi:v1\n"},
		{append(environ, "SKAFFOLD_CONFIG="+filepath.Join(home, "none")), []string{"--kube-context", "kind-dev"}, "web:v1\napi:v1\n"},
	} {
		out, stderr, err := run(t, tc.environ, append(build, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		if out != tc.want {
			t.Errorf("build %v with %q: %q, want %q", tc.args, tc.environ, out, tc.want)
		}
	}
	// diagnose says where the settings come from (TestDiagnoseSettingsSources).
	out, stderr, err := run(t, environ, "diagnose", "-f", file, "--kube-context", "kind-dev")
	if err != nil {
		t.Fatalf("diagnose: %v\n%s", err, stderr)
	}
	want := "  default-repo: ctx.example/x (global config " + filepath.Join(home, ".skaffold", "config") + " (kube-context kind-dev))\n"
	if !strings.Contains(out, want) {
		t.Errorf("diagnose lacks %q:\n%s", want, out)
	}
}

// config set, unset and list print Skaffold's messages; a key that is not
// one says which are.
func TestConfigCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "global")
	if err := os.WriteFile(cfg, []byte("global:\n  survey:\n    last-prompted: \"2021-12-14\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "set", "-c", cfg, "--kubeconfig", kubeconfig, "insecure-registries", "a:5000"}, "set value insecure-registries to a:5000 for context dev\n"},
		{[]string{"config", "set", "-c", cfg, "-k", "prod", "local-cluster", "false"}, "set value local-cluster to false for context prod\n"},
		{[]string{"config", "set", "-c", cfg, "-g", "default-repo", "g.example"}, "set global value default-repo to g.example\n"},
		{[]string{"config", "list", "-c", cfg, "--kubeconfig", kubeconfig}, "skiff config: " + cfg + "\nkube-context: dev\ninsecure-registries:\n  - a:5000\n"},
		{[]string{"config", "unset", "-c", cfg, "-k", "dev", "insecure-registries"}, "unset value insecure-registries for context dev\n"},
		{[]string{"config", "unset", "-c", cfg, "--global", "default-repo"}, "unset global value default-repo\n"},
		{[]string{"config", "list", "-c", cfg, "--all"}, "skiff config: " + cfg + "\nglobal:\n  survey:\n    last-prompted: \"2021-12-14\"\nkubeContexts:\n  - kube-context: dev\n  - kube-context: prod\n    local-cluster: false\n"},
	} {
		out, stderr, err := run(t, nil, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		if out != tc.want {
			t.Errorf("%v printed %q, want %q", tc.args, out, tc.want)
		}
	}
	_, _, err := run(t, nil, "config", "set", "-c", cfg, "-g", "default-rep", "x")
	if err == nil || !strings.Contains(err.Error(), "default-rep is not a valid config field; the fields are default-repo,") {
		t.Errorf("unknown key: %v", err)
	}
	_, _, err = run(t, nil, "config", "set", "-c", cfg, "-g", "default-repo")
	var usage *UsageError
	if !asUsage(err, &usage) {
		t.Errorf("set with one argument: %v, want a usage error", err)
	}
}

// skiff test runs the custom tests on the images given; a failing test
// fails the command.
func TestTestCommand(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
test:
- image: web
  custom:
  - command: echo "$IMAGE" > seen
  - command: test "$IMAGE" = web:v1
`)
	environ := []string{"PATH=" + os.Getenv("PATH")}
	if _, stderr, err := run(t, environ, "test", "-f", file, "-i", "web=web:v1"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if seen, _ := os.ReadFile(filepath.Join(filepath.Dir(file), "seen")); string(seen) != "web:v1\n" {
		t.Errorf("the test saw IMAGE=%q, want web:v1", seen)
	}
	_, _, err := run(t, environ, "test", "-f", file, "-i", "web=web:v2")
	if err == nil || !strings.Contains(err.Error(), "custom[1] (test \"$IMAGE\" = web:v1): the command exited with 1") {
		t.Errorf("a failing test: %v", err)
	}
}
