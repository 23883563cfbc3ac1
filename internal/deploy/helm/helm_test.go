package helm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/provenance"
	"helm.sh/helm/v3/pkg/repo"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/deploy/helmflag"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/testutil"
)

// fakeDeployer is a Deployer whose releases are stored in memory and
// whose cluster accepts everything, and its output.
func fakeDeployer(t *testing.T, opts Options) (*Deployer, *action.Configuration, *testutil.Buffer) {
	t.Helper()
	out := &testutil.Buffer{}
	opts.Out = out
	d, err := New(&kube.Config{Context: "fake", REST: &rest.Config{}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	mem := driver.NewMemory()
	mem.SetNamespace("team")
	cfg := &action.Configuration{
		Releases:     storage.Init(mem),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: chartutil.DefaultCapabilities,
		Log:          func(string, ...any) {},
	}
	d.configure = func(ns string) (*action.Configuration, error) { return cfg, nil }
	return d, cfg, out
}

// webChart is a chart with a Deployment of one replica.
func webChart() *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "web", Version: "0.1.0"},
		Templates: []*chart.File{{Name: "templates/deploy.yaml", Data: []byte(
			"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n")}},
	}
}

func TestDeployInstallsUpgradesAndUninstalls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "five.sh"), []byte("#!/bin/sh\nsed 's/replicas: 1$/replicas: 5/'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var seen []string
	d, cfg, out := fakeDeployer(t, Options{PostRender: func(b []byte) ([]byte, error) {
		seen = append(seen, string(b))
		return append(b, "  # skiff\n"...), nil
	}})
	in := render.HelmInstall{
		Name: "web", Namespace: "team", Chart: webChart(), UpgradeOnChange: true, Dir: dir, RecreatePods: true,
		Flags: schema.HelmDeployFlags{Install: []string{"--post-renderer", "./five.sh"}, Upgrade: []string{"--description=second", "--wait"}},
		Where: "skaffold.yaml: deploy.helm.releases[0] (web)",
	}
	ctx := context.Background()
	if _, err := d.Deploy(ctx, []render.HelmInstall{in}); err != nil {
		t.Fatal(err)
	}
	rel, err := action.NewGet(cfg).Run("web")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Version != 1 || !strings.Contains(rel.Manifest, "replicas: 5\n  # skiff") {
		t.Errorf("install: revision %d, manifest\n%s\nwant revision 1, the flags' post-renderer then skiff's", rel.Version, rel.Manifest)
	}
	if len(seen) != 1 || !strings.Contains(seen[0], "replicas: 5") {
		t.Errorf("skiff's post-render saw %q, want the flags' post-renderer's output", seen)
	}

	if _, err := d.Deploy(ctx, []render.HelmInstall{in}); err != nil {
		t.Fatal(err)
	}
	if rel, err = action.NewGet(cfg).Run("web"); err != nil {
		t.Fatal(err)
	}
	if rel.Version != 2 || rel.Info.Description != "second" || !strings.Contains(rel.Manifest, "replicas: 1\n  # skiff") {
		t.Errorf("upgrade: revision %d, description %q, manifest\n%s\nwant revision 2 with flags.upgrade (no post-renderer there)", rel.Version, rel.Info.Description, rel.Manifest)
	}

	in.UpgradeOnChange = false
	if _, err := d.Deploy(ctx, []render.HelmInstall{in}); err != nil {
		t.Fatal(err)
	}
	if h, _ := action.NewHistory(cfg).Run("web"); len(h) != 2 {
		t.Errorf("%d revisions after a deploy with upgradeOnChange off, want 2", len(h))
	}
	for _, want := range []string{
		" - helm release web (namespace team) installed: revision 1, chart web-0.1.0\n",
		" - helm release web: --wait is left to skiff's status check",
		" - helm release web (namespace team) upgraded: revision 2, chart web-0.1.0\n",
		" - helm release web (namespace team) left at revision 2: upgradeOnChange is off\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	dry, _, dryOut := fakeDeployer(t, Options{DryRun: true})
	dry.configure = d.configure
	if err := dry.Delete(ctx, []render.HelmInstall{in}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dryOut.String(), "revision 2 would be uninstalled (dry run)") {
		t.Errorf("dry run output: %s", dryOut.String())
	}
	if err := d.Delete(ctx, []render.HelmInstall{in}); err != nil {
		t.Fatal(err)
	}
	if _, err := action.NewHistory(cfg).Run("web"); err == nil {
		t.Error("the release is still recorded after Delete")
	}
	if err := d.Delete(ctx, []render.HelmInstall{in}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "uninstalled\n") || !strings.Contains(out.String(), "not installed, nothing to uninstall") {
		t.Errorf("delete output:\n%s", out.String())
	}
}

func TestDeployErrors(t *testing.T) {
	t.Parallel()
	where := "skaffold.yaml: deploy.helm.releases[0] (web)"
	tests := []struct {
		name  string
		flags schema.HelmDeployFlags
		want  string
	}{
		{"unknown flag", schema.HelmDeployFlags{Install: []string{"--frobnicate"}}, where + ": flags.install: helm flag --frobnicate is not supported by skiff"},
		{"global flag", schema.HelmDeployFlags{Global: []string{"--kubeconfig", "x"}}, where + ": flags.global: helm flag --kubeconfig is not supported"},
		{"missing post-renderer", schema.HelmDeployFlags{Install: []string{"--post-renderer=./nothing.sh"}}, where + ": --post-renderer ./nothing.sh: "},
		{"post-renderer args alone", schema.HelmDeployFlags{Install: []string{"--post-renderer-args", "x"}}, "--post-renderer-args x without --post-renderer"},
		{"failing post-renderer", schema.HelmDeployFlags{Install: []string{"--post-renderer", "false"}}, "post-renderer false: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, _, _ := fakeDeployer(t, Options{})
			in := render.HelmInstall{Name: "web", Namespace: "team", Chart: webChart(), Dir: t.TempDir(), Flags: tc.flags, Where: where}
			_, err := d.Deploy(context.Background(), []render.HelmInstall{in})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Deploy = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// chartRepository serves a chart repository on loopback: its index.yaml
// and the archive of chart web 1.2.3, at the URL it returns.
func chartRepository(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ch := webChart()
	ch.Metadata.Version = "1.2.3"
	archive, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := provenance.DigestFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var index []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repo/index.yaml":
			w.Write(index)
		case "/repo/web-1.2.3.tgz":
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	idx := repo.NewIndexFile()
	if err := idx.MustAdd(ch.Metadata, "web-1.2.3.tgz", srv.URL+"/repo", digest); err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if index, err = os.ReadFile(filepath.Join(dir, "index.yaml")); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/repo"
}

// TestFetchChartFromHTTPRepository fetches a chart through a chart
// repository's index.yaml, served on loopback.
func TestFetchChartFromHTTPRepository(t *testing.T) {
	t.Parallel()
	url := chartRepository(t)
	got, err := fetchChart(context.Background(), render.HelmInstall{RemoteChart: "web", Repo: url, Version: "1.2.3"}, helmflag.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "web" || got.Metadata.Version != "1.2.3" {
		t.Errorf("fetched chart %s-%s, want web-1.2.3", got.Name(), got.Metadata.Version)
	}
	_, err = fetchChart(context.Background(), render.HelmInstall{RemoteChart: "web", Repo: url, Version: "9.9.9"}, helmflag.Settings{})
	if err == nil || !strings.Contains(err.Error(), "finding chart web from repository "+url) {
		t.Errorf("fetching a version the repository lacks: %v", err)
	}
	_, err = fetchChart(context.Background(), render.HelmInstall{RemoteChart: "bitnami/redis"}, helmflag.Settings{})
	if err == nil || !strings.Contains(err.Error(), "set repo to the repository's URL and remoteChart to the chart's name (redis)") {
		t.Errorf("fetching a chart of a helm repo add repository: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1:5001": true, "localhost": true, "[::1]:5000": true, "localhost:5000": true,
		"10.200.0.1:5000": false, "registry.example.com": false,
	} {
		if got := loopback(host); got != want {
			t.Errorf("loopback(%s) = %v, want %v", host, got, want)
		}
	}
}

// TestBuildDependencies: a local chart's dependency from a chart
// repository is fetched into its charts/ directory before it is
// installed, unless skipBuildDependencies.
func TestBuildDependencies(t *testing.T) {
	t.Parallel()
	url := chartRepository(t)
	dir := t.TempDir()
	files := map[string]string{
		"chart/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: web\n  version: 1.2.3\n  repository: " + url + "\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
		"skaffold.yaml":           "apiVersion: skaffold/v4beta14\nkind: Config\ndeploy:\n  helm:\n    releases:\n    - name: app\n      chartPath: chart\n",
		"skip/skaffold.yaml":      "apiVersion: skaffold/v4beta14\nkind: Config\ndeploy:\n  helm:\n    releases:\n    - name: app\n      chartPath: ../chart\n      skipBuildDependencies: true\n",
	}
	for name, text := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	load := func(file string) []*config.Config {
		p, err := config.Load(config.Options{File: filepath.Join(dir, file), Environ: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Configs
	}
	_, err := render.HelmInstalls(load("skip/skaffold.yaml"), render.Options{WorkDir: dir}, BuildDependencies)
	if err == nil || !strings.Contains(err.Error(), "run helm dependency build") {
		t.Fatalf("with skipBuildDependencies: %v, want the missing dependency reported", err)
	}
	rels, err := render.HelmInstalls(load("skaffold.yaml"), render.Options{WorkDir: dir}, BuildDependencies)
	if err != nil {
		t.Fatal(err)
	}
	deps := rels[0].Chart.Dependencies()
	if len(deps) != 1 || deps[0].Name() != "web" || deps[0].Metadata.Version != "1.2.3" {
		t.Errorf("chart dependencies = %v, want web 1.2.3 from the repository", deps)
	}
	if _, err := os.Stat(filepath.Join(dir, "chart", "charts", "web-1.2.3.tgz")); err != nil {
		t.Errorf("charts/ after the build: %v", err)
	}
}
