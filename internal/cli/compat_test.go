package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeProject writes renderConfig's project (one manifest, artifact web)
// and returns the config file.
func writeProject(t *testing.T, config string) string {
	t.Helper()
	file := writeConfig(t, config)
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "k8s.yaml"), []byte(renderManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// A flag that has no effect in skiff says why at -v info, given on the
// command line or as SKAFFOLD_<FLAG>; nothing is said at the default level.
func TestFlagsWithoutEffectSayWhy(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	_, stderr, err := run(t, []string{"SKAFFOLD_UPDATE_CHECK=false"}, "diagnose", "-f", file, "--assume-yes", "-v", "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--assume-yes has no effect in skiff: skiff asks no questions",
		"SKAFFOLD_UPDATE_CHECK (--update-check) has no effect in skiff",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	_, stderr, err = run(t, nil, "diagnose", "-f", file, "--assume-yes")
	if err != nil || strings.Contains(stderr, "no effect") {
		t.Errorf("at the default level: %v\n%s", err, stderr)
	}
	// A wrong value of an ignored flag is still a usage error.
	_, _, err = run(t, nil, "diagnose", "-f", file, "--color=red")
	var usage *UsageError
	if !asUsage(err, &usage) {
		t.Errorf("--color=red: %v, want a usage error", err)
	}
}

// render -l adds the labels to every object and its pods; a bad label is
// a usage error naming it.
func TestRenderLabels(t *testing.T) {
	t.Parallel()
	file := writeProject(t, renderConfig)
	out, stderr, err := run(t, nil, "render", "--offline", "--digest-source=none", "-f", file, "-l", "team=web,tier=front", "--label", "example.com/owner=ana")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"team: web", "tier: front", "example.com/owner: ana"} {
		if n := strings.Count(out, want); n != 2 {
			t.Errorf("%q appears %d times, want 2 (the Deployment and its pod template):\n%s", want, n, out)
		}
	}
	_, _, err = run(t, nil, "render", "--offline", "--digest-source=none", "-f", file, "-l", "team")
	var usage *UsageError
	if !asUsage(err, &usage) || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("-l team: %v, want a usage error asking for key=value", err)
	}
}

// --kubeconfig (and SKAFFOLD_KUBECONFIG) selects the kubeconfig: a
// profile activated by kubeContext compares its current context.
func TestKubeconfigFlag(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config+`- name: on-ctx
  activation:
  - kubeContext: from-file
  build:
    local:
      concurrency: 9
`)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: from-file
  context: {cluster: c, user: u}
current-context: from-file
`
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	// client-go reads KUBECONFIG from the process, which this test does
	// not change: the flag must win over whatever it names.
	for name, args := range map[string][]string{
		"flag": {"--kubeconfig", kubeconfig},
		"env":  nil,
	} {
		var env []string
		if args == nil {
			env = []string{"SKAFFOLD_KUBECONFIG=" + kubeconfig}
		}
		out, stderr, err := run(t, env, append([]string{"diagnose", "-f", file, "--yaml-only"}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		if !strings.Contains(out, "concurrency: 9") {
			t.Errorf("%s: the profile activated by the kubeconfig's context is not active:\n%s", name, out)
		}
	}
}

// run --render-only, deprecated in Skaffold and still in scripts, prints
// the manifests instead of deploying them, and says it is deprecated.
func TestRunRenderOnly(t *testing.T) {
	t.Parallel()
	file := writeProject(t, strings.Replace(renderConfig, "build:\n  artifacts:\n  - image: web\n", "", 1))
	out, stderr, err := run(t, nil, "run", "-f", file, "--render-only", "-l", "team=web")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "kind: Deployment") || !strings.Contains(out, "team: web") {
		t.Errorf("run --render-only printed:\n%s", out)
	}
	if !strings.Contains(stderr, "--render-only is deprecated: use skiff render") {
		t.Errorf("no deprecation note:\n%s", stderr)
	}
	outFile := filepath.Join(t.TempDir(), "out.yaml")
	if _, _, err := run(t, nil, "run", "-f", file, "--render-only", "--render-output", outFile); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(outFile); !strings.Contains(string(data), "kind: Deployment") {
		t.Errorf("--render-output wrote %q", data)
	}
	_, _, err = run(t, nil, "dev", "-f", file, "--render-only")
	var usage *UsageError
	if !asUsage(err, &usage) || !strings.Contains(err.Error(), "skiff render") {
		t.Errorf("dev --render-only: %v, want a usage error pointing to skiff render", err)
	}
}

// fix and diagnose write to -o FILE; fix --version takes only the newest.
func TestFixAndDiagnoseOutputFile(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	dir := t.TempDir()
	fixed := filepath.Join(dir, "fixed.yaml")
	out, _, err := run(t, nil, "fix", "-f", file, "-o", fixed, "--version", "skaffold/v4beta14")
	if err != nil || out != "" {
		t.Fatalf("fix -o: %v, stdout %q", err, out)
	}
	if data, _ := os.ReadFile(fixed); !strings.Contains(string(data), "apiVersion: skaffold/v4beta14") {
		t.Errorf("fix -o wrote %q", data)
	}
	_, _, err = run(t, nil, "fix", "-f", file, "--version", "skaffold/v3")
	if err == nil || !strings.Contains(err.Error(), "only to the newest") {
		t.Errorf("fix --version skaffold/v3: %v", err)
	}
	diag := filepath.Join(dir, "diag.txt")
	if _, _, err := run(t, nil, "diagnose", "-f", file, "--yaml-only", "-o", diag); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(diag); !strings.Contains(string(data), "image: app") {
		t.Errorf("diagnose -o wrote %q", data)
	}
}

// --profile-auto-activation=false (or its variable) keeps profiles whose
// activation matches off.
func TestProfileAutoActivationFlag(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config+`- name: by-env
  activation:
  - env: STAGE=prod
  build:
    local:
      concurrency: 7
`)
	env := []string{"STAGE=prod"}
	out, _, err := run(t, env, "diagnose", "-f", file, "--yaml-only")
	if err != nil || !strings.Contains(out, "concurrency: 7") {
		t.Fatalf("by default the profile activates: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--profile-auto-activation=false"}, nil} {
		e := env
		if args == nil {
			e = append(e, "SKAFFOLD_PROFILE_AUTO_ACTIVATION=false")
		}
		out, _, err := run(t, e, append([]string{"diagnose", "-f", file, "--yaml-only"}, args...)...)
		if err != nil || strings.Contains(out, "concurrency: 7") {
			t.Errorf("%v %v: the profile still activates: %v\n%s", args, e, err, out)
		}
	}
}

// asUsage reports whether err is a *UsageError.
func asUsage(err error, target **UsageError) bool { return errors.As(err, target) }

// render keeps quiet about building, as Skaffold does; --loud shows it.
func TestRenderLoud(t *testing.T) {
	t.Parallel()
	file := writeProject(t, strings.Replace(renderConfig, "build:\n  artifacts:\n  - image: web\n", "", 1))
	for _, loud := range []bool{false, true} {
		args := []string{"render", "-f", file, "--kubeconfig", filepath.Join(t.TempDir(), "none")}
		if loud {
			args = append(args, "--loud")
		}
		_, stderr, err := run(t, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(stderr, "No artifacts to build"); got != loud {
			t.Errorf("--loud=%v: build progress shown: %v\n%s", loud, got, stderr)
		}
	}
}

// --disable-multi-platform-build builds the first of several --platform
// values only, and says so at -v info.
func TestDisableMultiPlatformBuild(t *testing.T) {
	t.Parallel()
	file := writePipeProject(t)
	base := []string{"build", "-f", file, "--dry-run", "--push=false", "-v", "info", "--platform", "linux/amd64,linux/arm64"}
	_, stderr, err := run(t, nil, append(base, "--disable-multi-platform-build")...)
	if err != nil || !strings.Contains(stderr, "building for linux/amd64 only, not linux/arm64") {
		t.Errorf("--disable-multi-platform-build: %v\n%s", err, stderr)
	}
	_, stderr, err = run(t, nil, base...)
	if err != nil || strings.Contains(stderr, "only, not") {
		t.Errorf("build keeps every platform by default: %v\n%s", err, stderr)
	}
}

// --mute-logs build keeps the builders' output off stderr (shown when the
// build fails); an unknown stage is a usage error.
func TestMuteLogs(t *testing.T) {
	t.Parallel()
	file := writePipeProject(t)
	_, stderr, err := run(t, nil, "build", "-f", file, "--dry-run", "--push=false", "--mute-logs", "build")
	if err != nil || !strings.Contains(stderr, "Build output muted (--mute-logs build)") {
		t.Errorf("--mute-logs build: %v\n%s", err, stderr)
	}
	var usage *UsageError
	for _, cmd := range []string{"build", "deploy", "run", "dev"} {
		if _, _, err := run(t, nil, cmd, "-f", file, "--mute-logs", "everything"); !asUsage(err, &usage) {
			t.Errorf("%s --mute-logs everything: %v, want a usage error", cmd, err)
		}
	}
}
