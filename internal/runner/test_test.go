package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/kube"
)

// Custom tests run in the test's context with IMAGE and TEST_CONTEXT, for
// the images given only; a failing or late test fails the stage, naming it.
func TestCustomTests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &config.Config{Dir: dir}
	c.Test = []*schema.TestCase{
		{ImageName: "web", Workspace: "tests", CustomTests: []schema.CustomTest{{Command: `echo "$IMAGE $TEST_CONTEXT" > seen; echo testing web`}}},
		{ImageName: "other", CustomTests: []schema.CustomTest{{Command: "exit 1"}}},
	}
	p := &config.Project{Configs: []*config.Config{c}}
	var errOut bytes.Buffer
	r := New(Options{Project: p, ErrOut: &errOut, Environ: []string{"PATH=" + os.Getenv("PATH")}})
	if err := r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}}); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	seen, err := os.ReadFile(filepath.Join(dir, "tests", "seen"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "web:v1 " + filepath.Join(dir, "tests") + "\n"; string(seen) != want {
		t.Errorf("the test saw %q, want %q", seen, want)
	}
	if !strings.Contains(errOut.String(), "[test web] testing web\n") {
		t.Errorf("the test's output is not shown prefixed:\n%s", errOut.String())
	}

	c.Test = []*schema.TestCase{{ImageName: "web", CustomTests: []schema.CustomTest{{Command: "echo before"}, {Command: "echo broken; exit 3"}, {Command: "touch never"}}}}
	err = r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}})
	if err == nil || !strings.Contains(err.Error(), "test[image=web].custom[1] (echo broken; exit 3): the command exited with 3") {
		t.Errorf("a failing test: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); err == nil {
		t.Errorf("a test after the failing one ran")
	}

	c.Test = []*schema.TestCase{{ImageName: "web", CustomTests: []schema.CustomTest{{Command: "sleep 30", TimeoutSeconds: 1}}}}
	if err := r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}}); err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Errorf("a test past its timeout: %v", err)
	}
}

// Without container-structure-test on PATH, structure tests are refused
// before anything runs, by the test stage's check too, naming the program.
func TestStructureTestsNeedTheProgram(t *testing.T) {
	t.Parallel()
	c := &config.Config{Dir: t.TempDir()}
	c.Test = []*schema.TestCase{{ImageName: "web", StructureTests: []string{"st.yaml"}, CustomTests: []schema.CustomTest{{Command: "touch ran"}}}}
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}, Environ: []string{"PATH=" + t.TempDir()}})
	for _, err := range []error{r.Check("build", "test"), r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}})} {
		if err == nil || !strings.Contains(err.Error(), "test[0].structureTests: container-structure-test is not on PATH") {
			t.Errorf("structure tests without the program: %v, want an error naming container-structure-test", err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "ran")); err == nil {
		t.Errorf("the custom test ran though the stage was refused")
	}
	if err := r.Check("build"); err != nil {
		t.Errorf("a build without tests is refused: %v", err)
	}
}

// With container-structure-test on PATH, structure tests run it as
// Skaffold does (test -v warn --image REF --config FILE... ARGS), on the
// files their patterns match, before the custom tests; its failure fails
// the stage with its exit status and stops the tests after it. This uses
// a stand-in program: container-structure-test itself is not served by the
// Go module proxy this project builds its tools from.
func TestStructureTests(t *testing.T) {
	t.Parallel()
	dir, bin := t.TempDir(), t.TempDir()
	for _, f := range []string{"st/b.yaml", "st/a.yaml", "more/x/c.yaml", "st/notes.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	record := filepath.Join(dir, "calls")
	fake := "#!/bin/sh\necho \"$(pwd) $*\" >> " + record + "\necho checking the image\nexit ${CST_EXIT:-0}\n"
	if err := os.WriteFile(filepath.Join(bin, "container-structure-test"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &config.Config{Dir: dir}
	c.Test = []*schema.TestCase{{
		ImageName:         "web",
		StructureTests:    []string{"st/*.yaml", "more", filepath.Join(dir, "st/a.yaml")},
		StructureTestArgs: []string{"--driver=tar"},
		CustomTests:       []schema.CustomTest{{Command: "echo custom >> " + record}},
	}}
	p := &config.Project{Configs: []*config.Config{c}}
	var errOut bytes.Buffer
	environ := []string{"PATH=/usr/bin:/bin:" + bin}
	r := New(Options{Project: p, ErrOut: &errOut, Environ: environ})
	if err := r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}}); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	calls, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	want := dir + " test -v warn --image web:v1 --config " + filepath.Join(dir, "st/a.yaml") + " --config " + filepath.Join(dir, "st/b.yaml") +
		" --config " + filepath.Join(dir, "more/x/c.yaml") + " --driver=tar\ncustom\n"
	if string(calls) != want {
		t.Errorf("the calls:\n%s\nwant:\n%s", calls, want)
	}
	if !strings.Contains(errOut.String(), "[test web] checking the image\n") {
		t.Errorf("container-structure-test's output is not shown prefixed:\n%s", errOut.String())
	}

	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	r = New(Options{Project: p, ErrOut: &errOut, Environ: append(environ, "CST_EXIT=2")})
	err = r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}})
	if err == nil || !strings.Contains(err.Error(), "test[image=web].structureTests: container-structure-test exited with 2") {
		t.Errorf("a failing structure test: %v", err)
	}
	if calls, _ := os.ReadFile(record); strings.Contains(string(calls), "custom") {
		t.Errorf("the custom test ran after a failing structure test:\n%s", calls)
	}

	c.Test[0].StructureTests = []string{"st/*.yml"}
	err = r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}})
	if err == nil || !strings.Contains(err.Error(), `"st/*.yml" matches no file`) {
		t.Errorf("a pattern that matches nothing: %v", err)
	}
}

// A verify test or custom action container in the kubernetesCluster
// execution mode becomes a Job named as asked, in the deploy namespace,
// running the built image where the container names an artifact, from the
// config's jobManifestPath (relative to the config's directory) with the
// overrides merged in, and labelled as skiff's; Check no longer refuses
// the execution mode.
func TestClusterJob(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte("apiVersion: batch/v1\nkind: Job\nmetadata:\n  labels:\n    team: qa\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mode := &schema.KubernetesClusterVerifier{JobManifestPath: "job.yaml", Overrides: `{"spec":{"activeDeadlineSeconds":60}}`}
	c := &config.Config{Dir: dir}
	c.Verify = []*schema.VerifyTestCase{{Name: "smoke", ExecutionMode: schema.VerifyExecutionModeConfig{VerifyExecutionModeType: schema.VerifyExecutionModeType{KubernetesClusterExecutionMode: mode}}}}
	c.CustomActions = []schema.Action{{Name: "seed", ExecutionModeConfig: schema.ActionExecutionModeConfig{VerifyExecutionModeType: schema.VerifyExecutionModeType{KubernetesClusterExecutionMode: mode}}}}
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}, RunID: "run-1"})
	if err := r.Check("verify", "customActions"); err != nil {
		t.Errorf("Check refuses the kubernetesCluster execution mode: %v", err)
	}
	refs := map[string]string{"web": "registry.local/web:v1@sha256:abc"}
	for _, tt := range []struct{ image, want string }{
		{"web", "registry.local/web:v1@sha256:abc"},
		{"busybox:1.36", "busybox:1.36"},
	} {
		ct := schema.VerifyContainer{Name: "check", Image: tt.image, Command: []string{"/check"}, Env: []schema.VerifyEnvVar{{Name: "A", Value: "1"}}}
		job, err := r.clusterJob(c, "smoke", "team", ct, mode, refs)
		if err != nil {
			t.Fatal(err)
		}
		if job.Name != "smoke" || job.Namespace != "team" || job.Labels["team"] != "qa" || job.Labels[kube.RunIDLabel] != "run-1" || job.Labels[kube.ProjectLabel] != r.ID() {
			t.Errorf("Job %s/%s with labels %v", job.Namespace, job.Name, job.Labels)
		}
		if job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != 60 {
			t.Errorf("the overrides were not merged: activeDeadlineSeconds %v", job.Spec.ActiveDeadlineSeconds)
		}
		pod := job.Spec.Template
		if _, ok := pod.Labels[kube.ProjectLabel]; ok || pod.Labels[kube.ManagedByLabel] != kube.ManagedBy {
			t.Errorf("pod labels %v: want skiff's, without the project's (dev's log tailer and syncer select by it)", pod.Labels)
		}
		got := pod.Spec.Containers[0]
		if got.Image != tt.want || got.Name != "check" || got.Command[0] != "/check" || len(got.Env) != 1 || got.Env[0].Value != "1" {
			t.Errorf("container %+v, want image %s", got, tt.want)
		}
	}
}

// An action that is not there is named with those that are.
func TestExecUnknownAction(t *testing.T) {
	t.Parallel()
	c := &config.Config{Dir: t.TempDir()}
	c.CustomActions = []schema.Action{{Name: "seed"}, {Name: "migrate"}}
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}})
	err := r.Exec(t.Context(), "sed", nil)
	if err == nil || !strings.Contains(err.Error(), `no custom action "sed"; the project's actions are seed, migrate`) {
		t.Errorf("exec sed: %v", err)
	}
}
