package runner

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	skifflog "skiff.dev/skiff/internal/log"
)

// countingBuilder builds a new random image each time and counts builds.
type countingBuilder struct{ builds []string }

func (b *countingBuilder) Build(_ context.Context, a *schema.Artifact, req build.Request) (build.Built, error) {
	b.builds = append(b.builds, req.Tag)
	img, err := random.Image(64, 1)
	return build.Built{Image: img}, err
}

// A builder is a build.Kind: registered with the engine, and with no
// change anywhere else, its artifacts build, their sources key the cache
// and the inputDigest tag, and dev's watcher follows its sources.
func TestANewBuilderIsOneKind(t *testing.T) {
	t.Parallel()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app/src/main.txt": "v1", "app/README": "not a source"})
	// The test kind answers for artifacts under the "custom" key, the one
	// schema type whose fields it needs none of.
	b := &countingBuilder{}
	kind := build.Kind{
		Name: "custom",
		Sources: func(a *schema.Artifact, dir string, env build.Env) (build.Sources, error) {
			return build.Sources{Paths: []string{"src/**"}}, nil
		},
		New: func(build.Services) (build.Builder, error) { return b, nil },
	}
	c := testConfig(dir, &schema.Artifact{ImageName: "app", Workspace: filepath.Join(dir, "app"), ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{BuildCommand: "exit 1"}}})
	c.Build.TagPolicy.InputDigest = &schema.InputDigest{}
	p := &config.Project{Configs: []*config.Config{c}}
	var errOut bytes.Buffer
	r := New(Options{
		Project:     p,
		Builders:    build.Kinds{kind},
		DefaultRepo: strings.TrimPrefix(reg.URL, "http://"),
		ErrOut:      &errOut,
		Log:         skifflog.New(&errOut, skifflog.LevelWarn),
	})
	push := true
	opts := BuildOptions{Push: &push, CacheArtifacts: true, CacheFile: filepath.Join(dir, "cache")}
	buildOnce := func() string {
		t.Helper()
		imgs, err := r.Build(t.Context(), opts)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, errOut.String())
		}
		return imgs[0].Ref
	}

	first := buildOnce()
	if len(b.builds) != 1 {
		t.Fatalf("the registered kind built %d times, want 1", len(b.builds))
	}
	if again := buildOnce(); again != first || len(b.builds) != 1 {
		t.Errorf("an unchanged artifact: %s after %s and %d builds; want a cache hit with the same reference", again, first, len(b.builds))
	}
	if err := os.WriteFile(filepath.Join(dir, "app/README"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again := buildOnce(); again != first || len(b.builds) != 1 {
		t.Errorf("a file that is not a source changed: %s after %s, %d builds; want the cached image", again, first, len(b.builds))
	}
	if err := os.WriteFile(filepath.Join(dir, "app/src/main.txt"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again := buildOnce(); again == first || len(b.builds) != 2 {
		t.Errorf("a source changed: %s after %s, %d builds; want a new build with a new inputDigest tag", again, first, len(b.builds))
	}

	in, err := newInputs(p, r.kinds, r.buildEnv())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"app/src/new.txt": true, "app/README": false} {
		if got := in.artifacts[0].owns(filepath.Join(dir, path), false); got != want {
			t.Errorf("dev's watcher: owns(%s) = %v, want %v", path, got, want)
		}
	}
}
