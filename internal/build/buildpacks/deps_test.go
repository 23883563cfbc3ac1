package buildpacks

import (
	"reflect"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

func TestDependencies(t *testing.T) {
	t.Parallel()
	ws := writeTree(t, map[string]string{
		"main.go":      "package main",
		"go.mod":       "module app",
		"README.md":    "readme",
		"debug.log":    "x",
		"web/index.js": "x",
		"web/x.log":    "x",
		"project.toml": "[build]\nexclude = [\"*.log\", \"/README.md\"]\n",
	})
	got, err := Dependencies(bpArtifact(ws, &schema.BuildpackArtifact{Builder: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"go.mod", "main.go", "project.toml", "web/index.js"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dependencies = %v, want %v", got, want)
	}
	// dependencies.paths/ignore narrow the list; the descriptor stays.
	got, err = Dependencies(bpArtifact(ws, &schema.BuildpackArtifact{Builder: "b",
		Dependencies: &schema.BuildpackDependencies{Paths: []string{"**/*.go", "web"}, Ignore: []string{"web/index.js"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"main.go", "project.toml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dependencies with paths = %v, want %v", got, want)
	}
	// Without a descriptor, every file.
	ws2 := writeTree(t, map[string]string{"a": "", "b/c": ""})
	got, err = Dependencies(bpArtifact(ws2, &schema.BuildpackArtifact{Builder: "b"}))
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b/c"}) {
		t.Errorf("dependencies without descriptor = %v, %v", got, err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ws := writeTree(t, map[string]string{"main.go": ""})
	ok := &schema.BuildpackArtifact{Builder: "127.0.0.1:5001/builder:latest", Env: []string{"A={{.X}}"},
		Volumes: []*schema.BuildpackVolume{{Host: "/tmp", Target: "/data", Options: "rw"}}}
	if err := Validate(bpArtifact(ws, ok)); err != nil {
		t.Errorf("valid artifact: %v", err)
	}
	for _, tc := range []struct {
		bp        *schema.BuildpackArtifact
		platforms []string
		want      string
	}{
		{&schema.BuildpackArtifact{}, nil, "buildpacks.builder is empty"},
		{&schema.BuildpackArtifact{Builder: "UPPER/case"}, nil, "is not an image reference"},
		{&schema.BuildpackArtifact{Builder: "b", RunImage: "x::y"}, nil, "buildpacks.runImage"},
		{&schema.BuildpackArtifact{Builder: "b", Env: []string{"NOVALUE"}}, nil, `"NOVALUE" is not KEY=value`},
		{&schema.BuildpackArtifact{Builder: "b", Buildpacks: []string{" "}}, nil, "empty entry"},
		{&schema.BuildpackArtifact{Builder: "b", Volumes: []*schema.BuildpackVolume{{Host: "/h", Target: "/layers/x"}}}, nil, "under the lifecycle's /layers"},
		{&schema.BuildpackArtifact{Builder: "b", Volumes: []*schema.BuildpackVolume{{Host: "rel", Target: "/x"}}}, nil, "not an absolute path"},
		{&schema.BuildpackArtifact{Builder: "b", Volumes: []*schema.BuildpackVolume{{Host: "/h", Target: "/x", Options: "z"}}}, nil, `option "z"`},
		{&schema.BuildpackArtifact{Builder: "b", BuildArgs: []string{"--publish"}}, nil, "pack CLI flags"},
		{&schema.BuildpackArtifact{Builder: "b", ProjectDescriptor: "nope.toml"}, nil, "nope.toml"},
		{&schema.BuildpackArtifact{Builder: "b"}, []string{"linux/amd64", "linux/arm64"}, "one platform"},
	} {
		a := bpArtifact(ws, tc.bp)
		a.Platforms = tc.platforms
		err := Validate(a)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `artifact "app"`) {
			t.Errorf("%+v: error = %v, want %q", tc.bp, err, tc.want)
		}
	}
}
