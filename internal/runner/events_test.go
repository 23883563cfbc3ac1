package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	skifflog "skiff.dev/skiff/internal/log"
)

// failingBuilder fails every build with its error.
type failingBuilder struct{ err error }

func (b failingBuilder) Build(context.Context, *schema.Artifact, build.Request) (build.Built, error) {
	return build.Built{}, b.err
}

// A runner build records, per artifact, its start and its end (the image,
// or the failure with its message) on Options.Events, and a cache hit as
// the Cache step.
func TestBuildPublishesBuildEvents(t *testing.T) {
	t.Parallel()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app/main.txt": "v1", "bad/main.txt": "v1"})
	kind := func(name string, b build.Builder) build.Kind {
		return build.Kind{
			Name: name,
			Sources: func(*schema.Artifact, string, build.Env) (build.Sources, error) {
				return build.Sources{Paths: []string{"**"}}, nil
			},
			New: func(build.Services) (build.Builder, error) { return b, nil },
		}
	}
	custom := schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{BuildCommand: "exit 1"}}
	ko := schema.ArtifactType{KoArtifact: &schema.KoArtifact{}}
	c := testConfig(dir,
		&schema.Artifact{ImageName: "app", Workspace: filepath.Join(dir, "app"), ArtifactType: custom},
		&schema.Artifact{ImageName: "bad", Workspace: filepath.Join(dir, "bad"), ArtifactType: ko},
	)
	bus := event.NewBus(0)
	sub := bus.Subscribe(100)
	var errOut bytes.Buffer
	r := New(Options{
		Project:     &config.Project{Configs: []*config.Config{c}},
		Builders:    build.Kinds{kind("custom", &countingBuilder{}), kind("ko", failingBuilder{errors.New("main.go:3: undefined: x")})},
		DefaultRepo: strings.TrimPrefix(reg.URL, "http://"),
		ErrOut:      &errOut,
		Log:         skifflog.New(&errOut, skifflog.LevelWarn),
		Events:      bus,
	})
	push := true
	opts := BuildOptions{Push: &push, CacheArtifacts: true, CacheFile: filepath.Join(dir, "cache"), Images: []string{"app"}}
	for range 2 {
		if _, err := r.Build(t.Context(), opts); err != nil {
			t.Fatalf("build: %v\n%s", err, errOut.String())
		}
	}
	opts.Images = []string{"bad"}
	if _, err := r.Build(t.Context(), opts); err == nil {
		t.Fatal("the failing builder's build succeeded")
	}
	bus.Close()

	var got []string
	var built, failure string
	for e := range sub.C {
		b := e.BuildSubtaskEvent
		if b == nil {
			t.Errorf("unexpected event %+v", e)
			continue
		}
		got = append(got, b.Artifact+" "+b.Step+" "+b.Status)
		if b.Status != event.InProgress && b.Duration <= 0 {
			t.Errorf("%s %s ended with no duration", b.Artifact, b.Status)
		}
		if b.Artifact == "app" && b.Status == event.Completed && built == "" {
			built = b.Image
		}
		if b.ActionableErr != nil {
			failure = b.ActionableErr.Message
		}
	}
	want := []string{
		"app Build InProgress", "app Build Completed",
		"app Build InProgress", "app Cache Completed",
		"bad Build InProgress", "bad Build Failed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(built, "/app:") {
		t.Errorf("app's Completed event names image %q, want the pushed reference", built)
	}
	if !strings.Contains(failure, "undefined: x") || !strings.Contains(failure, `"bad"`) {
		t.Errorf("bad's Failed event says %q, want the builder's message naming the artifact", failure)
	}
}
