package render

import (
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

func TestFullEngineFeature(t *testing.T) {
	cfg := func(set func(c *config.Config)) *config.Config {
		c := &config.Config{File: "skaffold.yaml"}
		set(c)
		return c
	}
	raw := cfg(func(c *config.Config) { c.Render.RawK8s = []string{"k8s/*.yaml"} })
	for _, tt := range []struct {
		name    string
		configs []*config.Config
		want    string
	}{
		{"raw YAML", []*config.Config{raw}, ""},
		{"kustomize", []*config.Config{raw, cfg(func(c *config.Config) { c.Render.Kustomize = &schema.Kustomize{} })}, ""},
		{"manifests.helm", []*config.Config{cfg(func(c *config.Config) {
			c.Render.Helm = &schema.Helm{Releases: []schema.HelmRelease{{Name: "web"}}}
		})}, "skaffold.yaml: manifests.helm"},
		{"deploy.helm", []*config.Config{cfg(func(c *config.Config) {
			c.Deploy.HelmDeploy = &schema.HelmDeploy{Releases: []schema.HelmRelease{{Name: "web"}}}
		})}, "skaffold.yaml: deploy.helm"},
		{"no releases, flags still checked", []*config.Config{cfg(func(c *config.Config) { c.Deploy.HelmDeploy = &schema.HelmDeploy{} })}, "skaffold.yaml: deploy.helm"},
	} {
		if got := FullEngineFeature(tt.configs); got != tt.want {
			t.Errorf("%s: FullEngineFeature = %q, want %q", tt.name, got, tt.want)
		}
	}
}
