package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/log"
)

// testFiles are the files the Render tests render from: charts, manifests,
// values files and a kustomization.
var testFiles = map[string]string{
	"chart/Chart.yaml":          "apiVersion: v2\nname: c\nversion: 0.1.0\n",
	"chart/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
	"deps/Chart.yaml":           "apiVersion: v2\nname: d\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://charts.example.com\n",
	"deps/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n",
	"broken/Chart.yaml":         "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
	"broken/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
	"library/Chart.yaml":        "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
	"library/templates/_h.tpl":  "{{- define \"x\" }}{{ end }}\n",
	"k8s/bad.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n",
	"k8s/syntax.yml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  labels: {a: b\n",
	"kust/kustomization.yaml":   "resources:\n- missing.yaml\n",
	"plain/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
	"plain/notes.txt":           "not a manifest\n",
	"plain/sub/deep.json":       `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}}`,
	"plain/sub/deep.yaml.orig":  "ignored by walks\n",
	"values/bad-values.yaml":    "a: [\n",
	"templated/manifests/x.yml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: templated\n",
}

// renderIn writes files into a new directory and renders one config of
// that directory built from p.
func renderIn(t *testing.T, files map[string]string, p schema.Pipeline, opts Options) ([]Manifest, string, error) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return renderAt(t, dir, p, opts)
}

// writeFiles writes files (name -> text) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		f := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// renderAt renders one config of dir built from p.
func renderAt(t *testing.T, dir string, p schema.Pipeline, opts Options) ([]Manifest, string, error) {
	t.Helper()
	var warnings bytes.Buffer
	opts.WorkDir = dir
	opts.Log = log.New(&warnings, log.LevelWarn)
	c := &config.Config{SkaffoldConfig: schema.SkaffoldConfig{Pipeline: p}, File: "skaffold.yaml", Dir: dir}
	ms, err := Render(context.Background(), []*config.Config{c}, opts)
	return ms, warnings.String(), err
}

func raw(paths ...string) schema.Pipeline {
	return schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{RawK8s: paths}}}
}

func releases(rels ...schema.HelmRelease) schema.Pipeline {
	return schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{Helm: &schema.Helm{Releases: rels}}}}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	yes := true
	tests := []struct {
		name string
		p    schema.Pipeline
		want string
	}{
		{"invalid object names file and line", raw("k8s/bad.yaml"), "k8s/bad.yaml:8: the object has no metadata.name"},
		{"invalid YAML names file and line", raw("k8s/syntax.yml"), "k8s/syntax.yml:5: invalid YAML: "},
		{"missing file", raw("k8s/nope.yaml"), "skaffold.yaml: manifests.rawYaml[0] (k8s/nope.yaml): k8s/nope.yaml does not exist"},
		{"URL", raw("https://example.com/app.yaml"), "manifests.rawYaml[0] (https://example.com/app.yaml): manifests from URLs are not supported by skiff yet"},
		{"GCS", raw("gs://bucket/app.yaml"), "manifests from Google Cloud Storage are not supported by skiff yet"},
		{"bad template", raw("{{.X"), "manifests.rawYaml[0] ({{.X): template"},
		{"kustomize --enable-helm", schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{Kustomize: &schema.Kustomize{Paths: []string{"kust"}, BuildArgs: []string{"--enable-helm"}}}}},
			"manifests.kustomize.buildArgs: --enable-helm is not supported by skiff: render Helm charts with manifests.helm instead"},
		{"kustomize failure", schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{Kustomize: &schema.Kustomize{Paths: []string{"kust"}}}}},
			"manifests.kustomize.paths[0] (kust): kustomize build kust: "},
		{"kustomize URL", schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{Kustomize: &schema.Kustomize{Paths: []string{"https://github.com/x/y"}}}}},
			"remote kustomizations are not supported by skiff yet"},
		{"remote chart", releases(schema.HelmRelease{Name: "r", RemoteChart: "bitnami/redis"}),
			"skaffold.yaml: manifests.helm.releases[0] (r): remoteChart bitnami/redis is not supported when rendering (skiff fetches remote charts only to install deploy.helm's releases): fetch the chart locally (helm pull bitnami/redis --untar)"},
		{"chart repo", releases(schema.HelmRelease{Name: "r", ChartPath: "redis", Repo: "https://charts.example.com"}),
			"repo https://charts.example.com is not supported when rendering"},
		{"helm secrets", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", UseHelmSecrets: true}),
			"useHelmSecrets is not supported by skiff"},
		{"no release name", releases(schema.HelmRelease{ChartPath: "chart"}), "the release has no name; set name"},
		{"no chart", releases(schema.HelmRelease{Name: "r", ChartPath: "nochart"}), "manifests.helm.releases[0] (r): loading chart nochart: "},
		{"library chart", releases(schema.HelmRelease{Name: "r", ChartPath: "library"}), "chart library is a library chart, which cannot be installed"},
		{"remote dependency", releases(schema.HelmRelease{Name: "r", ChartPath: "deps"}),
			"chart deps: found in Chart.yaml, but missing in charts/ directory: redis; skiff builds file:// dependencies itself, but others must be fetched first: run helm dependency build deps"},
		{"skipped dependency build", releases(schema.HelmRelease{Name: "r", ChartPath: "deps", SkipBuildDependencies: true}),
			"run helm dependency build deps, or unset skipBuildDependencies"},
		{"chart renders an invalid object", releases(schema.HelmRelease{Name: "r", ChartPath: "broken"}),
			"manifests.helm.releases[0] (r): broken/templates/cm.yaml: the object has no metadata.name"},
		{"invalid values file", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", ValuesFiles: []string{"values/bad-values.yaml"}}),
			"values file values/bad-values.yaml: invalid YAML"},
		{"missing values file", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", ValuesFiles: []string{"values/nope.yaml"}}),
			"valuesFiles[0]: stat "},
		{"bad --set", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", SetValues: schema.FlatMap{"a": "b,c"}}),
			"setValues a: key \"c\" has no value"},
		{"helm template flags", schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{Helm: &schema.Helm{
			Flags:    schema.HelmDeployFlags{Template: []string{"--skip-crds"}},
			Releases: []schema.HelmRelease{{Name: "r", ChartPath: "chart"}},
		}}}}, "skaffold.yaml: manifests.helm.flags.template (--skip-crds): helm flags are not supported by skiff"},
		{"deploy.helm flags", schema.Pipeline{Deploy: schema.DeployConfig{DeployType: schema.DeployType{HelmDeploy: &schema.HelmDeploy{
			Flags:    schema.HelmDeployFlags{Global: []string{"--kube-context", "other"}},
			Releases: []schema.HelmRelease{{Name: "r", ChartPath: "chart", CreateNamespace: &yes}},
		}}}}, "skaffold.yaml: deploy.helm.flags.global (--kube-context other)"},
		{"deploy.helm release", schema.Pipeline{Deploy: schema.DeployConfig{DeployType: schema.DeployType{HelmDeploy: &schema.HelmDeploy{
			Releases: []schema.HelmRelease{{Name: "r", RemoteChart: "oci://example.com/c"}},
		}}}}, "skaffold.yaml: deploy.helm.releases[0] (r): remoteChart oci://example.com/c is not supported"},
		{"bad kube version", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", Version: "1.2.3"}), ""},
		{"resource selector without kind", schema.Pipeline{ResourceSelector: schema.ResourceSelectorConfig{Allow: []schema.ResourceFilter{{Image: []string{".*"}}}}},
			"skaffold.yaml: resourceSelector.allow[0] has groupKind \"\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{}
			if tc.name == "bad kube version" {
				opts.KubeVersion = "latest"
				tc.want = "Kubernetes version \"latest\": "
			}
			_, _, err := renderIn(t, testFiles, tc.p, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render error = %v\nwant one containing %q", err, tc.want)
			}
		})
	}
}

func TestRenderRawPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		paths   []string
		env     config.Env
		want    []string // Ref@Source
		warning string
	}{
		{"directory: manifest files only, walked in order", []string{"plain"}, nil,
			[]string{"configmap/plain@plain/cm.yaml:1", "configmap/deep@plain/sub/deep.json:1"}, ""},
		{"a file named directly is read whatever its name", []string{"plain/sub/deep.json", "plain/cm.yaml", "plain/*.yaml"}, nil,
			[]string{"configmap/deep@plain/sub/deep.json:1", "configmap/plain@plain/cm.yaml:1"}, ""},
		{"a glob matching nothing warns, as in Skaffold", []string{"k8s/*.yaml", "nothing/*.yaml"}, nil,
			nil, "WARN: manifests: k8s/*.yaml matches no file\nWARN: manifests: nothing/*.yaml matches no file\n"},
		{"templated path", []string{"{{.DIR}}/manifests/*.yml"}, config.Env{"DIR": "templated"},
			[]string{"configmap/templated@templated/manifests/x.yml:1"}, ""},
	}
	files := map[string]string{}
	for k, v := range testFiles {
		if !strings.HasPrefix(k, "k8s/") {
			files[k] = v
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms, warnings, err := renderIn(t, files, raw(tc.paths...), Options{Env: tc.env})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Ref()+"@"+m.Source.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("rendered %v, want %v", got, tc.want)
			}
			if warnings != tc.warning {
				t.Errorf("warnings %q, want %q", warnings, tc.warning)
			}
		})
	}
}

func TestRenderDuplicates(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\ndata: {k: v}\n",
		"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\ndata: {k: v}\n",
		"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\ndata: {k: other}\n",
	}
	ms, warnings, err := renderIn(t, files, raw("a.yaml", "b.yaml", "c.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Source.File != "a.yaml" || ms[1].Source.File != "c.yaml" {
		t.Errorf("rendered %d manifests (%v); want the identical copy dropped", len(ms), ms)
	}
	if want := "WARN: configmap/same is rendered twice, from a.yaml:1 and from c.yaml:1; the second one wins\n"; warnings != want {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
}

func TestKustomizeOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    string // LoadRestrictions/Reorder
		wantErr string
	}{
		{nil, "RootOnly/unspecified", ""},
		{[]string{"--load-restrictor LoadRestrictionsNone"}, "None/unspecified", ""},
		{[]string{"--load-restrictor=LoadRestrictionsNone", "--reorder", "none"}, "None/none", ""},
		{[]string{"--load_restrictor none --reorder=legacy"}, "None/legacy", ""},
		{[]string{"--load-restrictor"}, "", "--load-restrictor needs a value"},
		{[]string{"--load-restrictor=everything"}, "", "--load-restrictor everything: use LoadRestrictionsRootOnly or LoadRestrictionsNone"},
		{[]string{"--reorder=random"}, "", "--reorder random: use legacy or none"},
		{[]string{"--enable-alpha-plugins"}, "", "kustomize flag --enable-alpha-plugins is not supported by skiff"},
	}
	for _, tc := range tests {
		opts, err := kustomizeOptions(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("kustomizeOptions(%q) error = %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("kustomizeOptions(%q): %v", tc.args, err)
			continue
		}
		got := strings.TrimPrefix(opts.LoadRestrictions.String(), "LoadRestrictions") + "/" + string(opts.Reorder)
		if got != tc.want {
			t.Errorf("kustomizeOptions(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}
