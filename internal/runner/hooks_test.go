package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/hooks"
)

// Render runs the configs' render hooks: pre-render before, post-render
// after with the manifests on stdin, replacing them with withChange; and
// the hooks are no longer reported as unsupported.
func TestRenderRunsRenderHooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := testConfig(dir)
	c.Render.RawK8s = []string{filepath.Join(dir, "cm.yaml")}
	c.Render.LifecycleHooks = schema.RenderHooks{
		PreHooks: []schema.RenderHookItem{{HostHook: &schema.HostHook{Command: []string{"sh", "-c", "echo $SKAFFOLD_NAMESPACES > pre"}, Dir: dir}}},
		PostHooks: []schema.PostRenderHookItem{{HostHook: &schema.PostRenderHostHook{
			Command: []string{"sed", "s/name: before/name: after/"}, WithChange: true,
		}}},
	}
	c.Deploy.KubectlDeploy = &schema.KubectlDeploy{LifecycleHooks: schema.DeployHooks{
		PostHooks: []schema.DeployHookItem{{HostHook: &schema.HostHook{Command: []string{"true"}}}},
	}}
	var progress bytes.Buffer
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}, Namespace: "ns1", ErrOut: &progress, Environ: []string{"PATH=" + os.Getenv("PATH")}})
	if err := r.Check("manifests", "deploy"); err != nil {
		t.Fatalf("render and deploy hooks reported as unsupported: %v", err)
	}
	out, err := r.RenderYAML(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "name: after") {
		t.Errorf("the post-render hook's output did not replace the manifests:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pre")); err != nil || string(b) != "ns1\n" {
		t.Errorf("pre-render hook wrote %q (%v), want the namespace ns1", b, err)
	}
	if !strings.Contains(progress.String(), "Completed post-render hooks") {
		t.Errorf("progress lacks the post-render hooks:\n%s", progress.String())
	}
}

// The kubectl deployer's hooks run before the helm deployer's, as
// Skaffold's deployers run, and a config with deploy hooks forces the
// status check.
func TestDeployHooksOrder(t *testing.T) {
	t.Parallel()
	host := func(name string) schema.DeployHookItem {
		return schema.DeployHookItem{HostHook: &schema.HostHook{Command: []string{name}}}
	}
	d := schema.DeployType{
		KubectlDeploy: &schema.KubectlDeploy{LifecycleHooks: schema.DeployHooks{PreHooks: []schema.DeployHookItem{host("k-before")}, PostHooks: []schema.DeployHookItem{host("k-after")}}},
		HelmDeploy:    &schema.HelmDeploy{LifecycleHooks: schema.DeployHooks{PreHooks: []schema.DeployHookItem{host("h-before")}}},
	}
	var got []string
	for _, phase := range []hooks.Phase{hooks.PreDeploy, hooks.PostDeploy} {
		for _, h := range deployHooks(d, phase) {
			got = append(got, h.HostHook.Command[0])
		}
	}
	if want := []string{"k-before", "h-before", "k-after"}; !slices.Equal(got, want) {
		t.Errorf("hooks %v, want %v", got, want)
	}
	c := testConfig(t.TempDir())
	r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}})
	if r.hasDeployHooks() {
		t.Error("a config without deploy hooks has some")
	}
	c.Deploy.DeployType = d
	if !r.hasDeployHooks() {
		t.Error("a config with deploy hooks has none")
	}
}
