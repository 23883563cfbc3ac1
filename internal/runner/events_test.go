package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/debug"

	"github.com/google/go-containerregistry/pkg/registry"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	skifflog "skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/sync"
)

// failingBuilder prints its output (the last line without a newline)
// and fails every build with its error.
type failingBuilder struct {
	output string
	err    error
}

func (b failingBuilder) Build(_ context.Context, _ *schema.Artifact, req build.Request) (build.Built, error) {
	fmt.Fprint(req.Out, b.output)
	return build.Built{}, b.err
}

// A runner build records, per artifact, its start and its end (the image,
// or the failure with its message) on Options.Events, a cache hit as the
// Cache step, and the build's output line by line.
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
		Builders:    build.Kinds{kind("custom", &countingBuilder{}), kind("ko", failingBuilder{"# example.com/bad\n./main.go:3:1: undefined: x", errors.New("exit status 1 (the compiler's messages are in the build output above)")})},
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

	var got, output []string
	var built, failure string
	for e := range sub.C {
		if te := e.TaskEvent; te != nil && te.Task == event.TaskBuild {
			got = append(got, "task "+te.ID+" "+te.Status)
			continue
		}
		if l := e.SkaffoldLogEvent; l != nil {
			output = append(output, l.TaskID+" "+l.SubtaskID+": "+l.Message)
			continue
		}
		b := e.BuildSubtaskEvent
		if b == nil {
			t.Errorf("unexpected event %+v", e)
			continue
		}
		if b.TaskID != "Build-0" {
			t.Errorf("%s's event belongs to task %q, want Build-0", b.Artifact, b.TaskID)
		}
		got = append(got, b.Artifact+" "+b.Step+" "+b.Status)
		if b.Status != event.InProgress && b.Duration <= 0 {
			t.Errorf("%s %s ended with no duration", b.Artifact, b.Status)
		}
		if b.Artifact == "app" && b.Status == event.Succeeded && built == "" {
			built = b.Image
		}
		if b.ActionableErr != nil {
			failure = b.ActionableErr.Message
		}
	}
	want := []string{
		"task Build-0 InProgress", "app Build InProgress", "app Build Succeeded", "task Build-0 Succeeded",
		"task Build-0 InProgress", "app Build InProgress", "app Cache Succeeded", "task Build-0 Succeeded",
		"task Build-0 InProgress", "bad Build InProgress", "bad Build Failed", "task Build-0 Failed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(built, "/app:") {
		t.Errorf("app's Succeeded event names image %q, want the pushed reference", built)
	}
	if !strings.Contains(failure, "the compiler's messages") || !strings.Contains(failure, `"bad"`) {
		t.Errorf("bad's Failed event says %q, want the builder's message naming the artifact", failure)
	}
	// The build's output, the compiler's messages, are events too.
	if want := []string{"Build-0 bad: # example.com/bad", "Build-0 bad: ./main.go:3:1: undefined: x"}; strings.Join(output, "\n") != strings.Join(want, "\n") {
		t.Errorf("output events:\n%s\nwant:\n%s", strings.Join(output, "\n"), strings.Join(want, "\n"))
	}
}

// A dev sync records the files it sent, the pods that took them and,
// when one did not, the failure naming it.
func TestSyncPublishesFileSyncEvents(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	sub := bus.Subscribe(10)
	src := &fakeSource{running: map[string][]string{"web:1": {"web-a", "web-b"}}}
	tr := &fakeTransport{fail: map[string]bool{}}
	d := &dev{
		r:      New(Options{Project: &config.Project{Configs: []*config.Config{testConfig(t.TempDir())}}, Events: bus}),
		images: map[string]artifact.Image{"web": imageOf("web:1")},
		syncer: newSyncer(src, func(container) sync.Transport { return tr }),
	}
	d.sync(t.Context(), "web", []sync.Op{write("index.html"), remove("old.css")})
	tr.fail["web-b"] = true
	d.sync(t.Context(), "web", []sync.Op{write("app.js")})
	bus.Close()

	var got []string
	for e := range sub.C {
		if te := e.TaskEvent; te != nil && te.Task == event.TaskSync {
			line := "task " + te.ID + " " + te.Status
			if te.Description != "" {
				line += " " + te.Description
			}
			got = append(got, line)
			continue
		}
		f := e.FileSyncEvent
		if f == nil {
			t.Fatalf("unexpected event %+v", e)
		}
		line := fmt.Sprintf("%s %s %d files %v pods %v", f.Image, f.Status, f.FileCount, f.Files, f.Pods)
		if f.ActionableErr != nil {
			line += " error " + f.ActionableErr.Message
		}
		got = append(got, line)
	}
	want := []string{
		"task Sync-0 InProgress Syncing 1 file and 1 deletion to web",
		"web Succeeded 2 files [/src/index.html /src/old.css] pods [web-a web-b]",
		"task Sync-0 Succeeded",
		"task Sync-0 InProgress Syncing 1 file to web",
		"web Failed 1 files [/src/app.js] pods [web-a] error syncing to pod dev/web-b, container app: connection reset",
		"task Sync-0 Failed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A deploy records its start and its end: Succeeded, or Failed with the
// error (here the manifests do not parse, so nothing reaches a cluster).
func TestDeployPublishesDeployEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"k8s.yaml": "kind: [broken"})
	broken := testConfig(dir)
	broken.Render.RawK8s = []string{"k8s.yaml"}
	bus := event.NewBus(0)
	sub := bus.Subscribe(10)
	for _, c := range []*config.Config{testConfig(t.TempDir()), broken} {
		r := New(Options{Project: &config.Project{Configs: []*config.Config{c}}, Events: bus, Kubeconfig: filepath.Join(dir, "no-kubeconfig")})
		_ = r.Deploy(t.Context(), nil) // the events say how it went
	}
	bus.Close()
	var got []string
	for e := range sub.C {
		if te := e.TaskEvent; te != nil && te.Task == event.TaskDeploy {
			got = append(got, "task "+te.Status)
			continue
		}
		d := e.DeploySubtaskEvent
		if d == nil {
			t.Fatalf("unexpected event %+v", e)
		}
		line := d.Status
		if d.ActionableErr != nil && strings.Contains(d.ActionableErr.Message, "k8s.yaml") {
			line += " naming k8s.yaml"
		}
		got = append(got, line)
	}
	if want := "task InProgress, InProgress, Succeeded, task Succeeded, task InProgress, InProgress, Failed naming k8s.yaml, task Failed"; strings.Join(got, ", ") != want {
		t.Errorf("events: %s, want %s", strings.Join(got, ", "), want)
	}
}

// Each container a deploy set up for a debugger is published as a
// debugging container, with its runtime and debug ports.
func TestPublishDebugged(t *testing.T) {
	t.Parallel()
	bus := event.NewBus(0)
	sub := bus.Subscribe(10)
	r := New(Options{Project: &config.Project{Configs: []*config.Config{testConfig(t.TempDir())}}, Events: bus})
	r.debugged = []debug.Container{{Object: "deployment.apps/web", Name: "app", Artifact: "web", Runtime: "go", WorkingDir: "/app", Ports: []debug.Port{{Name: "dlv", Port: 56268}}}}
	r.publishDebugged()
	bus.Close()
	var got []event.DebuggingContainerEvent
	for e := range sub.C {
		got = append(got, *e.DebuggingContainerEvent)
	}
	if len(got) != 1 {
		t.Fatalf("events %+v, want one debugging container", got)
	}
	if d := got[0]; d.ID != "deployment.apps/web" || d.Status != event.Started || d.ContainerName != "app" || d.Artifact != "web" || d.Runtime != "go" || d.WorkingDir != "/app" || d.DebugPorts["dlv"] != 56268 || d.TaskID != "Deploy-0" {
		t.Errorf("event %+v, want web's app container debugged as go on dlv 56268", d)
	}
}
