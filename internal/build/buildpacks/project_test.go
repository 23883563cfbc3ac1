package buildpacks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

func TestParseProjectV01(t *testing.T) {
	t.Parallel()
	p, err := ParseProject([]byte(`
[project]
id = "app"

[build]
exclude = ["/README.md", "*.log", "tmp/"]

[[build.env]]
name = "GOFLAGS"
value = "-mod=vendor"

[[build.buildpacks]]
id = "skiff/go"
version = "0.1.0"

[[build.buildpacks]]
uri = "./my-buildpack"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Project{
		Exclude:    []string{"/README.md", "*.log", "tmp/"},
		Env:        []EnvVar{{Name: "GOFLAGS", Value: "-mod=vendor"}},
		Buildpacks: []string{"skiff/go@0.1.0", "./my-buildpack"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("project = %+v, want %+v", p, want)
	}
}

func TestParseProjectV02(t *testing.T) {
	t.Parallel()
	p, err := ParseProject([]byte(`
[_]
schema-version = "0.2"
id = "app"

[io.buildpacks]
include = ["cmd/", "go.mod"]
builder = "ignored"

[[io.buildpacks.group]]
id = "skiff/go"

[[io.buildpacks.pre.group]]
uri = "docker://reg/pre:1"

[[io.buildpacks.post.group]]
id = "post"
version = "2"

[[io.buildpacks.build.env]]
name = "A"
value = "b"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Project{
		Include:    []string{"cmd/", "go.mod"},
		Env:        []EnvVar{{Name: "A", Value: "b"}},
		Buildpacks: []string{"skiff/go"},
		Pre:        []string{"docker://reg/pre:1"},
		Post:       []string{"post@2"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("project = %+v, want %+v", p, want)
	}
}

func TestParseProjectErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ toml, want string }{
		{`[_]` + "\n" + `schema-version = "0.3"`, `schema-version "0.3" is not supported`},
		{"[build]\ninclude = [\"a\"]\nexclude = [\"b\"]", "both include and exclude"},
		{"[build\n", "not valid TOML"},
		{"[[build.env]]\nname = \"A=B\"", `"A=B" is not a valid variable name`},
		{"[[build.buildpacks]]\nversion = \"1\"", "neither id nor uri"},
		{"[build]\nexclude = [\"!keep\"]", "without negation"},
	} {
		if _, err := ParseProject([]byte(tc.toml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error = %v, want %q", tc.toml, err, tc.want)
		}
	}
}

func TestProjectSelects(t *testing.T) {
	t.Parallel()
	ex := &Project{Exclude: []string{"/README.md", "*.log", "tmp/", "docs/**/*.png"}}
	in := &Project{Include: []string{"cmd/", "go.mod"}}
	for _, tc := range []struct {
		p    *Project
		path string
		dir  bool
		want bool
	}{
		{nil, "anything", false, true},
		{ex, "README.md", false, false},
		{ex, "sub/README.md", false, true},
		{ex, "a/b/x.log", false, false},
		{ex, "tmp", true, false},
		{ex, "tmp/x.go", false, false},
		{ex, "docs/a/b.png", false, false},
		{ex, "main.go", false, true},
		{in, "cmd/app/main.go", false, true},
		{in, "go.mod", false, true},
		{in, "other/go.mod", false, true},
		{in, "README.md", false, false},
		{in, "internal", true, true},
	} {
		if got := tc.p.Selects(tc.path, tc.dir); got != tc.want {
			t.Errorf("%+v selects %s = %v, want %v", tc.p, tc.path, got, tc.want)
		}
	}
}

// writeTree writes files (path -> content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		f := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func bpArtifact(ws string, bp *schema.BuildpackArtifact) *schema.Artifact {
	return &schema.Artifact{ImageName: "app", Workspace: ws, ArtifactType: schema.ArtifactType{BuildpackArtifact: bp}}
}

func TestLoadProject(t *testing.T) {
	t.Parallel()
	ws := writeTree(t, map[string]string{"main.go": "package main", "ci/project.toml": "[build]\nexclude = [\"x\"]\n"})
	p, err := LoadProject(bpArtifact(ws, &schema.BuildpackArtifact{Builder: "b"}))
	if err != nil || p != nil {
		t.Errorf("no project.toml: %+v, %v; want nil, nil", p, err)
	}
	p, err = LoadProject(bpArtifact(ws, &schema.BuildpackArtifact{Builder: "b", ProjectDescriptor: "ci/project.toml"}))
	if err != nil || p.File != "ci/project.toml" || !reflect.DeepEqual(p.Exclude, []string{"x"}) {
		t.Errorf("ci/project.toml: %+v, %v", p, err)
	}
	_, err = LoadProject(bpArtifact(ws, &schema.BuildpackArtifact{Builder: "b", ProjectDescriptor: "missing.toml"}))
	if err == nil || !strings.Contains(err.Error(), "missing.toml") || !strings.Contains(err.Error(), "projectDescriptor") {
		t.Errorf("missing descriptor: %v", err)
	}
}
