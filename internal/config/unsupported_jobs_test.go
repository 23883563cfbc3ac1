package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKubernetesClusterExecutionMode: verify tests and custom actions as
// Kubernetes Jobs are supported; only overrides that are not a JSON
// object are reported, at their line.
func TestKubernetesClusterExecutionMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "skaffold.yaml")
	text := `apiVersion: skaffold/v4beta14
kind: Config
verify:
- name: ok
  container: {name: ok, image: busybox}
  executionMode:
    kubernetesCluster:
      jobManifestPath: job.yaml
      overrides: '{"spec":{"activeDeadlineSeconds":60}}'
- name: broken
  container: {name: broken, image: busybox}
  executionMode:
    kubernetesCluster:
      overrides: '{spec: 1}'
customActions:
- name: seed
  executionMode:
    kubernetesCluster:
      overrides: '[1]'
  containers:
  - {name: seed, image: busybox}
`
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(Options{File: file, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Unsupported(p.Configs[0], nil) {
		got = append(got, e.Error())
	}
	want := []string{
		file + `:14:18: verify[1].executionMode.kubernetesCluster.overrides: overrides is not JSON (invalid character 's' looking for beginning of object key string); it is merged into the Job as a JSON merge patch: write it as an object, e.g. {"spec": {"activeDeadlineSeconds": 600}}`,
		file + `:19:18: customActions[0].executionMode.kubernetesCluster.overrides: overrides is JSON but not an object; it is merged into the Job as a JSON merge patch: write it as an object, e.g. {"spec": {"activeDeadlineSeconds": 600}}`,
	}
	if len(got) != len(want) {
		t.Fatalf("Unsupported:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Unsupported[%d]:\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
}
