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

// Structure tests are refused before anything runs, naming what is missing.
func TestStructureTestsRefused(t *testing.T) {
	t.Parallel()
	c := &config.Config{Dir: t.TempDir()}
	c.Test = []*schema.TestCase{{ImageName: "web", StructureTests: []string{"st.yaml"}}}
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}})
	err := r.Test(t.Context(), []artifact.Image{{Name: "web", Ref: "web:v1"}})
	if err == nil || !strings.Contains(err.Error(), "container-structure-test") {
		t.Errorf("structure tests: %v, want an error naming container-structure-test", err)
	}
}

// Verify tests as Kubernetes Jobs are refused before anything runs.
func TestVerifyKubernetesClusterRefused(t *testing.T) {
	t.Parallel()
	c := &config.Config{Dir: t.TempDir()}
	c.Verify = []*schema.VerifyTestCase{{Name: "in-cluster", ExecutionMode: schema.VerifyExecutionModeConfig{VerifyExecutionModeType: schema.VerifyExecutionModeType{KubernetesClusterExecutionMode: &schema.KubernetesClusterVerifier{}}}}}
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}})
	err := r.Verify(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "executionMode.kubernetesCluster") {
		t.Errorf("verify in the cluster: %v, want an error naming executionMode.kubernetesCluster", err)
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
