package dockerbuild

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	skbuild "skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

func ptr(s string) *string { return &s }

// project writes a context with the given Dockerfile and returns a docker
// artifact for it.
func project(t *testing.T, dockerfile string, extra map[string]string) *schema.Artifact {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"Dockerfile": dockerfile}
	for k, v := range extra {
		files[k] = v
	}
	writeFiles(t, dir, files)
	return &schema.Artifact{ImageName: "app", Workspace: dir, ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{}}}
}

func TestBuildSuccess(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fixture string
		version build.BuilderVersion
		wantID  string
		wantOut []string
	}{
		{"ok-classic.jsonl", build.BuilderV1, "sha256:6ec7fba14c8f666b270b8ebdf333d2c9b9b4802b202b74275f8657504c8d9f1b",
			[]string{"Step 4/7 : RUN echo \"building $MSG\" && echo \"$MSG\" > /msg", "building hello", "Successfully tagged skiff-ok:1"}},
		{"ok-buildkit.jsonl", build.BuilderBuildKit, "sha256:416b29766ef8d502abf7183888596ac6c1715cc141d2fea65d67270d5841d236",
			[]string{"[build 2/2] RUN echo \"building hello\" && echo \"hello\" > /msg", "building hello", "DONE", "[final 2/2] COPY app.txt /app.txt"}},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			a := project(t, string(readFixture(t, "ok.Dockerfile")), map[string]string{"app.txt": "app"})
			fc := &fakeClient{builderVersion: tt.version, stream: readFixture(t, tt.fixture)}
			b, err := New(fc)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			got, err := b.Build(context.Background(), a, skbuild.Request{Tag: "skiff-ok:1", Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if got.DaemonID != tt.wantID || got.Image != nil || got.External {
				t.Errorf("Built = %+v, want DaemonID %s", got, tt.wantID)
			}
			if v := fc.lastOpts(t).Version; v != tt.version {
				t.Errorf("builder version %q, want %q (the daemon's default)", v, tt.version)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "[internal]") || strings.Contains(out.String(), "\x1b") {
				t.Errorf("output shows BuildKit internals or colour codes:\n%s", out.String())
			}
		})
	}
}

func TestBuildOptions(t *testing.T) {
	t.Parallel()
	a := project(t, "ARG BASE\nARG VERSION=1\nFROM scratch AS build\nARG GREETING\nFROM build AS final\n", nil)
	a.DockerArtifact = &schema.DockerArtifact{
		Target:      "final",
		NetworkMode: "None",
		AddHost:     []string{"db:10.0.0.2"},
		CacheFrom:   []string{"app", "other:1"},
		NoCache:     true,
		PullParent:  true,
		BuildArgs: map[string]*string{
			"VERSION":  ptr("{{.IMAGE_TAG}}-{{.SUFFIX}}"),
			"REPO":     ptr("{{.IMAGE_REPO}}/{{.IMAGE_NAME}}"),
			"GREETING": nil,
			"ABSENT":   nil,
		},
		CliFlags: []string{"--label", "team={{.TEAM}}", "--memory=64m", "--shm-size", "1g", "--build-arg", "FROMFLAG=x", "-t", "extra:tag", "--ulimit", "nofile=1024:2048"},
	}
	fc := &fakeClient{stream: readFixture(t, "ok-classic.jsonl"), images: map[string]string{"other:1": "sha256:o"}}
	b, _ := New(fc)
	req := skbuild.Request{
		Tag: "registry.local:5000/team/app:v2",
		Requires: []skbuild.Required{
			{ImageName: "base", Alias: "BASE", Ref: "registry.local:5000/base:1@sha256:abc"},
			{ImageName: "tools", Alias: "TOOLS", Ref: "tools:9"}, // no ARG TOOLS: left out
		},
		Platforms: []string{"linux/arm64/v8"},
		Env:       config.Env{"SUFFIX": "s", "TEAM": "blue", "GREETING": "hi"},
	}
	var out bytes.Buffer
	req.Out = &out
	if _, err := b.Build(context.Background(), a, req); err != nil {
		t.Fatal(err)
	}
	o := fc.lastOpts(t)
	wantArgs := map[string]string{
		"BASE":     "registry.local:5000/base:1@sha256:abc",
		"VERSION":  "v2-s",
		"REPO":     "registry.local:5000/team/app",
		"GREETING": "hi",
		"FROMFLAG": "x",
	}
	for k, v := range wantArgs {
		if got := o.BuildArgs[k]; got == nil || *got != v {
			t.Errorf("build arg %s = %v, want %q", k, deref(got), v)
		}
	}
	if v, ok := o.BuildArgs["ABSENT"]; !ok || v != nil {
		t.Errorf("ABSENT should be passed without a value, got %v (present %v)", deref(v), ok)
	}
	if _, ok := o.BuildArgs["TOOLS"]; ok {
		t.Error("TOOLS is passed although the Dockerfile declares no ARG TOOLS")
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"tags", slices.Equal(o.Tags, []string{"registry.local:5000/team/app:v2", "extra:tag"})},
		{"dockerfile", o.Dockerfile == "Dockerfile"},
		{"target", o.Target == "final"},
		{"network", o.NetworkMode == "none"},
		{"extra hosts", slices.Equal(o.ExtraHosts, []string{"db:10.0.0.2"})},
		{"cache from", slices.Equal(o.CacheFrom, []string{"registry.local:5000/team/app:v2", "other:1"})},
		{"no cache, pull", o.NoCache && o.PullParent},
		{"remove", o.Remove && o.ForceRemove},
		{"labels", o.Labels["team"] == "blue"},
		{"memory", o.Memory == 64<<20 && o.ShmSize == 1<<30},
		{"ulimit", len(o.Ulimits) == 1 && o.Ulimits[0].Name == "nofile" && o.Ulimits[0].Soft == 1024 && o.Ulimits[0].Hard == 2048},
		{"platform", len(o.Platforms) == 1 && o.Platforms[0].OS == "linux" && o.Platforms[0].Architecture == "arm64" && o.Platforms[0].Variant == "v8"},
		{"classic builder", o.Version == build.BuilderV1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong in %+v", c.what, o)
		}
	}
	// The artifact's own image is not in the daemon and cannot be pulled:
	// the build goes on with a warning.
	if !slices.Equal(fc.pulls, []string{"registry.local:5000/team/app:v2"}) {
		t.Errorf("pulls = %q, want only the missing cacheFrom image", fc.pulls)
	}
	if !strings.Contains(out.String(), "WARNING: cacheFrom image registry.local:5000/team/app:v2") {
		t.Errorf("no warning about the cacheFrom image that could not be pulled:\n%s", out.String())
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func TestBuildFailedStep(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fixture, dockerfile string
		version             build.BuilderVersion
		step                string
		line                int
		output              []string
		hint                string
	}{
		{"fail-classic.jsonl", "fail.Dockerfile", build.BuilderV1,
			"Step 5/6 : RUN echo line one && echo line two >&2 && exit 3", 5, []string{"line two", "line one"},
			"Fix the command of the RUN at "},
		{"fail-buildkit.jsonl", "fail.Dockerfile", build.BuilderBuildKit,
			"[stage-1 1/2] RUN echo line one && echo line two >&2 && exit 3", 5, []string{"line one", "line two"},
			"Fix the command of the RUN at "},
		{"copy-classic.jsonl", "copy.Dockerfile", build.BuilderV1,
			"Step 2/2 : COPY missing.txt /x", 2, nil,
			"Check that the source of the COPY at "},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			a := project(t, string(readFixture(t, tt.dockerfile)), map[string]string{"missing.txt": "present here, so that skiff's own check passes"})
			fc := &fakeClient{builderVersion: tt.version, stream: readFixture(t, tt.fixture)}
			b, _ := New(fc)
			var out bytes.Buffer
			_, err := b.Build(context.Background(), a, skbuild.Request{Tag: "app:1", Out: &out})
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *StepError", err, err)
			}
			df := filepath.Join(a.Workspace, "Dockerfile")
			if se.Step != tt.step || se.Line != tt.line || se.File != df || !slices.Equal(se.Output, tt.output) {
				t.Errorf("StepError = step %q line %d file %s output %q\nwant step %q line %d file %s output %q", se.Step, se.Line, se.File, se.Output, tt.step, tt.line, df, tt.output)
			}
			msg := err.Error()
			for _, w := range append([]string{tt.step, df + ":" + strconv.Itoa(tt.line), tt.hint + df}, tt.output...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestBuildErrorsBeforeTheDaemon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		files      map[string]string
		modify     func(a *schema.Artifact)
		opts       []Option
		req        skbuild.Request
		want       []string
	}{
		{name: "syntax error", dockerfile: "FROM scratch\nCOPY\n", want: []string{"Dockerfile:2"}},
		{name: "unknown instruction", dockerfile: "FROM scratch\nRUNN make\n", want: []string{"Dockerfile:2", "unknown instruction"}},
		{name: "missing target", dockerfile: "FROM scratch AS one\n", modify: func(a *schema.Artifact) { a.DockerArtifact.Target = "two" }, want: []string{`"two" not found`, "one"}},
		{name: "missing COPY source", dockerfile: "FROM scratch\nCOPY nothere.txt /\n", want: []string{"Dockerfile:2", "nothere.txt", "does not exist"}},
		{name: "ignored COPY source", dockerfile: "FROM scratch\nCOPY app.log /\n", files: map[string]string{".dockerignore": "*.log\n", "app.log": "x"}, want: []string{"Dockerfile:2", "excluded", ".dockerignore"}},
		{name: "missing Dockerfile", modify: func(a *schema.Artifact) { a.DockerArtifact.DockerfilePath = "docker/Dockerfile.prod" }, dockerfile: "FROM scratch", want: []string{"no Dockerfile", "Dockerfile.prod"}},
		{name: "unsupported CLI flag", dockerfile: "FROM scratch", modify: func(a *schema.Artifact) { a.DockerArtifact.CliFlags = []string{"--push"} }, want: []string{"--push is not supported by skiff yet", "--add-host"}},
		{name: "CLI flag with a field", dockerfile: "FROM scratch", modify: func(a *schema.Artifact) { a.DockerArtifact.CliFlags = []string{"-f", "x"} }, want: []string{"docker.dockerfile"}},
		{name: "several platforms", dockerfile: "FROM scratch", req: skbuild.Request{Platforms: []string{"linux/amd64", "linux/arm64"}}, want: []string{"several platforms", "not supported by skiff"}},
		{name: "bad platform", dockerfile: "FROM scratch", req: skbuild.Request{Platforms: []string{"amd64"}}, want: []string{`invalid platform "amd64"`}},
		{name: "bad build arg template", dockerfile: "FROM scratch", modify: func(a *schema.Artifact) { a.DockerArtifact.BuildArgs = map[string]*string{"X": ptr("{{.A")} }, want: []string{"build arg X"}},
		{name: "secrets with BuildKit off", dockerfile: "FROM scratch", opts: []Option{WithBuildKit(new(bool))}, modify: func(a *schema.Artifact) {
			a.DockerArtifact.Secrets = []*schema.DockerSecret{{ID: "s", Env: "S"}}
		}, want: []string{"need BuildKit", "useBuildkit"}},
		{name: "ssh without an agent", dockerfile: "FROM scratch", modify: func(a *schema.Artifact) { a.DockerArtifact.SSH = "default" }, want: []string{"SSH_AUTH_SOCK is not set", "ssh-agent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := project(t, tt.dockerfile, tt.files)
			if tt.modify != nil {
				tt.modify(a)
			}
			fc := &fakeClient{stream: readFixture(t, "ok-classic.jsonl")}
			b, err := New(fc, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			req := tt.req
			req.Tag = "app:1"
			_, err = b.Build(context.Background(), a, req)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if len(fc.opts) > 0 {
				t.Error("the build reached the daemon")
			}
		})
	}
}

func TestDaemonNotRunning(t *testing.T) {
	t.Parallel()
	sock := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	c, err := client.New(client.WithHost(sock))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(c)
	a := project(t, "FROM scratch\n", nil)
	_, err = b.Build(context.Background(), a, skbuild.Request{Tag: "app:1"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{sock, "not running", "dockerd", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q: %v", w, err)
		}
	}
	if !client.IsErrConnectionFailed(err) {
		t.Errorf("error %v does not wrap the connection failure", err)
	}
}

func TestBuildRefused(t *testing.T) {
	t.Parallel()
	a := project(t, "FROM scratch\n", nil)
	a.DockerArtifact.Squash = true
	fc := &fakeClient{buildErr: errors.New("Error response from daemon: squash is only supported with experimental mode")}
	b, _ := New(fc)
	_, err := b.Build(context.Background(), a, skbuild.Request{Tag: "app:1"})
	if err == nil || !strings.Contains(err.Error(), "--experimental") {
		t.Errorf("error %v does not say how to enable squash", err)
	}
	if !fc.lastOpts(t).Squash {
		t.Error("squash was not requested")
	}
}

func TestUseBuildKit(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	secrets := &schema.DockerArtifact{Secrets: []*schema.DockerSecret{{ID: "s"}}}
	plain := &schema.DockerArtifact{}
	for _, tt := range []struct {
		name    string
		setting *bool
		daemon  build.BuilderVersion
		d       *schema.DockerArtifact
		want    bool
	}{
		{"daemon default classic", nil, "", plain, false},
		{"daemon default BuildKit", nil, build.BuilderBuildKit, plain, true},
		{"secrets need BuildKit", nil, build.BuilderV1, secrets, true},
		{"setting on", &yes, build.BuilderV1, plain, true},
		{"setting off", &no, build.BuilderBuildKit, plain, false},
	} {
		b, _ := New(&fakeClient{}, WithBuildKit(tt.setting))
		got, err := b.useBuildKit(tt.d, client.PingResult{BuilderVersion: tt.daemon})
		if err != nil || got != tt.want {
			t.Errorf("%s: useBuildKit = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}
