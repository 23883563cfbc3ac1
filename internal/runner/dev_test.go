package runner

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/builders"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/watch"
)

func TestDependents(t *testing.T) {
	t.Parallel()
	requires := func(name string, deps ...string) *schema.Artifact {
		a := &schema.Artifact{ImageName: name}
		for _, d := range deps {
			a.Dependencies = append(a.Dependencies, &schema.ArtifactDependency{ImageName: d})
		}
		return a
	}
	// c comes before b, which it requires: the requirement is found
	// whatever the order.
	e := requires("e", "d")
	e.Dependencies = append([]*schema.ArtifactDependency{nil}, e.Dependencies...)
	arts := []*schema.Artifact{requires("a"), requires("c", "b"), requires("b", "a"), requires("d"), e, requires("f", "x")}
	for _, tc := range []struct {
		names, want []string
	}{
		{names: []string{"a"}, want: []string{"a", "b", "c"}},
		{names: []string{"b"}, want: []string{"b", "c"}},
		{names: []string{"c"}, want: []string{"c"}},
		{names: []string{"d"}, want: []string{"d", "e"}},
		{names: []string{"a", "d"}, want: []string{"a", "b", "c", "d", "e"}},
		{names: nil, want: nil},
	} {
		names := map[string]bool{}
		for _, n := range tc.names {
			names[n] = true
		}
		got := slices.Sorted(maps.Keys(dependents(arts, names)))
		if !slices.Equal(got, tc.want) {
			t.Errorf("dependents of %q = %q, want %q", tc.names, got, tc.want)
		}
		if len(names) != len(tc.names) {
			t.Errorf("dependents of %q changed its argument to %v", tc.names, names)
		}
	}
}

// planDev is a dev of a project in dir: base (no sync rules), web
// (requires base; syncs **/*.js to /app), worker (requires web), api
// (syncs **/*.py to /srv), svc (ko, no sync rules) and manifests
// k8s/*.yaml.
func planDev(t *testing.T, dir string, stale ...string) *dev {
	t.Helper()
	withSync := func(a *schema.Artifact, src, dest string, requires ...string) *schema.Artifact {
		a.Sync = &schema.Sync{Manual: []*schema.SyncRule{{Src: src, Dest: dest}}}
		for _, r := range requires {
			a.Dependencies = append(a.Dependencies, &schema.ArtifactDependency{ImageName: r})
		}
		return a
	}
	worker := dockerArtifact("worker", filepath.Join(dir, "worker"), "")
	worker.Dependencies = []*schema.ArtifactDependency{{ImageName: "web"}}
	c := testConfig(dir,
		dockerArtifact("base", filepath.Join(dir, "base"), ""),
		withSync(dockerArtifact("web", filepath.Join(dir, "web"), ""), "**/*.js", "/app", "base"),
		worker,
		withSync(dockerArtifact("api", filepath.Join(dir, "api"), ""), "**/*.py", "/srv"),
		&schema.Artifact{ImageName: "svc", Workspace: filepath.Join(dir, "svc"), ArtifactType: schema.ArtifactType{KoArtifact: &schema.KoArtifact{}}},
	)
	c.Render.RawK8s = []string{"k8s/*.yaml"}
	p := &config.Project{Configs: []*config.Config{c}}
	in, err := newInputs(p, builders.All, build.Env{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	d := &dev{r: New(Options{Project: p}), in: in, rules: rules, stale: map[string]bool{}, built: map[string]artifact.Image{}, retest: map[string]bool{}, ctl: NewControl(Auto{})}
	for _, n := range stale {
		d.stale[n] = true
	}
	return d
}

func TestPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	writeJS := func(rel, dest string) sync.Op {
		return sync.Op{Kind: sync.Write, Local: at(rel), Base: at("web"), Dest: dest, Root: "/app"}
	}
	for _, tc := range []struct {
		name             string
		stale            []string
		watch            []string // -w
		changed, removed []string
		removedDirs      []string // of removed, those that were directories
		wantSyncs        map[string][]sync.Op
		wantRebuild      []string
		wantRedeploy     bool
	}{
		{
			name:      "covered changes sync",
			changed:   []string{"web/a.js", "web/lib/b.js", "api/main.py"},
			wantSyncs: map[string][]sync.Op{"web": {writeJS("web/a.js", "/app/a.js"), writeJS("web/lib/b.js", "/app/lib/b.js")}, "api": {{Kind: sync.Write, Local: at("api/main.py"), Base: at("api"), Dest: "/srv/main.py", Root: "/srv"}}},
		},
		{
			name:        "an uncovered change rebuilds the artifact and those that require it",
			changed:     []string{"web/Dockerfile", "api/main.py"},
			wantSyncs:   map[string][]sync.Op{"api": {{Kind: sync.Write, Local: at("api/main.py"), Base: at("api"), Dest: "/srv/main.py", Root: "/srv"}}},
			wantRebuild: []string{"web", "worker"},
		},
		{
			name:        "a rebuilt requirement drops the syncs of what requires it",
			changed:     []string{"base/go.mod", "web/a.js"},
			wantRebuild: []string{"base", "web", "worker"},
		},
		{
			name:        "one uncovered file rebuilds even with covered ones",
			changed:     []string{"web/a.js", "web/package.json"},
			wantRebuild: []string{"web", "worker"},
		},
		{
			name:      "removing a covered file deletes it",
			removed:   []string{"web/old.js"},
			wantSyncs: map[string][]sync.Op{"web": {{Kind: sync.Delete, Local: at("web/old.js"), Base: at("web"), Dest: "/app/old.js", Root: "/app"}}},
		},
		{
			name:      "deletions come before writes",
			changed:   []string{"web/a.js"},
			removed:   []string{"web/old.js"},
			wantSyncs: map[string][]sync.Op{"web": {{Kind: sync.Delete, Local: at("web/old.js"), Base: at("web"), Dest: "/app/old.js", Root: "/app"}, writeJS("web/a.js", "/app/a.js")}},
		},
		{
			name:        "a stale artifact is rebuilt even when its change is covered",
			stale:       []string{"web"},
			changed:     []string{"web/a.js"},
			wantRebuild: []string{"web", "worker"},
		},
		{
			// A removed directory is listed alone: the Go files that were
			// in it are gone with it.
			name:        "removing a directory that held sources rebuilds",
			removed:     []string{"svc/pkg"},
			removedDirs: []string{"svc/pkg"},
			wantRebuild: []string{"svc"},
		},
		{
			name:    "removing a file that is no source of a ko artifact does nothing",
			removed: []string{"svc/NOTES.md"},
		},
		{
			name:    "a file that is no source of a ko artifact does nothing",
			changed: []string{"svc/README.md"},
		},
		{
			name:      "with -w, only the watched artifacts' changes count",
			watch:     []string{"ap"},
			changed:   []string{"web/Dockerfile", "api/main.py"},
			wantSyncs: map[string][]sync.Op{"api": {{Kind: sync.Write, Local: at("api/main.py"), Base: at("api"), Dest: "/srv/main.py", Root: "/srv"}}},
		},
		{
			name:         "a manifest change redeploys",
			changed:      []string{"k8s/web.yaml"},
			wantRedeploy: true,
		},
		{
			name:         "a removed manifest redeploys",
			removed:      []string{"k8s/old.yaml"},
			wantRedeploy: true,
		},
		{
			name:    "a file of nothing does nothing",
			changed: []string{"README.md", "k8s/notes.txt"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := planDev(t, dir, tc.stale...)
			d.opts.Watch = tc.watch
			var b watch.Batch
			for _, p := range tc.changed {
				b.Changed = append(b.Changed, at(p))
			}
			for _, p := range tc.removed {
				b.Removed = append(b.Removed, at(p))
			}
			for _, p := range tc.removedDirs {
				b.RemovedDirs = append(b.RemovedDirs, at(p))
			}
			syncs, rebuild, redeploy := d.plan(b)
			if !maps.EqualFunc(syncs, tc.wantSyncs, slices.Equal) {
				t.Errorf("syncs %v, want %v", syncs, tc.wantSyncs)
			}
			if !slices.Equal(rebuild, tc.wantRebuild) {
				t.Errorf("rebuild %q, want %q", rebuild, tc.wantRebuild)
			}
			if redeploy != tc.wantRedeploy {
				t.Errorf("redeploy %v, want %v", redeploy, tc.wantRedeploy)
			}
		})
	}
}

func TestReloads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := planDev(t, dir)
	cfg := filepath.Join(dir, "skaffold.yaml")
	for _, tc := range []struct {
		b    watch.Batch
		want bool
	}{
		{b: watch.Batch{Changed: []string{cfg}}, want: true},
		{b: watch.Batch{Removed: []string{cfg}}, want: true},
		{b: watch.Batch{Changed: []string{filepath.Join(dir, "web", "skaffold.yaml"), filepath.Join(dir, "k8s", "web.yaml")}}, want: false},
	} {
		if got := d.reloads(tc.b); got != tc.want {
			t.Errorf("reloads(%v) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	op := func(local, dest string) sync.Op { return sync.Op{Kind: sync.Write, Local: local, Dest: dest} }
	for _, tc := range []struct {
		ops  []sync.Op
		want string
	}{
		{ops: []sync.Op{op("/src/a", "/app/a")}, want: "1 file"},
		// One file synced to two destinations is one file.
		{ops: []sync.Op{op("/src/a", "/app/a"), op("/src/a", "/srv/a")}, want: "1 file"},
		// Deletions are not counted as synced files.
		{ops: []sync.Op{op("/src/a", "/app/a"), op("/src/b", "/app/b"), {Kind: sync.Delete, Local: "/src/c", Dest: "/app/c"}}, want: "2 files and 1 deletion"},
		{ops: []sync.Op{{Kind: sync.Delete, Local: "/src/c", Dest: "/app/c"}, {Kind: sync.Delete, Local: "/src/d", Dest: "/app/d"}}, want: "2 deletions"},
		{ops: nil, want: "0 files"},
	} {
		if got := files(tc.ops); got != tc.want {
			t.Errorf("files(%v) = %q, want %q", tc.ops, got, tc.want)
		}
	}
}

func TestContainersWording(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		unit string
		want string
	}{
		{n: 1, unit: kubeTarget{}.unit(), want: "1 pod"},
		{n: 2, unit: kubeTarget{}.unit(), want: "2 pods"},
		{n: 0, unit: kubeTarget{}.unit(), want: "0 pods"},
		{n: 1, unit: dockerTarget{}.unit(), want: "1 container"},
		{n: 2, unit: dockerTarget{}.unit(), want: "2 containers"},
	} {
		if got := plural(tc.n, tc.unit); got != tc.want {
			t.Errorf("plural(%d, %q) = %q, want %q", tc.n, tc.unit, got, tc.want)
		}
	}
}

// With --auto-sync, --auto-build and --auto-deploy off, changes wait for
// Enter (release) instead of being synced, built or deployed.
func TestHeldBackUntilRelease(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	d := planDev(t, dir)
	var errOut bytes.Buffer
	d.r.opts.ErrOut = &errOut
	// The deploy must fail before it reaches any cluster.
	d.r.opts.KubeContext = "skiff-unit-test-no-such-context"
	var built [][]string
	d.build = (func(_ context.Context, names []string) ([]artifact.Image, error) {
		built = append(built, names)
		var out []artifact.Image
		for _, n := range names {
			out = append(out, artifact.Image{Name: n, Ref: "registry/" + n + ":2"})
		}
		return out, nil
	})
	d.images = map[string]artifact.Image{"web": {Name: "web", Ref: "registry/web:1"}, "api": {Name: "api", Ref: "registry/api:1"}}
	d.heldSyncs, d.heldBuilds = map[string][]sync.Op{}, map[string]bool{}
	source := &fakeSource{}
	source.set(map[string][]string{"registry/api:1": {"api-0"}})
	transport := &fakeTransport{}
	d.syncer = newSyncer(source, func(container) sync.Transport { return transport })

	ctx := context.Background()
	d.iterate(ctx, watch.Batch{Changed: []string{at("api/main.py"), at("svc/main.go")}})
	if sent := transport.take(); len(sent) != 0 || len(built) != 0 {
		t.Fatalf("with everything held back, sent %v and built %v", sent, built)
	}
	for _, want := range []string{"api: 1 file ready to sync; press Enter", "svc changed; press Enter to rebuild"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, errOut.String())
		}
	}

	// Enter does everything held back: the sync, then the build and the
	// deploy (which fails here: the kube context does not exist).
	d.release(ctx)
	if sent := transport.take(); len(sent["api-0"]) != 1 || sent["api-0"][0].Dest != "/srv/main.py" {
		t.Errorf("after Enter, sent %v, want /srv/main.py to api-0", sent)
	}
	if len(built) != 1 || !slices.Equal(built[0], []string{"svc"}) {
		t.Errorf("after Enter, built %v, want [svc]", built)
	}
	if d.images["svc"].Ref != "registry/svc:2" {
		t.Errorf("svc's image is %q after the build, want registry/svc:2", d.images["svc"].Ref)
	}
	if d.heldDeploy || strings.Contains(errOut.String(), "press Enter to redeploy") || !strings.Contains(errOut.String(), "the deploy failed") {
		t.Errorf("Enter should build and deploy at once:\n%s", errOut.String())
	}
}

// Control drives the loop as the HTTP API does: turning auto-sync on
// syncs what it held back, a build trigger builds what auto-build held
// back (or the images asked for, or everything), a deploy trigger
// deploys.
func TestControlTriggersAndReleases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	d := planDev(t, dir)
	var errOut bytes.Buffer
	d.r.opts.ErrOut = &errOut
	d.r.opts.KubeContext = "skiff-unit-test-no-such-context" // deploys fail before any cluster
	var built [][]string
	d.build = func(_ context.Context, names []string) ([]artifact.Image, error) {
		built = append(built, names)
		var out []artifact.Image
		for _, n := range names {
			out = append(out, artifact.Image{Name: n, Ref: "registry/" + n + ":2"})
		}
		return out, nil
	}
	d.images = map[string]artifact.Image{"web": {Name: "web", Ref: "registry/web:1"}, "api": {Name: "api", Ref: "registry/api:1"}}
	d.heldSyncs, d.heldBuilds = map[string][]sync.Op{}, map[string]bool{}
	source := &fakeSource{}
	source.set(map[string][]string{"registry/api:1": {"api-0"}})
	transport := &fakeTransport{}
	d.syncer = newSyncer(source, func(container) sync.Transport { return transport })
	ctx := context.Background()
	woken := func() bool {
		select {
		case <-d.ctl.wake:
			return true
		default:
			return false
		}
	}

	d.iterate(ctx, watch.Batch{Changed: []string{at("api/main.py"), at("svc/main.go")}})
	if changed, err := d.ctl.SetAuto(PhaseSync, true); !changed || err != nil {
		t.Fatalf("SetAuto(sync, true) = %v, %v", changed, err)
	}
	if changed, _ := d.ctl.SetAuto(PhaseSync, true); changed {
		t.Error("turning auto-sync on twice changed it twice")
	}
	if !woken() {
		t.Fatal("turning auto-sync on did not wake the loop")
	}
	d.execute(ctx)
	if sent := transport.take(); len(sent["api-0"]) != 1 || len(built) != 0 {
		t.Fatalf("after auto-sync on, sent %v and built %v, want the held sync only", sent, built)
	}

	d.ctl.Trigger(Phases{Build: true})
	if !woken() {
		t.Fatal("a trigger did not wake the loop")
	}
	d.execute(ctx)
	if len(built) != 1 || !slices.Equal(built[0], []string{"svc"}) || !d.heldDeploy {
		t.Fatalf("after a build trigger, built %v (want [svc]) and held the deploy: %v\n%s", built, d.heldDeploy, errOut.String())
	}

	d.ctl.Trigger(Phases{Deploy: true})
	d.execute(ctx)
	if d.heldDeploy || !strings.Contains(errOut.String(), "Deploy failed") {
		t.Errorf("a deploy trigger should deploy (and fail here):\n%s", errOut.String())
	}

	d.ctl.Trigger(Phases{Build: true, Images: []string{"api"}})
	d.execute(ctx)
	d.ctl.Trigger(Phases{Build: true})
	d.execute(ctx)
	if len(built) != 3 || !slices.Equal(built[1], []string{"api"}) || !slices.Equal(built[2], []string{"api", "base", "svc", "web", "worker"}) {
		t.Errorf("built %v, want [api] then every artifact", built)
	}
	if _, err := d.ctl.SetAuto("test", true); err == nil {
		t.Error("SetAuto of an unknown phase succeeded")
	}
}

// A rebuild held back by --auto-deploy=false waits for Enter to deploy.
func TestDeployHeldBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := planDev(t, dir)
	var errOut bytes.Buffer
	d.r.opts.ErrOut = &errOut
	d.ctl = NewControl(Auto{Build: true, Sync: true})
	d.build = (func(_ context.Context, names []string) ([]artifact.Image, error) {
		return []artifact.Image{{Name: "svc", Ref: "registry/svc:2"}}, nil
	})
	d.images = map[string]artifact.Image{}
	d.heldSyncs, d.heldBuilds = map[string][]sync.Op{}, map[string]bool{}
	d.iterate(context.Background(), watch.Batch{Changed: []string{filepath.Join(dir, "svc", "main.go")}})
	if !d.heldDeploy || !strings.Contains(errOut.String(), "Rebuilt svc in ") || !strings.Contains(errOut.String(), "press Enter to redeploy (--auto-deploy=false)") {
		t.Errorf("the deploy after the build should wait for Enter:\n%s", errOut.String())
	}
}

func TestPlanRemovedDirectoryDeletesWhatWasSynced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	site := dockerArtifact("site", dir, "")
	site.Sync = &schema.Sync{Manual: []*schema.SyncRule{{Src: "data/**", Dest: "/", Strip: "data"}}}
	p := &config.Project{Configs: []*config.Config{testConfig(dir, site)}}
	in, err := newInputs(p, builders.All, build.Env{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	s := newSyncer(&fakeSource{}, func(container) sync.Transport { return &fakeTransport{} })
	d := &dev{r: New(Options{Project: p}), in: in, rules: rules, stale: map[string]bool{}, images: map[string]artifact.Image{"site": {Name: "site", Ref: "site:1"}}, syncer: s}
	// a.txt and sub/b.txt were synced; then data was moved away whole, so
	// the watcher lists only the directory.
	synced, covered := rules["site"].Plan([]string{at("data/a.txt"), at("data/sub/b.txt")}, nil)
	if !covered {
		t.Fatal("the rule does not cover data/a.txt and data/sub/b.txt")
	}
	if _, err := s.Sync(context.Background(), artifact.Image{Name: "site", Ref: "site:1"}, synced); err != nil {
		t.Fatal(err)
	}
	syncs, rebuild, _ := d.plan(watch.Batch{Removed: []string{at("data")}, RemovedDirs: []string{at("data")}})
	if len(rebuild) > 0 {
		t.Fatalf("rebuild %v, want the removal synced", rebuild)
	}
	var deleted []string
	for _, op := range syncs["site"] {
		if op.Kind != sync.Delete {
			t.Errorf("unexpected %v", op)
			continue
		}
		if op.Dest == "/" || op.Dest == op.Root {
			t.Errorf("the plan deletes the rule's destination: %v", op)
		}
		deleted = append(deleted, op.Dest)
	}
	for _, want := range []string{"/a.txt", "/sub/b.txt"} {
		if !slices.Contains(deleted, want) {
			t.Errorf("the plan deletes %v, want %s among them", deleted, want)
		}
	}
}

func TestSyncRulesInferTakesBuildArgsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nARG DEST=/default\nCOPY www $DEST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	site := dockerArtifact("site", dir, "")
	site.DockerArtifact.BuildArgs = map[string]*string{"DEST": nil} // a build arg without a value: Docker takes it from the environment
	site.Sync = &schema.Sync{Infer: []string{"www/**"}}
	p := &config.Project{Configs: []*config.Config{testConfig(dir, site)}, Env: config.Env{"DEST": "/srv"}}
	rules, err := syncRules(p)
	if err != nil {
		t.Fatal(err)
	}
	ops, covered := rules["site"].Plan([]string{filepath.Join(dir, "www", "index.html")}, nil)
	if !covered || len(ops) != 1 || ops[0].Dest != "/srv/index.html" {
		t.Errorf("plan %v (covered %v), want www/index.html written to /srv/index.html as the build would put it", ops, covered)
	}
}
