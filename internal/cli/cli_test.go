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

// run runs skiff in process with only the given environment.
func run(t *testing.T, environ []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args, WithEnviron(environ))
	return out.String(), errOut.String(), err
}

// writeConfig writes a skaffold.yaml into a fresh directory and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const v2Config = `# keep this comment
apiVersion: skaffold/v2beta12
kind: Config
build:
  artifacts:
  - image: app
deploy:
  kubectl:
    manifests: [k8s/*.yaml] # and this one
profiles:
- name: fast
  build:
    local:
      concurrency: 4
`

func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "skiff ") || !strings.Contains(out, "go: go1.") {
		t.Fatalf("version: %q, %v", out, err)
	}
	out, _, err = run(t, nil, "version", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "gitCommit", "goVersion"} {
		if _, ok := info[k]; !ok {
			t.Errorf("version -o json lacks %q: %s", k, out)
		}
	}
	if _, _, err := run(t, nil, "version", "-o", "xml"); err == nil {
		t.Error("version -o xml succeeded; want a usage error")
	}
}

func TestSchemaList(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, nil, "schema", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "skaffold/v1alpha1" || lines[len(lines)-1] != "skaffold/v4beta14" {
		t.Errorf("schema list = %q..%q, want skaffold/v1alpha1..skaffold/v4beta14", lines[0], lines[len(lines)-1])
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, err := run(t, nil, "completion", shell)
		if err != nil || !strings.Contains(out, "skiff") {
			t.Errorf("completion %s: %v (%d bytes)", shell, err, len(out))
		}
	}
	_, _, err := run(t, nil, "completion", "powershell")
	var usage *UsageError
	if !errors.As(err, &usage) {
		t.Errorf("completion powershell: %v, want a usage error", err)
	}
}

func TestFixPrintsUpgradeKeepingComments(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	out, _, err := run(t, nil, "fix", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: skaffold/v4beta14", "rawYaml:", "# keep this comment", "# and this one"} {
		if !strings.Contains(out, want) {
			t.Errorf("fix output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "deploy:\n  kubectl:\n    manifests") {
		t.Errorf("fix left deploy.kubectl.manifests in place:\n%s", out)
	}
	if data, _ := os.ReadFile(file); string(data) != v2Config {
		t.Error("fix without --overwrite changed the file")
	}
}

// TestUpgradeWarnings checks that what the upgrade of an old config drops
// is printed as a warning by fix and by the commands that load the config
// (diagnose here), while a plain move is not.
func TestUpgradeWarnings(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "apiVersion: skaffold/v1alpha1\nkind: Config\nbuild:\n  artifacts:\n  - imageName: app\ndeploy:\n  kubectl:\n    manifests:\n    - paths: [k8s.yaml]\n      parameters: {IMAGE: app}\n")
	const want = "WARN: " // the logger's mark
	for _, args := range [][]string{{"fix", "-f", file}, {"diagnose", "--yaml-only", "-f", file}} {
		_, stderr, err := run(t, nil, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(stderr, want) || !strings.Contains(stderr, "10:7: deploy.kubectl.manifests[0].parameters ignored") {
			t.Errorf("%v: no warning about the dropped parameters:\n%s", args, stderr)
		}
		if strings.Contains(stderr, "imageName became") || strings.Contains(stderr, "warning: ") {
			t.Errorf("%v: a move or the note's own mark printed at the default verbosity:\n%s", args, stderr)
		}
	}
}

func TestFixOverwriteKeepsBackup(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	_, stderr, err := run(t, nil, "fix", "-f", file, "--overwrite")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "Upgraded") {
		t.Errorf("fix --overwrite said %q", stderr)
	}
	if backup, _ := os.ReadFile(file + ".bak"); string(backup) != v2Config {
		t.Errorf("backup = %q, want the original", backup)
	}
	upgraded, _ := os.ReadFile(file)
	if !strings.Contains(string(upgraded), "skaffold/v4beta14") {
		t.Errorf("file not upgraded:\n%s", upgraded)
	}
	// The upgraded file loads, and a second fix has nothing to do.
	if _, _, err := run(t, nil, "diagnose", "-f", file); err != nil {
		t.Fatalf("diagnose on the fixed file: %v", err)
	}
	_, stderr, err = run(t, nil, "fix", "-f", file, "--overwrite")
	if err != nil || !strings.Contains(stderr, "already at the newest") {
		t.Errorf("second fix: %q, %v", stderr, err)
	}
}

func TestFixRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "apiVersion: skaffold/v2beta12\nkind: Config\nbuild:\n  artifactz: []\n")
	_, _, err := run(t, nil, "fix", "-f", file, "--overwrite")
	if err == nil || !strings.Contains(err.Error(), `unknown field "artifactz"`) || !strings.Contains(err.Error(), ":4:3:") {
		t.Fatalf("fix of an invalid config: %v", err)
	}
	if _, statErr := os.Stat(file + ".bak"); statErr == nil {
		t.Error("fix of an invalid config wrote a backup")
	}
}

func TestDiagnose(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	dir := filepath.Dir(file)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY main.go /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Profiles come from SKAFFOLD_PROFILE when -p is not given.
	out, _, err := run(t, []string{"SKAFFOLD_PROFILE=fast"}, "diagnose", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Number of artifacts: 1",
		"Artifact 1: app",
		"Builder: docker",
		"Context: " + dir + "\n",
		"Dependencies: 2 files",
		"active profiles: [fast]",
		"concurrency: 4",
		"rawYaml:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnose output lacks %q:\n%s", want, out)
		}
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	// SKIFF_ wins over SKAFFOLD_, and a flag on the command line over both.
	out, _, err := run(t, []string{"SKIFF_FILENAME=" + file, "SKAFFOLD_FILENAME=/nonexistent"}, "diagnose", "--yaml-only")
	if err != nil || !strings.Contains(out, "image: app") {
		t.Fatalf("SKIFF_FILENAME: %v\n%s", err, out)
	}
	_, _, err = run(t, []string{"SKIFF_FILENAME=/nonexistent"}, "diagnose", "-f", file)
	if err != nil {
		t.Fatalf("-f should beat SKIFF_FILENAME: %v", err)
	}
	_, _, err = run(t, []string{"SKIFF_VERBOSITY=loud"}, "version")
	var usage *UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "SKIFF_VERBOSITY") {
		t.Errorf("bad SKIFF_VERBOSITY: %v", err)
	}
}

func TestUnknownProfileListsProfiles(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, v2Config)
	_, _, err := run(t, nil, "diagnose", "-f", file, "-p", "slow")
	if err == nil || !strings.Contains(err.Error(), `profile "slow" not found`) || !strings.Contains(err.Error(), "fast") {
		t.Fatalf("unknown profile: %v", err)
	}
}

func TestMainExitCodes(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	streams := IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	if code := Main(context.Background(), streams, []string{"version"}); code != 0 {
		t.Errorf("version exited %d", code)
	}
	if code := Main(context.Background(), streams, []string{"version", "--bogus"}); code != 2 || !strings.Contains(errOut.String(), "--help") {
		t.Errorf("unknown flag exited %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(context.Background(), streams, []string{"diagnose", "-f", "/nonexistent/skaffold.yaml"}); code != 1 || !strings.HasPrefix(errOut.String(), "ERROR: ") {
		t.Errorf("missing config exited %d, stderr %q", code, errOut.String())
	}
}

// schema get prints the JSON schema of the newest apiVersion; an older
// one says why there is none, and a missing or unknown version is a usage
// error.
func TestSchemaGet(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, nil, "schema", "get", "skaffold/v4beta14")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["definitions"] == nil {
		t.Fatalf("schema get printed no JSON schema: %v\n%.300s", err, out)
	}
	if _, _, err := run(t, nil, "schema", "get", "v4beta14"); err != nil {
		t.Errorf("schema get v4beta14: %v", err)
	}
	_, _, err = run(t, nil, "schema", "get", "skaffold/v2beta12")
	if err == nil || !strings.Contains(err.Error(), "upgrades skaffold/v2beta12") {
		t.Errorf("schema get of an older version: %v", err)
	}
	var usage *UsageError
	for _, args := range [][]string{{"schema", "get"}, {"schema", "get", "skaffold/v9"}} {
		if _, _, err := run(t, nil, args...); !errors.As(err, &usage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
