package deps

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, name string, buildArgs map[string]*string, opts ...Option) (*ParsedDockerfile, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseDockerfile(f, buildArgs, append([]Option{WithFilename(name)}, opts...)...)
}

// copySummary is the part of a Copy the tests compare.
type copySummary struct {
	Instruction string
	Sources     []string
	Remote      []string
	Heredocs    []string
	Dest        string
	DestIsDir   bool
	From        string
	FromStage   string
	Parents     bool
	Chown       string
	Line        int
	OnBuild     bool
}

func summarize(cs []*Copy) []copySummary {
	var out []copySummary
	for _, c := range cs {
		s := copySummary{
			Instruction: c.Instruction, Sources: c.Sources, Remote: c.Remote, Heredocs: c.Heredocs,
			Dest: c.Dest, DestIsDir: c.DestIsDir, From: c.From, Parents: c.Parents, Chown: c.Chown,
			Line: c.Line, OnBuild: c.OnBuild,
		}
		if c.FromStage != nil {
			s.FromStage = c.FromStage.Name
		}
		out = append(out, s)
	}
	return out
}

func stageNames(ss []*Stage) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestParseDockerfileModel(t *testing.T) {
	t.Parallel()
	df, err := parseFile(t, "parse/model.Dockerfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stageNames(df.Stages); !reflect.DeepEqual(got, []string{"build", "child", ""}) {
		t.Fatalf("stages = %q", got)
	}
	build, child, final := df.Stages[0], df.Stages[1], df.Stages[2]
	if df.Target != final {
		t.Errorf("target = stage %d, want the last", df.Target.Index)
	}
	if build.Base != "docker.io/library/golang:1.22" || build.BaseStage != nil || build.Line != 2 {
		t.Errorf("build stage: base %q, base stage %v, line %d", build.Base, build.BaseStage, build.Line)
	}
	if child.BaseStage != build || final.Base != "scratch" {
		t.Errorf("child's base stage = %v, final's base = %q", child.BaseStage, final.Base)
	}
	if final.Workdir != "/app/static" || build.Workdir != "/go/src/app" || child.Workdir != "/go/src/app" {
		t.Errorf("workdirs = %q %q %q", build.Workdir, child.Workdir, final.Workdir)
	}
	if got := stageNames(final.Reads); !reflect.DeepEqual(got, []string{"build", "child"}) {
		t.Errorf("final reads %q", got)
	}
	if got := stageNames(df.Needed()); !reflect.DeepEqual(got, []string{"build", "child", ""}) {
		t.Errorf("needed = %q", got)
	}

	tests := []struct {
		stage *Stage
		want  []copySummary
	}{
		{build, []copySummary{
			{Instruction: "COPY", Sources: []string{"go.mod", "go.sum"}, Dest: "/go/src/app", DestIsDir: true, Line: 6},
			{Instruction: "COPY", Sources: []string{"./cmd/server"}, Dest: "/go/src/app/cmd/server", Line: 7},
		}},
		{child, []copySummary{
			{Instruction: "COPY", Sources: []string{"onbuild.txt"}, Dest: "/go/src/app", DestIsDir: true, Line: 12, OnBuild: true},
			{Instruction: "COPY", Sources: []string{"child.txt"}, Dest: "/go/src/app", DestIsDir: true, Line: 13},
		}},
		{final, []copySummary{
			{Instruction: "COPY", Sources: []string{"/out/server"}, Dest: "/bin/server", From: "build", FromStage: "build", Chown: "1000:1000", Line: 18},
			{Instruction: "COPY", Sources: []string{"/go/src/app/child.txt"}, Dest: "/app", DestIsDir: true, From: "child", FromStage: "child", Line: 19},
			{Instruction: "COPY", Sources: []string{}, Heredocs: []string{"EOF"}, Dest: "/etc/motd", Line: 20},
			{Instruction: "ADD", Sources: []string{"local.tgz"}, Remote: []string{"https://example.com/a.tgz"}, Dest: "/app/static", DestIsDir: true, Line: 23},
			{Instruction: "COPY", Sources: []string{"./pkgs/./**/*.json"}, Dest: "/cfg", DestIsDir: true, Parents: true, Line: 24},
		}},
	}
	for _, tt := range tests {
		got := summarize(tt.stage.Copies)
		for i := range got {
			if got[i].Sources == nil {
				got[i].Sources = []string{}
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("stage %q copies:\n got %+v\nwant %+v", tt.stage.Name, got, tt.want)
		}
	}

	if len(build.Mounts) != 2 {
		t.Fatalf("build mounts = %+v", build.Mounts)
	}
	bind, cache := build.Mounts[0], build.Mounts[1]
	if bind.Type != "bind" || !bind.FromContext() || bind.Target != "/go/src/app" || bind.Source != "" || bind.Line != 8 {
		t.Errorf("bind mount = %+v", bind)
	}
	if cache.Type != "cache" || cache.From != "cachestage" || cache.FromStage != nil || cache.Target != "/cache" {
		t.Errorf("cache mount = %+v", cache)
	}

	var ctx []string
	for _, c := range df.ContextCopies() {
		ctx = append(ctx, strings.Join(c.Sources, ","))
	}
	want := []string{"go.mod,go.sum", "./cmd/server", "onbuild.txt", "child.txt", "", "local.tgz", "./pkgs/./**/*.json"}
	if !reflect.DeepEqual(ctx, want) {
		t.Errorf("context copies = %q, want %q", ctx, want)
	}
}

func TestParseDockerfileOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		file      string
		buildArgs map[string]*string
		opts      []Option
		wantStage int
		want      []copySummary
		platform  string
	}{
		{
			name: "TARGETSTAGE is default for an unnamed last stage",
			file: "parse/targetstage.Dockerfile",
			want: []copySummary{
				{Instruction: "COPY", Sources: []string{"default.txt"}, Dest: "/", DestIsDir: true, Line: 3},
			},
		},
		{
			name: "base image config: WORKDIR, ENV and ONBUILD triggers",
			file: "parse/image-config.Dockerfile",
			opts: []Option{WithImageConfig(func(image string) (*ImageConfig, error) {
				if image != "golang:1.22" {
					t.Errorf("asked for the config of %q", image)
				}
				return &ImageConfig{WorkingDir: "/go/src", Env: []string{"GOPATH=/gopath"}, OnBuild: []string{"COPY onbuild.txt ."}}, nil
			})},
			want: []copySummary{
				{Instruction: "COPY", Sources: []string{"onbuild.txt"}, Dest: "/go/src", DestIsDir: true, Line: 1, OnBuild: true},
				{Instruction: "COPY", Sources: []string{"/gopath/x"}, Dest: "/go/src/rel", DestIsDir: true, Line: 2},
			},
		},
		{
			name: "without image config, an unknown variable is empty and WORKDIR is /",
			file: "parse/image-config.Dockerfile",
			want: []copySummary{
				{Instruction: "COPY", Sources: []string{"/x"}, Dest: "/rel", DestIsDir: true, Line: 2},
			},
		},
		{
			name:     "predefined platform arguments",
			file:     "parse/platform.Dockerfile",
			opts:     []Option{WithPlatform("linux/arm64"), WithTarget("build")},
			platform: "linux/arm64",
			want: []copySummary{
				{Instruction: "COPY", Sources: []string{"bin/arm64/app"}, Dest: "/app/build", Line: 4},
			},
		},
		{
			name:      "build args override predefined ones",
			file:      "parse/platform.Dockerfile",
			buildArgs: map[string]*string{"TARGETARCH": ptr("riscv64"), "BUILDPLATFORM": ptr("linux/s390x")},
			platform:  "linux/s390x",
			want: []copySummary{
				{Instruction: "COPY", Sources: []string{"bin/riscv64/app"}, Dest: "/app/build", Line: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			df, err := parseFile(t, tt.file, tt.buildArgs, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			s := df.Stages[tt.wantStage]
			if got := summarize(s.Copies); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("copies:\n got %+v\nwant %+v", got, tt.want)
			}
			if s.Platform != tt.platform {
				t.Errorf("platform = %q, want %q", s.Platform, tt.platform)
			}
		})
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		wantLine int
		wantIn   string
	}{
		{"unknown-instruction.Dockerfile", 2, "unknown instruction: COPPY (did you mean COPY?)"},
		{"copy-no-dest.Dockerfile", 3, "COPY requires at least two arguments"},
		{"unknown-flag.Dockerfile", 3, "unknown flag: --frmo"},
		{"empty.Dockerfile", 1, "file with no instructions"},
		{"no-from.Dockerfile", 0, "no FROM instruction"},
		{"unterminated-heredoc.Dockerfile", 2, "unterminated heredoc"},
		{"before-from.Dockerfile", 1, "no build stage in current context"},
		{"bad-stage-name.Dockerfile", 1, `invalid name for build stage: "1st"`},
		{"empty-base.Dockerfile", 1, "expands to nothing"},
		{"bad-index.Dockerfile", 2, "there is no stage 3"},
		{"later-stage.Dockerfile", 2, `stage "later" is defined at line 3`},
		{"bad-expansion.Dockerfile", 2, "X: must be set"},
		{"self-index.Dockerfile", 2, "can only read stages above it"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			_, err := parseFile(t, filepath.Join("errors", tt.file), nil)
			var de *DockerfileError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DockerfileError", err)
			}
			if de.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (%v)", de.Line, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
			prefix := "errors/" + tt.file + ":"
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
		})
	}
}

func TestParseDockerfileUnneededStageErrors(t *testing.T) {
	t.Parallel()
	src := "FROM alpine AS broken\nWORKDIR ${X:?unset}\nFROM scratch\nCOPY a /a\n"
	df, err := ParseDockerfile(strings.NewReader(src), nil)
	if err != nil {
		t.Fatalf("an error in a stage the target does not need failed the parse: %v", err)
	}
	if df.Stages[0].Err == nil {
		t.Error("the broken stage has no Err")
	}
	if _, err := ParseDockerfile(strings.NewReader(src), nil, WithTarget("broken")); err == nil {
		t.Error("targeting the broken stage succeeded")
	}
}

func TestParseDockerfileSyntaxDirectiveHint(t *testing.T) {
	t.Parallel()
	for syntax, hint := range map[string]bool{
		"example.com/custom-frontend:1":   true,
		"docker/dockerfile:1.7-labs":      true,
		"docker/dockerfile:1":             false,
		"docker.io/docker/dockerfile:1.9": false,
	} {
		src := "# syntax=" + syntax + "\nFROM alpine\nCOPY --magic a /b\n"
		_, err := ParseDockerfile(strings.NewReader(src), nil)
		if err == nil {
			t.Fatalf("%s: no error", syntax)
		}
		if got := strings.Contains(err.Error(), "asks for frontend "+syntax); got != hint {
			t.Errorf("%s: hint in %q is %v, want %v", syntax, err, got, hint)
		}
	}
}

func TestParseDockerfileImageConfigLookups(t *testing.T) {
	t.Parallel()
	src := "FROM alpine AS a\nFROM alpine AS b\nFROM node AS unused\nFROM scratch\nCOPY --from=a /x /x\nCOPY --from=b /y /y\n"
	var asked []string
	_, err := ParseDockerfile(strings.NewReader(src), nil, WithImageConfig(func(image string) (*ImageConfig, error) {
		asked = append(asked, image)
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(asked, []string{"alpine"}) {
		t.Errorf("looked up %q, want alpine once (node is in no needed stage, scratch is no image)", asked)
	}

	_, err = ParseDockerfile(strings.NewReader(src), nil, WithFilename("Dockerfile.x"), WithImageConfig(func(string) (*ImageConfig, error) {
		return nil, errors.New("registry unreachable")
	}))
	if err == nil || !strings.Contains(err.Error(), "Dockerfile.x:1: reading the config of base image alpine: registry unreachable") {
		t.Errorf("error = %v", err)
	}
}

// TestParseDockerfileBoundsItsInput checks that a reader that never ends
// (a FIFO, a device) is read only to the Dockerfile bound.
func TestParseDockerfileBoundsItsInput(t *testing.T) {
	t.Parallel()
	_, err := ParseDockerfile(endless{}, nil, WithFilename("Dockerfile"))
	if err == nil || !strings.Contains(err.Error(), "more than the 16.0 MiB") {
		t.Fatalf("got %v; want the size bound", err)
	}
}

// endless reads as an infinite run of comment bytes.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	return len(p), nil
}
