package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsupportedHelm: what skiff cannot do of a Helm release is a
// diagnose finding at its line, not skipped.
func TestUnsupportedHelm(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "skaffold.yaml")
	text := `apiVersion: skaffold/v4beta14
kind: Config
manifests:
  helm:
    releases:
    - name: rendered-remote
      remoteChart: oci://example.com/charts/web
    - name: both
      remoteChart: oci://example.com/charts/web
deploy:
  helm:
    flags:
      global: [--debug]
      install: [--atomic, --set, a=b]
      upgrade: [--frobnicate]
      depBuild: [--skip-refresh]
    releases:
    - name: secrets
      chartPath: chart
      useHelmSecrets: true
    - name: both
      remoteChart: oci://example.com/charts/web
    - name: added-repo
      remoteChart: bitnami/redis
    - name: from-repo
      remoteChart: redis
      repo: https://charts.example.com
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
		"skaffold.yaml:20:23: deploy.helm.releases[0].useHelmSecrets: useHelmSecrets (the helm-secrets plugin) is not supported by skiff",
		"skaffold.yaml:24:20: deploy.helm.releases[2].remoteChart: remoteChart bitnami/redis names a chart of a repository added with `helm repo add`",
		"skaffold.yaml:14:16: deploy.helm.flags.install: helm flag --set is not supported by skiff, which installs with the Helm SDK: put the value in the release's setValues",
		"skaffold.yaml:15:16: deploy.helm.flags.upgrade: helm flag --frobnicate is not supported by skiff",
		"skaffold.yaml:16:17: deploy.helm.flags.depBuild: helm dependency build flags are not supported by skiff",
		"skaffold.yaml:7:20: manifests.helm.releases[0].remoteChart: remote charts are not rendered by skiff (deploy.helm installs them)",
	}
	if len(got) != len(want) {
		t.Fatalf("Unsupported =\n%s\nwant %d findings", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.Contains(got[i], strings.TrimPrefix(want[i], "skaffold.yaml")) {
			t.Errorf("finding %d = %s\nwant one containing %s", i, got[i], want[i])
		}
	}
}
