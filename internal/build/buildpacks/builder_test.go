package buildpacks

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// The references the tests use: loopback ports nothing listens on, so
// registry lookups fail fast, as offline.
const (
	testBuilder = "127.0.0.1:9/skiff/builder:latest"
	testRun     = "127.0.0.1:5001/skiff/run:latest"
	testTag     = "127.0.0.1:9/app:v1"
)

func builderImage(labels map[string]string) client.ImageInspectResult {
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{
		ID: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
			Labels: labels, Env: builderEnv,
		}},
		Os: "linux", Architecture: "amd64",
	}}
}

// newTestBuild returns a fake Docker with the builder and run images, and
// a Go application.
func newTestBuild(t *testing.T) (*fakeDocker, *Builder, *schema.Artifact) {
	t.Helper()
	f := newFakeDocker()
	f.addImage([]string{testBuilder}, builderImage(builderLabels()))
	f.addImage([]string{testRun}, client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:run"}})
	b, err := New(f, WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	ws := writeTree(t, map[string]string{"main.go": "package main\n", "go.mod": "module app\n"})
	a := bpArtifact(ws, &schema.BuildpackArtifact{Builder: testBuilder, Env: []string{"GREETING={{.WHO}}"}, TrustBuilder: true})
	return f, b, a
}

func request(push bool, out *strings.Builder) build.Request {
	return build.Request{Tag: testTag, Push: push, Out: out, Env: config.Env{"WHO": "world"}}
}

const exportOK = "Adding layer 'skiff/go:app'\n*** Digest: sha256:abc\n"

func TestBuildTrustedToRegistry(t *testing.T) {
	t.Parallel()
	f, b, a := newTestBuild(t)
	f.scripts["creator"] = fakeScript{
		out:   "===> ANALYZING\nPrevious image not found\n===> DETECTING\nskiff/go 0.1.0\n===> RESTORING\n===> BUILDING\ngo build ./...\n===> EXPORTING\n" + exportOK,
		files: map[string]string{reportPath: "[image]\n  digest = \"sha256:abc\"\n"},
	}
	var out strings.Builder
	built, err := b.Build(context.Background(), a, request(true, &out))
	if err != nil {
		t.Fatal(err)
	}
	if !built.External {
		t.Errorf("built = %+v, want External", built)
	}
	// Without the exporter's "*** Images" line, report.toml says.
	report, err := b.BuildWith(context.Background(), a, request(true, &strings.Builder{}), RunOptions{})
	if err != nil || report.Digest != "sha256:abc" {
		t.Errorf("report = %+v, %v; want report.toml's digest", report, err)
	}
	f.created, f.started, f.removed, f.removedVol = f.created[:1], f.started[:1], f.removed[:1], f.removedVol[:3]
	if got := f.phases(); !slices.Equal(got, []string{"creator"}) {
		t.Fatalf("containers = %v, want one creator", got)
	}
	c := f.byPhase("creator")
	if c.opts.Config.Image != builderImage(nil).ID || c.opts.Config.User != "root" || c.opts.HostConfig.NetworkMode != "host" {
		t.Errorf("creator container = %+v", c.opts.Config)
	}
	if !slices.Contains(c.opts.Config.Cmd, testTag) || !slices.Contains(c.opts.Config.Cmd, testRun) || slices.Contains(c.opts.Config.Cmd, "-daemon") {
		t.Errorf("creator cmd = %q", c.opts.Config.Cmd)
	}
	// The application, owned by the build user, and the templated env.
	var app bool
	for _, h := range f.copied[c.id] {
		if h.Name == "workspace/main.go" {
			app = h.Uid == 1000 && h.Gid == 1001
		}
	}
	if !app {
		t.Errorf("workspace/main.go not copied as 1000:1001: %v", f.copied[c.id])
	}
	if got := f.copiedData[c.id]["platform/env/GREETING"]; got != "world" {
		t.Errorf("platform/env/GREETING = %q, want the expanded template", got)
	}
	for _, want := range []string{"[analyzer] Previous image not found\n", "[detector] skiff/go 0.1.0\n", "[builder] go build ./...\n", "[exporter] *** Digest: sha256:abc\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The per-build volumes go; the cache stays.
	slices.Sort(f.removedVol)
	if len(f.removedVol) != 3 || !strings.HasSuffix(f.removedVol[0], "-app") || !strings.HasSuffix(f.removedVol[1], "-layers") || !strings.HasSuffix(f.removedVol[2], "-platform") {
		t.Errorf("removed volumes = %v", f.removedVol)
	}
	if len(f.removed) != 1 {
		t.Errorf("removed containers = %v", f.removed)
	}
}

func TestBuildUntrustedToDaemon(t *testing.T) {
	t.Parallel()
	f, b, a := newTestBuild(t)
	a.BuildpackArtifact.TrustBuilder = false
	for _, p := range []string{"analyzer", "detector", "restorer", "builder"} {
		f.scripts[p] = fakeScript{out: p + " ran\n"}
	}
	// The exporter's output names the image: report.toml is not read.
	f.scripts["exporter"] = fakeScript{out: "Saving 127.0.0.1:9/app:v1...\n*** Images (d381505bde53):\n      127.0.0.1:9/app:v1\n"}
	var out strings.Builder
	report, err := b.BuildWith(context.Background(), a, request(false, &out), RunOptions{ExecEnv: "development", Env: map[string]string{"BP_DEV": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if report.ImageID != "d381505bde53" {
		t.Errorf("report = %+v", report)
	}
	if got, want := f.phases(), []string{"analyzer", "detector", "restorer", "builder", "exporter"}; !slices.Equal(got, want) {
		t.Fatalf("phases run = %v, want %v", got, want)
	}
	if len(f.removed) != 6 {
		t.Errorf("removed containers = %v, want the five phases' and the one the lifecycle was read from", f.removed)
	}
	lifecycleTag := "skiff-cnb-lifecycle:0123456789abcdef"
	if !slices.Equal(f.loaded, []string{lifecycleTag}) {
		t.Errorf("loaded images = %v, want the lifecycle image", f.loaded)
	}
	for _, c := range f.created {
		if c.phase == "lifecycle" {
			continue
		}
		cred := c.phase == "analyzer" || c.phase == "restorer" || c.phase == "exporter"
		if cred != (c.opts.Config.Image == lifecycleTag) {
			t.Errorf("%s runs from %s", c.phase, c.opts.Config.Image)
		}
		if cred && !slices.Contains(c.opts.HostConfig.Binds, "/fake/docker.sock:/var/run/docker.sock") {
			t.Errorf("%s binds %v: no daemon socket", c.phase, c.opts.HostConfig.Binds)
		}
		if hasExec := slices.Contains(c.opts.Config.Env, "CNB_EXEC_ENV=development"); hasExec != (c.phase == "detector" || c.phase == "builder" || c.phase == "exporter") {
			t.Errorf("%s env %v", c.phase, c.opts.Config.Env)
		}
	}
	if got := f.copiedData[f.byPhase("detector").id]["platform/env/BP_DEV"]; got != "1" {
		t.Errorf("the detector's platform/env/BP_DEV = %q", got)
	}
	for _, p := range []string{"analyzer", "restorer", "builder", "exporter"} {
		if got := f.copied[f.byPhase(p).id]; len(got) != 0 {
			t.Errorf("copied into the %s: %v; the inputs go into the volumes once, with the detector", p, got)
		}
	}
	if !strings.Contains(out.String(), "[restorer] restorer ran\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestBuildClearCache(t *testing.T) {
	t.Parallel()
	f, b, a := newTestBuild(t)
	a.BuildpackArtifact.ClearCache = true
	f.scripts["creator"] = fakeScript{files: map[string]string{reportPath: "[image]\n  digest = \"sha256:abc\"\n"}}
	if _, err := b.Build(context.Background(), a, request(true, &strings.Builder{})); err != nil {
		t.Fatal(err)
	}
	if len(f.removedVol) != 6 || !strings.HasPrefix(f.removedVol[0], "skiff-cnb-cache-") || !strings.HasPrefix(f.removedVol[1], "skiff-cnb-launch-") || !strings.HasPrefix(f.removedVol[2], "skiff-cnb-gocache-") {
		t.Errorf("removed volumes = %v, want the caches (build, launch, Go) first", f.removedVol)
	}
	bind := f.created[0].opts.HostConfig.Binds[3]
	if bind != f.removedVol[0]+":/cache" {
		t.Errorf("cache bind %q is not the cleared volume %s", bind, f.removedVol[0])
	}
}

// The skiff/go buildpack's Go build cache is a volume per application,
// mounted over the build image's in the containers that run the
// buildpacks' build, and kept between builds; a builder without skiff/go
// gets none.
func TestBuildGoCacheVolume(t *testing.T) {
	t.Parallel()
	goCacheBinds := func(f *fakeDocker) map[string][]string {
		out := map[string][]string{}
		for _, c := range f.created {
			if c.opts.HostConfig == nil {
				continue
			}
			for _, b := range c.opts.HostConfig.Binds {
				if strings.HasSuffix(b, ":"+goCacheDir) {
					out[c.phase] = append(out[c.phase], b)
				}
			}
		}
		return out
	}
	for _, trusted := range []bool{true, false} {
		var vols []string
		for range 2 {
			f, b, a := newTestBuild(t)
			a.BuildpackArtifact.TrustBuilder = trusted
			f.scripts["creator"] = fakeScript{files: map[string]string{reportPath: "[image]\n  digest = \"sha256:abc\"\n"}}
			f.scripts["exporter"] = f.scripts["creator"]
			if _, err := b.Build(context.Background(), a, request(true, &strings.Builder{})); err != nil {
				t.Fatal(err)
			}
			got := goCacheBinds(f)
			phase := "builder"
			if trusted {
				phase = "creator"
			}
			if len(got) != 1 || len(got[phase]) != 1 || !strings.HasPrefix(got[phase][0], "skiff-cnb-gocache-") {
				t.Fatalf("trusted=%v: Go cache binds by phase = %v, want one skiff-cnb-gocache- volume in the %s", trusted, got, phase)
			}
			vol, _, _ := strings.Cut(got[phase][0], ":")
			if slices.Contains(f.removedVol, vol) {
				t.Errorf("trusted=%v: the Go cache volume %s was removed after the build: it must stay for the next", trusted, vol)
			}
			vols = append(vols, vol)
		}
		if vols[0] != vols[1] {
			t.Errorf("trusted=%v: two builds of one image used Go caches %v, want one volume", trusted, vols)
		}
	}

	// A builder without skiff/go: the path is skiff's build image's, so
	// no volume.
	f, b, a := newTestBuild(t)
	l := builderLabels()
	l[labelBuilderMetadata] = strings.Replace(l[labelBuilderMetadata], `{"id":"skiff/go","version":"0.1.0"}`, `{"id":"other/go","version":"1"}`, 1)
	l[labelLayers] = strings.Replace(l[labelLayers], `"skiff/go"`, `"other/go"`, 1)
	f.addImage([]string{testBuilder}, builderImage(l))
	f.scripts["creator"] = fakeScript{files: map[string]string{reportPath: "[image]\n  digest = \"sha256:abc\"\n"}}
	if _, err := b.Build(context.Background(), a, request(true, &strings.Builder{})); err != nil {
		t.Fatal(err)
	}
	if got := goCacheBinds(f); len(got) != 0 {
		t.Errorf("builder without skiff/go: Go cache binds = %v, want none", got)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(f *fakeDocker, a *schema.Artifact, ro *RunOptions, req *build.Request)
		check func(t *testing.T, err error)
	}{{
		name: "unpullable builder",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			a.BuildpackArtifact.Builder = "127.0.0.1:9/paketobuildpacks/builder:base"
		},
		check: func(t *testing.T, err error) {
			var pe *PullError
			if !errors.As(err, &pe) || pe.What != "builder" {
				t.Fatalf("error = %v, want a builder *PullError", err)
			}
			for _, s := range []string{"127.0.0.1:9/paketobuildpacks/builder:base", "offline", "make builder", "buildpacks.builder"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q: %v", s, err)
				}
			}
		},
	}, {
		name: "unpullable run image for the daemon",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, req *build.Request) {
			a.BuildpackArtifact.RunImage = "127.0.0.1:9/missing/run:1"
			req.Push = false
		},
		check: func(t *testing.T, err error) {
			var pe *PullError
			if !errors.As(err, &pe) || pe.What != "run" || pe.Ref != "127.0.0.1:9/missing/run:1" {
				t.Fatalf("error = %v, want a run image *PullError", err)
			}
		},
	}, {
		name: "platform API",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			l := builderLabels()
			l[labelBuilderMetadata] = `{"lifecycle":{"version":"0.13.0","apis":{"platform":{"supported":["0.9","0.10","0.11"]}}}}`
			f.addImage([]string{testBuilder}, builderImage(l))
		},
		check: func(t *testing.T, err error) {
			var ae *APIError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), "0.9, 0.10, 0.11") || !strings.Contains(err.Error(), "0.13.0") {
				t.Fatalf("error = %v, want an *APIError naming the lifecycle's versions", err)
			}
		},
	}, {
		name: "exec env needs 0.15",
		setup: func(f *fakeDocker, a *schema.Artifact, ro *RunOptions, _ *build.Request) {
			l := builderLabels()
			l[labelBuilderMetadata] = `{"images":[{"image":"r"}],"lifecycle":{"version":"0.19.0","apis":{"platform":{"supported":["0.13","0.14"]}}}}`
			f.addImage([]string{testBuilder}, builderImage(l))
			ro.ExecEnv = "development"
		},
		check: func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "CNB_EXEC_ENV=development needs Platform API 0.15") {
				t.Fatalf("error = %v", err)
			}
		},
	}, {
		name: "platform the builder lacks",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, req *build.Request) {
			req.Platforms = []string{"linux/arm64"}
		},
		check: func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "has no target linux/arm64") {
				t.Fatalf("error = %v", err)
			}
		},
	}, {
		name: "no group passes detection",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			f.scripts["creator"] = fakeScript{out: "===> ANALYZING\n===> DETECTING\n" + detectFailure, code: 21}
		},
		check: func(t *testing.T, err error) {
			var de *DetectError
			if !errors.As(err, &de) || len(de.Groups) != 3 || !de.Errored {
				t.Fatalf("error = %v, want a *DetectError with the 3 groups tried", err)
			}
		},
	}, {
		name: "detection with the builder's order and no output",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			f.scripts["creator"] = fakeScript{out: "===> DETECTING\nERROR: No buildpack groups passed detection.\n", code: 20}
		},
		check: func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "group 1: skiff/go@0.1.0\n  group 2: skiff/node@0.1.0 (optional)") {
				t.Fatalf("error = %v, want the builder's order", err)
			}
		},
	}, {
		name: "buildpack fails, untrusted",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			a.BuildpackArtifact.TrustBuilder = false
			f.scripts["builder"] = fakeScript{
				out:   "Running build for buildpack skiff/go@0.1.0\nRunning build command\n./main.go:1:1: expected 'package'\nERROR: failed to build: exit status 1\n",
				code:  51,
				files: map[string]string{groupPath: "[[group]]\n  id = \"skiff/go\"\n  version = \"0.1.0\"\n\n[[group]]\n  id = \"skiff/procfile\"\n  version = \"1\"\n"},
			}
		},
		check: func(t *testing.T, err error) {
			var be *BuildpackError
			if !errors.As(err, &be) || be.Buildpack != "skiff/go@0.1.0" || len(be.Group.Buildpacks) != 2 {
				t.Fatalf("error = %#v, want a *BuildpackError naming skiff/go@0.1.0", err)
			}
			if !strings.Contains(err.Error(), "buildpack skiff/go@0.1.0 failed to build") || !strings.Contains(err.Error(), "expected 'package'") {
				t.Errorf("error = %v", err)
			}
		},
	}, {
		name: "buildpack fails, trusted",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			f.scripts["creator"] = fakeScript{
				out:   "===> BUILDING\nsyntax error\nERROR: failed to build: exit status 1\n",
				code:  51,
				files: map[string]string{groupPath: "[[group]]\n  id = \"skiff/go\"\n  version = \"0.1.0\"\n"},
			}
		},
		check: func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "buildpack skiff/go@0.1.0 failed to build; its last output lines:\n  syntax error") {
				t.Fatalf("error = %v", err)
			}
		},
	}, {
		name: "export fails",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			f.scripts["creator"] = fakeScript{out: "===> EXPORTING\nERROR: failed to export: denied\n", code: 62}
		},
		check: func(t *testing.T, err error) {
			var pe *PhaseError
			if !errors.As(err, &pe) || pe.Phase != "exporter" || !strings.Contains(err.Error(), "exporting the image failed") || !strings.Contains(err.Error(), "denied") {
				t.Fatalf("error = %v, want the exporter's *PhaseError", err)
			}
		},
	}, {
		name: "lifecycle refuses the platform API",
		setup: func(f *fakeDocker, a *schema.Artifact, _ *RunOptions, _ *build.Request) {
			f.scripts["creator"] = fakeScript{out: "ERROR: platform API version '0.15' is incompatible with the lifecycle\n", code: 11}
		},
		check: func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "does not support the Platform API") || !strings.Contains(err.Error(), "creator") {
				t.Fatalf("error = %v", err)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, b, a := newTestBuild(t)
			var ro RunOptions
			req := request(true, &strings.Builder{})
			tc.setup(f, a, &ro, &req)
			_, err := b.BuildWith(context.Background(), a, req, ro)
			tc.check(t, err)
		})
	}
}

func TestTrustedBuilders(t *testing.T) {
	t.Parallel()
	b, err := New(newFakeDocker(), WithTrustedBuilders("127.0.0.1:5001/skiff/builder", "reg.local/other:v1"))
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]bool{
		"127.0.0.1:5001/skiff/builder":                                   true,
		"127.0.0.1:5001/skiff/builder:latest":                            true,
		"127.0.0.1:5001/skiff/builder@sha256:" + strings.Repeat("a", 64): true,
		"127.0.0.1:5001/skiff/builder2":                                  false,
		"reg.local/other:v1":                                             true,
		"reg.local/other:v2":                                             false,
		"reg.local/other":                                                false,
	} {
		if got := b.opts.trusts(ref); got != want {
			t.Errorf("trusts(%s) = %v, want %v", ref, got, want)
		}
	}
	if _, err := New(newFakeDocker(), WithTrustedBuilders("Not A Ref")); err == nil {
		t.Error("an invalid trusted builder was accepted")
	}
}

func TestTrustedBuilderRunsCreator(t *testing.T) {
	t.Parallel()
	f, _, a := newTestBuild(t)
	a.BuildpackArtifact.TrustBuilder = false
	b, err := New(f, WithKeychain(authn.NewMultiKeychain()), WithTrustedBuilders("127.0.0.1:9/skiff/builder"))
	if err != nil {
		t.Fatal(err)
	}
	f.scripts["creator"] = fakeScript{out: "===> EXPORTING\n*** Images (sha256:abc):\n"}
	if _, err := b.Build(context.Background(), a, request(true, &strings.Builder{})); err != nil {
		t.Fatal(err)
	}
	if got := f.phases(); !slices.Equal(got, []string{"creator"}) {
		t.Errorf("phases = %v, want the creator for a builder marked trusted", got)
	}
}

func TestBuildEnv(t *testing.T) {
	t.Parallel()
	env, err := buildEnv([]string{"A=artifact", "B={{.WHO}}", "C=artifact"},
		&Project{Env: []EnvVar{{Name: "C", Value: "descriptor"}, {Name: "D", Value: "descriptor"}}},
		map[string]string{"D": "run"}, config.Env{"WHO": "templated"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "artifact", "B": "templated", "C": "descriptor", "D": "run"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v, want %v (the descriptor over the artifact, as in Skaffold; the run over both)", env, want)
	}
	if _, err := buildEnv([]string{"{{.EMPTY}}=x"}, nil, nil, config.Env{}); err == nil || !strings.Contains(err.Error(), "not KEY=value") {
		t.Errorf("an empty name: %v", err)
	}
}

func TestBuildCancelledRemovesEverything(t *testing.T) {
	t.Parallel()
	f, b, a := newTestBuild(t)
	a.BuildpackArtifact.TrustBuilder = false
	f.scripts["restorer"] = fakeScript{hang: true}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, a, request(true, &strings.Builder{}))
		done <- err
	}()
	// Cancel once the restorer runs.
	for !slices.Contains(f.phases(), "restorer") {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.removed) != len(f.created) {
		t.Errorf("removed %v of the containers %d created", f.removed, len(f.created))
	}
	if len(f.removedVol) != 3 {
		t.Errorf("removed volumes %v, want the build's three", f.removedVol)
	}
}

func TestWithRunOptions(t *testing.T) {
	t.Parallel()
	f, _, a := newTestBuild(t)
	b, err := New(f, WithKeychain(authn.NewMultiKeychain()), WithRunOptions(func(a *schema.Artifact) RunOptions {
		return RunOptions{ExecEnv: "development", Env: map[string]string{"DEV_OF": a.ImageName}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	f.scripts["creator"] = fakeScript{out: "===> EXPORTING\n*** Images (sha256:abc):\n"}
	if _, err := b.Build(context.Background(), a, request(true, &strings.Builder{})); err != nil {
		t.Fatal(err)
	}
	c := f.byPhase("creator")
	if !slices.Contains(c.opts.Config.Env, "CNB_EXEC_ENV=development") || f.copiedData[c.id]["platform/env/DEV_OF"] != "app" {
		t.Errorf("creator env %v, platform env %v", c.opts.Config.Env, f.copiedData[c.id])
	}
}

// TestBuildDevMode: a request in dev mode builds with
// CNB_EXEC_ENV=development and the variables of Google's and Paketo's
// development modes; a request without it has none of them.
func TestBuildDevMode(t *testing.T) {
	t.Parallel()
	for _, dev := range []bool{false, true} {
		f, b, a := newTestBuild(t)
		f.scripts["creator"] = fakeScript{out: "===> EXPORTING\n*** Images (sha256:abc):\n"}
		req := request(true, &strings.Builder{})
		req.DevMode = dev
		if _, err := b.Build(context.Background(), a, req); err != nil {
			t.Fatal(err)
		}
		c := f.byPhase("creator")
		env := f.copiedData[c.id]
		got := slices.Contains(c.opts.Config.Env, "CNB_EXEC_ENV=development") && env["platform/env/GOOGLE_DEVMODE"] == "1" && env["platform/env/BP_LIVE_RELOAD_ENABLED"] == "true"
		none := !slices.Contains(c.opts.Config.Env, "CNB_EXEC_ENV=development") && env["platform/env/GOOGLE_DEVMODE"] == "" && env["platform/env/BP_LIVE_RELOAD_ENABLED"] == ""
		if (dev && !got) || (!dev && !none) {
			t.Errorf("DevMode=%t: creator env %v, platform env %v", dev, c.opts.Config.Env, env)
		}
	}
}

// TestBuildDevModeBeforeExecEnv: on a lifecycle whose Platform API
// predates CNB_EXEC_ENV, a dev-mode build goes on without it, with the
// other variables of development mode, and says so.
func TestBuildDevModeBeforeExecEnv(t *testing.T) {
	t.Parallel()
	f, b, a := newTestBuild(t)
	l := builderLabels()
	l[labelBuilderMetadata] = `{"images":[{"image":"r"}],"lifecycle":{"version":"0.19.0","apis":{"platform":{"supported":["0.13","0.14"]}}}}`
	f.addImage([]string{testBuilder}, builderImage(l))
	f.scripts["creator"] = fakeScript{out: "===> EXPORTING\n*** Images (sha256:abc):\n"}
	var out strings.Builder
	req := request(true, &out)
	req.DevMode = true
	if _, err := b.Build(context.Background(), a, req); err != nil {
		t.Fatalf("a dev-mode build on a Platform API 0.14 lifecycle failed: %v", err)
	}
	c := f.byPhase("creator")
	if slices.ContainsFunc(c.opts.Config.Env, func(e string) bool { return strings.HasPrefix(e, "CNB_EXEC_ENV=") }) || f.copiedData[c.id]["platform/env/GOOGLE_DEVMODE"] != "1" {
		t.Errorf("creator env %v, platform env %v", c.opts.Config.Env, f.copiedData[c.id])
	}
	if !strings.Contains(out.String(), "before CNB_EXEC_ENV (0.15)") {
		t.Errorf("output does not say why CNB_EXEC_ENV is left out:\n%s", out.String())
	}
}
