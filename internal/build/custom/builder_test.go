package custom

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/testutil"
)

func artifact(t *testing.T, command string) *schema.Artifact {
	t.Helper()
	return &schema.Artifact{
		ImageName:    "app",
		Workspace:    t.TempDir(),
		ArtifactType: schema.ArtifactType{CustomArtifact: &schema.CustomArtifact{BuildCommand: command}},
	}
}

func TestBuildEnvironment(t *testing.T) {
	t.Parallel()
	a := artifact(t, `env > "$BUILD_CONTEXT/env.txt"; pwd > pwd.txt; echo built {{.WHO}}`)
	var out bytes.Buffer
	req := build.Request{
		Tag:       "localhost:5000/team/app:v1",
		Push:      true,
		Platforms: []string{"linux/amd64", "linux/arm64"},
		Requires: []build.Required{
			{ImageName: "base", Alias: "BASE", Ref: "localhost:5000/base:1@sha256:abc"},
		},
		Env: config.Env{"PATH": os.Getenv("PATH"), "WHO": "me", "IMAGE": "stale-from-the-shell", "FROM_ENV": "yes"},
		Out: &out,
	}
	got, err := New().Build(context.Background(), a, req)
	if err != nil {
		t.Fatal(err)
	}
	if got != (build.Built{External: true}) {
		t.Errorf("Built = %+v, want External", got)
	}
	if out.String() != "built me\n" {
		t.Errorf("output %q, want the templated command's", out.String())
	}
	data, err := os.ReadFile(filepath.Join(a.Workspace, "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(strings.TrimSpace(string(data)), "\n")
	abs, _ := filepath.Abs(a.Workspace)
	for _, want := range []string{
		"IMAGE=localhost:5000/team/app:v1",
		"PUSH_IMAGE=true",
		"BUILD_CONTEXT=" + abs,
		"PLATFORMS=linux/amd64,linux/arm64",
		"SKIP_TEST=false",
		"IMAGE_REPO=localhost:5000/team/app",
		"IMAGE_TAG=v1",
		"BASE=localhost:5000/base:1@sha256:abc",
		"FROM_ENV=yes",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("environment lacks %s:\n%s", want, data)
		}
	}
	pwd, _ := os.ReadFile(filepath.Join(a.Workspace, "pwd.txt"))
	if strings.TrimSpace(string(pwd)) != abs {
		t.Errorf("ran in %q, want the context %s", pwd, abs)
	}
}

func TestEnvironDefaults(t *testing.T) {
	t.Parallel()
	env := Environ(build.Request{Tag: "app:1"}, "/src")
	for _, want := range []string{"IMAGE=app:1", "PUSH_IMAGE=false", "PLATFORMS=", "IMAGE_REPO=app", "IMAGE_TAG=1", "BUILD_CONTEXT=/src", "SKIP_TEST=false"} {
		if !slices.Contains(env, want) {
			t.Errorf("Environ lacks %s: %q", want, env)
		}
	}
}

func TestBuildFailure(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := 1; i <= 20; i++ {
		lines = append(lines, "echo line "+string(rune('a'+i-1)))
	}
	a := artifact(t, strings.Join(lines, "; ")+"; echo oops >&2; exit 7")
	var out bytes.Buffer
	_, err := New().Build(context.Background(), a, build.Request{Tag: "app:1", Out: &out, Env: config.Env{"PATH": os.Getenv("PATH")}})
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want a *CommandError", err, err)
	}
	if ce.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", ce.ExitCode)
	}
	if len(ce.Output) != tailLines || ce.Output[len(ce.Output)-1] != "oops" || ce.Output[0] != "line g" {
		t.Errorf("last output %q, want the last %d lines ending in oops", ce.Output, tailLines)
	}
	msg := err.Error()
	for _, w := range []string{"exited with code 7", "exit 7", "output is above", "custom.buildCommand", a.Workspace} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	// The output is printed once: streamed, not repeated in the error.
	if strings.Contains(msg, "last output") {
		t.Errorf("error repeats the streamed output:\n%s", msg)
	}
	if !strings.Contains(out.String(), "line a\n") {
		t.Errorf("output was not streamed: %q", out.String())
	}
	// Without a writer for the output, the error carries its end.
	_, err = New().Build(context.Background(), a, build.Request{Tag: "app:1", Env: config.Env{"PATH": os.Getenv("PATH")}})
	if err == nil || !strings.Contains(err.Error(), "    oops") {
		t.Errorf("error without a writer: %v, want the last output", err)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		modify func(a *schema.Artifact)
		want   string
	}{
		{"empty command", func(a *schema.Artifact) { a.CustomArtifact.BuildCommand = " " }, "buildCommand is empty"},
		{"bad template", func(a *schema.Artifact) { a.CustomArtifact.BuildCommand = "echo {{.X" }, "custom.buildCommand"},
		{"missing context", func(a *schema.Artifact) { a.Workspace = filepath.Join(a.Workspace, "nope") }, "is not a directory"},
		{"not custom", func(a *schema.Artifact) { a.CustomArtifact = nil }, "not a custom artifact"},
	} {
		a := artifact(t, "true")
		tt.modify(a)
		_, err := New().Build(context.Background(), a, build.Request{Tag: "app:1"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestBuildCancelled(t *testing.T) {
	t.Parallel()
	a := artifact(t, `trap 'echo interrupted; exit 130' INT; sleep 30 & wait`)
	ctx, cancel := context.WithCancel(context.Background())
	var out testutil.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := New().Build(ctx, a, build.Request{Tag: "app:1", Out: &out, Env: config.Env{"PATH": os.Getenv("PATH")}})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		t.Logf("the build stopped %s after the cancellation", time.Since(start))
		if !strings.Contains(out.String(), "interrupted") {
			t.Errorf("the command got no SIGINT; output %q", out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled build did not stop")
	}
}
