package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const globalConfigSample = `# the user's settings
global:
  default-repo: global.example/repo
  insecure-registries: [global-insecure:5000]
  local-cluster: false
  survey:
    last-prompted: "2021-12-14T11:48:13+08:00"
kubeContexts:
- kube-context: kind-.*
  local-cluster: true
  insecure-registries: [kind-insecure:5000]
- kube-context: kind-special
  default-repo: special.example
- kube-context: prod
  debug-helpers-registry: helpers.example
`

func writeGlobal(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadGlobalConfigMissingFileIsEmpty(t *testing.T) {
	g, err := ReadGlobalConfig(filepath.Join(t.TempDir(), "none"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.ForContext("any")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, ContextConfig{KubeContext: "any"}) {
		t.Errorf("settings from no file: %+v, want none", c)
	}
}

func TestReadGlobalConfigBadYAML(t *testing.T) {
	p := writeGlobal(t, "global: [unclosed\n")
	_, err := ReadGlobalConfig(p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want one naming %s", err, p)
	}
}

// The settings of a kube context come from the last entry that names or
// matches it, with the global values as fallback and the insecure
// registries of both, as Skaffold resolves them.
func TestGlobalConfigForContext(t *testing.T) {
	g, err := ReadGlobalConfig(writeGlobal(t, globalConfigSample))
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, tc := range []struct {
		context string
		want    ContextConfig
	}{
		{"", ContextConfig{DefaultRepo: "global.example/repo", InsecureRegistries: []string{"global-insecure:5000"}, LocalCluster: &no}},
		{"kind-dev", ContextConfig{KubeContext: "kind-dev", DefaultRepo: "global.example/repo", LocalCluster: &yes, InsecureRegistries: []string{"kind-insecure:5000", "global-insecure:5000"}}},
		// The exact entry comes last, so it wins over the pattern.
		{"kind-special", ContextConfig{KubeContext: "kind-special", DefaultRepo: "special.example", LocalCluster: &no, InsecureRegistries: []string{"global-insecure:5000"}}},
		{"prod", ContextConfig{KubeContext: "prod", DefaultRepo: "global.example/repo", DebugHelpersRegistry: "helpers.example", LocalCluster: &no, InsecureRegistries: []string{"global-insecure:5000"}}},
		{"other", ContextConfig{KubeContext: "other", DefaultRepo: "global.example/repo", LocalCluster: &no, InsecureRegistries: []string{"global-insecure:5000"}}},
	} {
		got, err := g.ForContext(tc.context)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ForContext(%q) = %+v, want %+v", tc.context, got, tc.want)
		}
	}
}

func TestGlobalConfigForContextBadPattern(t *testing.T) {
	g := &GlobalConfig{KubeContexts: []ContextConfig{{KubeContext: "kind-("}}}
	if _, err := g.ForContext("kind-x"); err == nil || !strings.Contains(err.Error(), "kubeContexts[0]") {
		t.Fatalf("err = %v, want one naming kubeContexts[0]", err)
	}
}

// The global config's values are the project's fallbacks; the project's
// own insecure registries come first.
func TestProjectUserSettings(t *testing.T) {
	yes := true
	c := &Config{}
	c.Build.InsecureRegistries = []string{"project:5000"}
	p := &Project{Configs: []*Config{c}, User: ContextConfig{DefaultRepo: "r.example", LocalCluster: &yes, InsecureRegistries: []string{"user:5000"}, DebugHelpersRegistry: "h.example"}}
	if got := p.InsecureRegistries(); !reflect.DeepEqual(got, []string{"project:5000", "user:5000"}) {
		t.Errorf("InsecureRegistries = %q", got)
	}
	if p.DefaultRepo() != "r.example" || p.LocalCluster() != &yes || p.DebugHelpersRegistry() != "h.example" {
		t.Errorf("DefaultRepo %q, LocalCluster %v, DebugHelpersRegistry %q", p.DefaultRepo(), p.LocalCluster(), p.DebugHelpersRegistry())
	}
}

// set and unset edit one entry and keep the rest of the file: other keys,
// keys skiff does not know (survey) and comments.
func TestSetUnsetGlobalValueRoundTrip(t *testing.T) {
	p := writeGlobal(t, globalConfigSample)
	prod := ConfigEntry{KubeContext: "prod"}
	if err := SetGlobalValue(p, prod, "default-repo", "prod.example/x"); err != nil {
		t.Fatal(err)
	}
	if err := SetGlobalValue(p, prod, "insecure-registries", "a:5000"); err != nil {
		t.Fatal(err)
	}
	if err := SetGlobalValue(p, prod, "insecure-registries", "b:5000"); err != nil {
		t.Fatal(err)
	}
	if err := SetGlobalValue(p, prod, "insecure-registries", "a:5000"); err != nil {
		t.Fatal(err)
	}
	if err := SetGlobalValue(p, ConfigEntry{KubeContext: "new"}, "local-cluster", "true"); err != nil {
		t.Fatal(err)
	}
	if err := SetGlobalValue(p, ConfigEntry{Global: true}, "default-repo", "g2.example"); err != nil {
		t.Fatal(err)
	}
	g, err := ReadGlobalConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := g.ForContext("prod")
	if c.DefaultRepo != "prod.example/x" || !reflect.DeepEqual(c.InsecureRegistries, []string{"a:5000", "b:5000", "global-insecure:5000"}) || c.DebugHelpersRegistry != "helpers.example" {
		t.Errorf("prod after set: %+v", c)
	}
	if c, _ := g.ForContext("new"); c.LocalCluster == nil || !*c.LocalCluster || c.DefaultRepo != "g2.example" {
		t.Errorf("new after set: %+v", c)
	}
	data, _ := os.ReadFile(p)
	for _, keep := range []string{"# the user's settings", "last-prompted:", "kube-context: kind-.*"} {
		if !strings.Contains(string(data), keep) {
			t.Errorf("the file lost %q:\n%s", keep, data)
		}
	}

	if err := UnsetGlobalValue(p, prod, "default-repo"); err != nil {
		t.Fatal(err)
	}
	if err := UnsetGlobalValue(p, ConfigEntry{KubeContext: "absent"}, "default-repo"); err != nil {
		t.Fatal(err)
	}
	g, err = ReadGlobalConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := g.ForContext("prod"); c.DefaultRepo != "g2.example" || c.DebugHelpersRegistry != "helpers.example" {
		t.Errorf("prod after unset: %+v, want the global default-repo and its other keys", c)
	}
	if len(g.KubeContexts) != 4 {
		t.Errorf("%d kubeContexts entries, want 4 (unset of an absent entry adds none)", len(g.KubeContexts))
	}
}

func TestSetGlobalValueErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "config")
	err := SetGlobalValue(p, ConfigEntry{Global: true}, "default-rep", "x")
	if err == nil || !strings.Contains(err.Error(), "default-rep is not a valid config field") || !strings.Contains(err.Error(), "insecure-registries") {
		t.Errorf("unknown key: %v, want the valid keys listed", err)
	}
	if err := SetGlobalValue(p, ConfigEntry{Global: true}, "local-cluster", "maybe"); err == nil || !strings.Contains(err.Error(), "true or false") {
		t.Errorf("bad bool: %v", err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Errorf("a failed set wrote %s", p)
	}
	// A new file (and its directory) is created.
	if err := SetGlobalValue(p, ConfigEntry{Global: true}, "local-cluster", "false"); err != nil {
		t.Fatal(err)
	}
	out, err := GlobalConfigYAML(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "global:\n  local-cluster: false\n" {
		t.Errorf("new file:\n%s", out)
	}
}
