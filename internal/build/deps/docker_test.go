package deps

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		workspace  string
		dockerfile string
		target     string
		buildArgs  map[string]*string
		opts       []Option
		want       []string
	}{
		{
			name:      "multi-stage, last stage: --from stages feed it, a stage nothing needs does not",
			workspace: "multistage", dockerfile: "Dockerfile",
			want: []string{"Dockerfile", "cmd/app/main.go", "config.yaml", "go.mod", "go.sum",
				"internal/lib/lib.go", "internal/lib/lib_test.go", "tools/gen.sh"},
		},
		{
			name:      "target stage built on another stage",
			workspace: "multistage", dockerfile: "Dockerfile", target: "test",
			want: []string{"Dockerfile", "cmd/app/main.go", "go.mod", "go.sum",
				"internal/lib/lib.go", "internal/lib/lib_test.go", "testdata/case.json", "tools/gen.sh"},
		},
		{
			name:      "target stage that needs no other",
			workspace: "multistage", dockerfile: "Dockerfile", target: "DOCS",
			want: []string{"Dockerfile", "docs/index.md"},
		},
		{
			name:      "ARG defaults, ARG before FROM, ENV in sources, JSON form with a space",
			workspace: "args", dockerfile: "Dockerfile",
			want: []string{"Dockerfile", "apps/hello/main.sh", "conf/default/a.yaml", "files/with space.txt"},
		},
		{
			name:      "build args override defaults, global ones included",
			workspace: "args", dockerfile: "Dockerfile",
			buildArgs: map[string]*string{"APP": ptr("world"), "VARIANT": ptr("prod"), "UNUSED": ptr("x")},
			want:      []string{"Dockerfile", "apps/world/main.sh", "conf/prod/a.yaml", "files/with space.txt"},
		},
		{
			name:      "a build arg without value comes from the environment",
			workspace: "args", dockerfile: "Dockerfile",
			buildArgs: map[string]*string{"APP": nil, "VARIANT": nil},
			opts: []Option{WithLookupEnv(func(k string) (string, bool) {
				if k == "APP" {
					return "world", true
				}
				return "", false
			})},
			want: []string{"Dockerfile", "apps/world/main.sh", "conf/default/a.yaml", "files/with space.txt"},
		},
		{
			name:      "globs, directories, --exclude (relative to the source), empty glob, --parents",
			workspace: "globs", dockerfile: "Dockerfile",
			want: []string{"Dockerfile", "a.txt", "assets/img/x.tmp", "assets/img/y.png", "assets/logo.png", "b.txt",
				"pkgs/a/package.json", "pkgs/b/package.json", "src/main.go", "src/sub/util.go",
				"web/about/index.html", "web/home/index.html"},
		},
		{
			name:      ".dockerignore with comments, negations, ** and directories",
			workspace: "ignore", dockerfile: "Dockerfile",
			want: []string{".dockerignore", "Dockerfile", "docs/keep.md", "excluded.Dockerfile", "main.go",
				"mount.Dockerfile", "secret-public.txt", "sub/code.go"},
		},
		{
			name:      "RUN --mount=type=bind of the whole context",
			workspace: "ignore", dockerfile: "mount.Dockerfile",
			want: []string{".dockerignore", "Dockerfile", "docs/keep.md", "excluded.Dockerfile", "main.go",
				"mount.Dockerfile", "secret-public.txt", "sub/code.go"},
		},
		{
			name:      "a Dockerfile outside the workspace is listed by its absolute path",
			workspace: "globs", dockerfile: abs(t, "testdata/outside/Dockerfile"),
			want: []string{filepath.ToSlash(abs(t, "testdata/outside/Dockerfile")), "a.txt"},
		},
		{
			name:      "Dockerfile-specific .dockerignore wins over the workspace's; the Dockerfile is always listed",
			workspace: "dfignore", dockerfile: "build/app.Dockerfile",
			want: []string{".dockerignore", "README.md", "build/app.Dockerfile", "main.go"},
		},
		{
			name:      "absolute Dockerfile path inside the workspace",
			workspace: "dfignore", dockerfile: abs(t, "testdata/dfignore/build/app.Dockerfile"),
			want: []string{".dockerignore", "README.md", "build/app.Dockerfile", "main.go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Dockerfile(filepath.Join("testdata", tt.workspace), tt.dockerfile, tt.target, tt.buildArgs, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Dockerfile() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestDockerfileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		workspace  string
		dockerfile string
		target     string
		wantLine   int // 0: not a *DockerfileError
		wantIn     []string
	}{
		{
			name:      "COPY of a missing file names the line and the pattern",
			workspace: "errors", dockerfile: "missing.Dockerfile", wantLine: 4,
			wantIn: []string{`COPY source "missing.txt" does not exist`, "testdata/errors/missing.Dockerfile:4:"},
		},
		{
			name:      "COPY of a file the .dockerignore excludes",
			workspace: "ignore", dockerfile: "excluded.Dockerfile", wantLine: 3,
			wantIn: []string{`"build/out.bin" is excluded`, ".dockerignore (pattern build)", "!build/out.bin"},
		},
		{
			name:      "missing Dockerfile says where it was looked for",
			workspace: "errors", dockerfile: "nothere/Dockerfile",
			wantIn: []string{"no Dockerfile", filepath.Join("testdata", "errors", "nothere", "Dockerfile")},
		},
		{
			name:      "unknown target lists the stages",
			workspace: "multistage", dockerfile: "Dockerfile", target: "prod",
			wantIn: []string{`target stage "prod" not found`, "base, builder, docs, test, runtime"},
		},
		{
			name:      "syntax error",
			workspace: "errors", dockerfile: "unknown-instruction.Dockerfile", wantLine: 2,
			wantIn: []string{"unknown instruction: COPPY"},
		},
		{
			name:      "missing workspace",
			workspace: "no-such-workspace", dockerfile: "Dockerfile",
			wantIn: []string{"is not a directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Dockerfile(filepath.Join("testdata", tt.workspace), tt.dockerfile, tt.target, nil)
			if err == nil {
				t.Fatal("Dockerfile() succeeded, want an error")
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			var de *DockerfileError
			if tt.wantLine == 0 {
				return
			}
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DockerfileError", err)
			}
			if de.Line != tt.wantLine {
				t.Errorf("line = %d, want %d", de.Line, tt.wantLine)
			}
		})
	}
}

func TestDockerfileMissingIsNotExist(t *testing.T) {
	t.Parallel()
	_, err := Dockerfile("testdata/errors", "nothere", "", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
