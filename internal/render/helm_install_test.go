package render

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// installConfig is a config with manifests.helm release "rendered" and
// deploy.helm releases "local" (also in manifests.helm, as configs
// upgraded from skaffold/v2 have it) and "remote".
func installConfig(dir string) *config.Config {
	no := false
	local := schema.HelmRelease{Name: "local", ChartPath: "chart", Namespace: "{{.NS}}",
		SetValueTemplates: schema.FlatMap{"image": "{{.IMAGE_FULLY_QUALIFIED_app}}"},
		Packaged:          &schema.HelmPackaged{Version: "0.2.0-{{.NS}}", AppVersion: "v9"}}
	p := schema.Pipeline{
		Render: schema.RenderConfig{Generate: schema.Generate{Helm: &schema.Helm{Releases: []schema.HelmRelease{
			{Name: "rendered", ChartPath: "chart"}, local,
		}}}},
		Deploy: schema.DeployConfig{DeployType: schema.DeployType{HelmDeploy: &schema.HelmDeploy{
			Flags: schema.HelmDeployFlags{Install: []string{"--atomic"}},
			Releases: []schema.HelmRelease{local,
				{Name: "remote", RemoteChart: "web", Repo: "http://127.0.0.1:1/charts", Version: "1.2.3", UpgradeOnChange: &no}},
		}}},
	}
	return &config.Config{SkaffoldConfig: schema.SkaffoldConfig{Pipeline: p}, File: "skaffold.yaml", Dir: dir}
}

// TestRenderInstallHelmLeavesDeployHelmOut: what skiff installs as Helm
// releases is not also applied, while skiff render still renders it.
func TestRenderInstallHelmLeavesDeployHelmOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, testFiles)
	c := installConfig(dir)
	c.Deploy.HelmDeploy.Releases = c.Deploy.HelmDeploy.Releases[:1] // render cannot fetch "remote"
	names := func(install bool) []string {
		ms, err := Render(context.Background(), []*config.Config{c}, Options{WorkDir: dir, InstallHelm: install, Env: config.Env{"NS": "team"}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Object.GetName())
		}
		return out
	}
	if got := names(false); !slices.Equal(got, []string{"rendered", "local"}) {
		t.Errorf("rendered for skiff render: %v, want [rendered local]", got)
	}
	if got := names(true); !slices.Equal(got, []string{"rendered"}) {
		t.Errorf("rendered to apply: %v, want [rendered] (local is installed with helm)", got)
	}
}

func TestHelmInstalls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, testFiles)
	c := installConfig(dir)
	opts := Options{
		WorkDir:          dir,
		Env:              config.Env{"NS": "team"},
		DefaultNamespace: "ctx-ns",
		Images:           []artifact.Image{{Name: "app", Ref: "reg.example/app:v1"}},
	}
	got, err := HelmInstalls([]*config.Config{c}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("HelmInstalls = %d releases, want 2", len(got))
	}
	local, remote := got[0], got[1]
	if local.Name != "local" || local.Namespace != "team" || local.Chart == nil || local.Chart.Name() != "c" ||
		!local.UpgradeOnChange || local.Dir != dir || local.Where != "skaffold.yaml: deploy.helm.releases[0] (local)" {
		t.Errorf("local release = %+v", local)
	}
	if md := local.Chart.Metadata; md.Version != "0.2.0-team" || md.AppVersion != "v9" {
		t.Errorf("local chart version %s, appVersion %s; want packaged's 0.2.0-team and v9", md.Version, md.AppVersion)
	}
	if !reflect.DeepEqual(local.Values, map[string]any{"image": "reg.example/app:v1"}) {
		t.Errorf("local values = %v, want the built image", local.Values)
	}
	if !slices.Equal(local.Flags.Install, []string{"--atomic"}) {
		t.Errorf("local flags = %+v, want deploy.helm's", local.Flags)
	}
	if remote.Chart != nil || remote.RemoteChart != "web" || remote.Repo != "http://127.0.0.1:1/charts" || remote.Version != "1.2.3" ||
		remote.Namespace != "ctx-ns" || remote.UpgradeOnChange {
		t.Errorf("remote release = %+v", remote)
	}

	// -n wins over the release's namespace; delete needs no chart.
	c.Deploy.HelmDeploy.Releases[0].ChartPath = "missing"
	names, err := HelmReleaseNames([]*config.Config{c}, Options{WorkDir: dir, Namespace: "flag-ns"})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0].Name != "local" || names[0].Namespace != "flag-ns" || names[0].Chart != nil {
		t.Errorf("HelmReleaseNames = %+v", names)
	}

	// Unsupported and broken releases fail, naming the release.
	for _, tc := range []struct {
		rel  schema.HelmRelease
		want string
	}{
		{schema.HelmRelease{Name: "s", ChartPath: "chart", UseHelmSecrets: true}, "deploy.helm.releases[0] (s): useHelmSecrets is not supported"},
		{schema.HelmRelease{Name: "n"}, "deploy.helm.releases[0] (n): the release has neither chartPath nor remoteChart"},
		{schema.HelmRelease{ChartPath: "chart"}, "the release has no name"},
		{schema.HelmRelease{Name: "l", ChartPath: "library"}, "is a library chart"},
	} {
		c.Deploy.HelmDeploy.Releases = []schema.HelmRelease{tc.rel}
		_, err := HelmInstalls([]*config.Config{c}, Options{WorkDir: dir}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("HelmInstalls(%+v) = %v, want an error containing %q", tc.rel, err, tc.want)
		}
	}
}

func TestHelmInstallsDependsOnOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, testFiles)
	c := installConfig(dir)
	rel := func(name string, deps ...string) schema.HelmRelease {
		return schema.HelmRelease{Name: name, ChartPath: "chart", DependsOn: deps}
	}
	c.Deploy.HelmDeploy.Releases = []schema.HelmRelease{rel("web", "api", "db"), rel("api", "db"), rel("db"), rel("other")}
	got, err := HelmInstalls([]*config.Config{c}, Options{WorkDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range got {
		names = append(names, in.Name)
	}
	if want := []string{"db", "api", "web", "other"}; !slices.Equal(names, want) {
		t.Errorf("install order %v, want %v", names, want)
	}
	for _, tc := range []struct {
		rels []schema.HelmRelease
		want string
	}{
		{[]schema.HelmRelease{rel("a", "b"), rel("b", "a")}, "skaffold.yaml: deploy.helm.releases: dependsOn makes a cycle: a -> b -> a"},
		{[]schema.HelmRelease{rel("a", "nope")}, "release a dependsOn nope, which is not a release of this deploy.helm"},
	} {
		c.Deploy.HelmDeploy.Releases = tc.rels
		_, err := HelmInstalls([]*config.Config{c}, Options{WorkDir: dir}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("HelmInstalls = %v, want an error containing %q", err, tc.want)
		}
	}
}
