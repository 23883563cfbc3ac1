package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"skiff.dev/skiff/internal/config/schema"
)

// fakeBuilder records builds and can fail or block per image.
type fakeBuilder struct {
	mu      sync.Mutex
	built   []string
	reqs    map[string]Request
	fail    map[string]error
	running atomic.Int32
	maxRun  atomic.Int32
	delay   time.Duration
}

func (f *fakeBuilder) Build(ctx context.Context, a *schema.Artifact, req Request) (Built, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxRun.Load()
		if n <= m || f.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return Built{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[a.ImageName]; err != nil {
		return Built{}, err
	}
	f.built = append(f.built, a.ImageName)
	if f.reqs == nil {
		f.reqs = map[string]Request{}
	}
	f.reqs[a.ImageName] = req
	fmt.Fprintf(req.Out, "built %s\n", a.ImageName)
	return Built{DaemonID: "sha256:id-" + a.ImageName}, nil
}

// fakePublisher "pushes" by recording a digest per ref and knows which
// digests still exist.
type fakePublisher struct {
	mu     sync.Mutex
	exists map[string]bool // digest -> present
	tagged []string
}

func (p *fakePublisher) Publish(_ context.Context, ref string, b Built, push bool) (Published, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !push {
		return Published{ImageID: b.DaemonID}, nil
	}
	d := "sha256:" + strings.Repeat("0", 10) + strings.TrimPrefix(b.DaemonID, "sha256:id-")
	if p.exists == nil {
		p.exists = map[string]bool{}
	}
	p.exists[d] = true
	return Published{Digest: d}, nil
}

func (p *fakePublisher) Reuse(_ context.Context, ref string, e CacheEntry, push bool) (Published, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.exists[e.Digest] {
		return Published{}, false, nil
	}
	if e.Ref != ref {
		p.tagged = append(p.tagged, ref)
	}
	return Published{Digest: e.Digest}, true, nil
}

type fixedTagger string

func (t fixedTagger) GenerateTag(context.Context, *schema.Artifact) (string, error) {
	return string(t), nil
}

// dockerArtifact is a Docker artifact named name in dir/name that requires the named artifacts.
func dockerArtifact(dir, name string, requires ...string) *schema.Artifact {
	a := &schema.Artifact{ImageName: name, Workspace: filepath.Join(dir, name)}
	a.DockerArtifact = &schema.DockerArtifact{DockerfilePath: "Dockerfile"}
	for _, r := range requires {
		a.Dependencies = append(a.Dependencies, &schema.ArtifactDependency{ImageName: r, Alias: strings.ToUpper(r)})
	}
	return a
}

// project writes one source file per artifact and returns options wired
// to the fakes.
func project(t *testing.T, names ...string) (string, Options, *fakeBuilder, *fakePublisher) {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n, "main.go"), []byte("package main // "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fb := &fakeBuilder{}
	fp := &fakePublisher{}
	cache, err := OpenCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := Options{
		Builders:  map[string]Builder{"docker": fb},
		Tagger:    fixedTagger("v1"),
		Publisher: fp,
		Cache:     cache,
		Push:      true,
		Deps: func(_ context.Context, a *schema.Artifact) ([]string, error) {
			return []string{"main.go"}, nil
		},
		Repo:     func(image string) (string, error) { return "localhost:5000/" + image, nil },
		Progress: &out,
	}
	return dir, opts, fb, fp
}

func TestRunBuildsInDependencyOrder(t *testing.T) {
	t.Parallel()
	dir, opts, fb, _ := project(t, "app", "base", "tools")
	opts.Concurrency = 0
	arts := []*schema.Artifact{dockerArtifact(dir, "app", "base", "tools"), dockerArtifact(dir, "base"), dockerArtifact(dir, "tools", "base")}
	res, err := Run(context.Background(), arts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "tools", "app"}; !slices.Equal(fb.built, want) {
		t.Errorf("built %v, want %v", fb.built, want)
	}
	if res[0].Name != "app" || !strings.HasPrefix(res[0].Ref, "localhost:5000/app:v1@sha256:") {
		t.Errorf("result[0] = %+v", res[0])
	}
	req := fb.reqs["app"]
	if len(req.Requires) != 2 || req.Requires[0].Alias != "BASE" || req.Requires[0].Ref != res[1].Ref {
		t.Errorf("app's requires = %+v, want BASE -> %s", req.Requires, res[1].Ref)
	}
}

func TestRunHonoursConcurrency(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "c", "d", "e"}
	dir, opts, fb, _ := project(t, names...)
	fb.delay = 20 * time.Millisecond
	var arts []*schema.Artifact
	for _, n := range names {
		arts = append(arts, dockerArtifact(dir, n))
	}
	opts.Concurrency = 2
	if _, err := Run(context.Background(), arts, opts); err != nil {
		t.Fatal(err)
	}
	if m := fb.maxRun.Load(); m > 2 || m < 1 {
		t.Errorf("%d builds ran at once, want at most 2", m)
	}
}

func TestRunStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	dir, opts, fb, _ := project(t, "app", "base", "other")
	fb.fail = map[string]error{"base": errors.New("step 2 failed")}
	arts := []*schema.Artifact{dockerArtifact(dir, "app", "base"), dockerArtifact(dir, "base"), dockerArtifact(dir, "other")}
	_, err := Run(context.Background(), arts, opts)
	if err == nil || !strings.Contains(err.Error(), `building artifact "base": step 2 failed`) {
		t.Fatalf("error = %v, want base's failure", err)
	}
	if slices.Contains(fb.built, "app") {
		t.Error("app was built although base, which it requires, failed")
	}
}

func TestRunCache(t *testing.T) {
	t.Parallel()
	dir, opts, fb, fp := project(t, "app", "base")
	arts := func() []*schema.Artifact {
		return []*schema.Artifact{dockerArtifact(dir, "app", "base"), dockerArtifact(dir, "base")}
	}
	first, err := Run(context.Background(), arts(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changed: nothing is built, and the references are the same.
	fb.built = nil
	second, err := Run(context.Background(), arts(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fb.built) != 0 || !slices.Equal(first, second) {
		t.Errorf("unchanged rebuild built %v; results %v then %v", fb.built, first, second)
	}
	// The cache survives a save and reopen.
	if err := opts.Cache.Save(); err != nil {
		t.Fatal(err)
	}
	if opts.Cache, err = OpenCache(filepath.Join(dir, "cache")); err != nil {
		t.Fatal(err)
	}
	// A change to app rebuilds app only; a change to base rebuilds both.
	if err := os.WriteFile(filepath.Join(dir, "app", "main.go"), []byte("package main // changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), arts(), opts); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fb.built, []string{"app"}) {
		t.Errorf("after changing app, built %v, want [app]", fb.built)
	}
	fb.built = nil
	if err := os.WriteFile(filepath.Join(dir, "base", "main.go"), []byte("package main // changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), arts(), opts); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fb.built, []string{"base", "app"}) {
		t.Errorf("after changing base, built %v, want [base app]", fb.built)
	}
	// A new tag for an unchanged image tags the cached image, no build.
	fb.built = nil
	opts.Tag = "v2"
	res, err := Run(context.Background(), arts(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fb.built) != 0 || len(fp.tagged) != 2 || !strings.Contains(res[0].Ref, ":v2@sha256:") {
		t.Errorf("retag built %v, tagged %v, results %v", fb.built, fp.tagged, res)
	}
	// An image deleted from the registry is rebuilt.
	fb.built = nil
	clear(fp.exists)
	if _, err := Run(context.Background(), arts(), opts); err != nil {
		t.Fatal(err)
	}
	if len(fb.built) != 2 {
		t.Errorf("after the images vanished, built %v, want both", fb.built)
	}
}

func TestRunDryRunBuildsNothing(t *testing.T) {
	t.Parallel()
	dir, opts, fb, _ := project(t, "app")
	opts.DryRun = true
	res, err := Run(context.Background(), []*schema.Artifact{dockerArtifact(dir, "app")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fb.built) != 0 || res[0].Ref != "localhost:5000/app:v1" {
		t.Errorf("dry run built %v, result %v", fb.built, res)
	}
}

func TestRunRejectsMissingRequirement(t *testing.T) {
	t.Parallel()
	dir, opts, _, _ := project(t, "app")
	_, err := Run(context.Background(), []*schema.Artifact{dockerArtifact(dir, "app", "base")}, opts)
	if err == nil || !strings.Contains(err.Error(), `requires "base"`) {
		t.Fatalf("error = %v", err)
	}
}

func TestCacheSaveIsAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := OpenCache(filepath.Join(dir, "sub", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	c.Put("k", CacheEntry{Digest: "sha256:abc", Ref: "r:t"})
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "sub"))
	if len(entries) != 1 {
		t.Errorf("cache dir holds %d files, want only the cache (no temporary left)", len(entries))
	}
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt cache: %v", err)
	}
}

// TestRunSaysWhatTheCacheSaid: with a cache, each artifact's progress
// says whether it was found (not rebuilt) or not (built), as Skaffold's
// "Checking cache..." lines do; without one, nothing about a cache.
func TestRunSaysWhatTheCacheSaid(t *testing.T) {
	t.Parallel()
	dir, opts, _, _ := project(t, "app")
	progress := opts.Progress.(*bytes.Buffer)
	arts := []*schema.Artifact{dockerArtifact(dir, "app")}
	if _, err := Run(context.Background(), arts, opts); err != nil {
		t.Fatal(err)
	}
	if got, want := progress.String(), " - app -> localhost:5000/app:v1\n - app: Not found. Building\nBuilding [app]...\n"; !strings.HasPrefix(got, want) {
		t.Errorf("first build's progress:\n%s\nwant it to start with:\n%s", got, want)
	}
	progress.Reset()
	if _, err := Run(context.Background(), arts, opts); err != nil {
		t.Fatal(err)
	}
	if got, want := progress.String(), " - app -> localhost:5000/app:v1\n - app: Found in cache, not rebuilt\n"; got != want {
		t.Errorf("unchanged build's progress:\n%s\nwant:\n%s", got, want)
	}
	progress.Reset()
	opts.Cache = nil
	if _, err := Run(context.Background(), arts, opts); err != nil {
		t.Fatal(err)
	}
	if got := progress.String(); strings.Contains(got, "cache") || strings.Contains(got, "Not found") {
		t.Errorf("a build without a cache says something of one:\n%s", got)
	}
}

// TestRunDevModeIsCachedApart: skiff dev builds an artifact with sync.auto
// in development mode (Request.DevMode), and that image is cached apart
// from the production one; an artifact without sync.auto builds as usual.
func TestRunDevModeIsCachedApart(t *testing.T) {
	t.Parallel()
	dir, opts, fb, _ := project(t, "auto", "plain")
	auto := true
	arts := func() []*schema.Artifact {
		a := dockerArtifact(dir, "auto")
		a.Sync = &schema.Sync{Auto: &auto}
		return []*schema.Artifact{a, dockerArtifact(dir, "plain")}
	}
	if _, err := Run(context.Background(), arts(), opts); err != nil {
		t.Fatal(err)
	}
	if fb.reqs["auto"].DevMode || fb.reqs["plain"].DevMode {
		t.Errorf("a build outside dev asked for dev mode: %+v", fb.reqs)
	}
	fb.built = nil
	opts.DevMode = true
	if _, err := Run(context.Background(), arts(), opts); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fb.built, []string{"auto"}) {
		t.Errorf("in dev mode, built %v, want [auto] (plain is cached; auto's production image is not its dev image)", fb.built)
	}
	if !fb.reqs["auto"].DevMode {
		t.Errorf("the dev build of an artifact with sync.auto was not asked for dev mode")
	}
	fb.built = nil
	if _, err := Run(context.Background(), arts(), opts); err != nil {
		t.Fatal(err)
	}
	if len(fb.built) != 0 {
		t.Errorf("an unchanged dev build rebuilt %v", fb.built)
	}
}

func TestRunHooksAroundBuildsNotCacheHits(t *testing.T) {
	t.Parallel()
	dir, opts, fb, _ := project(t, "app")
	var calls []string
	opts.Hooks = func(_ context.Context, a *schema.Artifact, repo, tag string, after bool) error {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		calls = append(calls, fmt.Sprintf("%s %s:%s after=%t built=%v", a.ImageName, repo, tag, after, fb.built))
		return nil
	}
	arts := []*schema.Artifact{dockerArtifact(dir, "app")}
	if _, err := Run(context.Background(), arts, opts); err != nil {
		t.Fatal(err)
	}
	want := []string{"app localhost:5000/app:v1 after=false built=[]", "app localhost:5000/app:v1 after=true built=[app]"}
	if !slices.Equal(calls, want) {
		t.Errorf("hooks called %q, want %q", calls, want)
	}
	// A cache hit builds nothing, so no hook runs, as in Skaffold.
	calls = nil
	if _, err := Run(context.Background(), arts, opts); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("hooks ran on a cache hit: %q", calls)
	}
}

func TestRunFailingBeforeHookFailsTheBuild(t *testing.T) {
	t.Parallel()
	dir, opts, fb, _ := project(t, "app")
	opts.Hooks = func(_ context.Context, a *schema.Artifact, _, _ string, after bool) error {
		if !after {
			return errors.New("pre-build hook 1 failed: exit status 3")
		}
		return nil
	}
	_, err := Run(context.Background(), []*schema.Artifact{dockerArtifact(dir, "app")}, opts)
	if err == nil || !strings.Contains(err.Error(), `artifact "app" was not built: pre-build hook 1 failed: exit status 3`) {
		t.Fatalf("error = %v, want the hook's failure", err)
	}
	if len(fb.built) != 0 {
		t.Errorf("built %v after a failing before hook", fb.built)
	}
}
