package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterBuildDefaultsToKaniko checks Skaffold's defaults for an
// artifact that names no builder: docker for a local build, kaniko (with
// ./Dockerfile) when build.cluster is set, which diagnose then reports as
// unsupported at the artifact; and Skaffold's trusted buildpacks builder
// for a buildpacks artifact that names none.
func TestClusterBuildDefaultsToKaniko(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
  - image: packed
    buildpacks: {}
  - image: custom
    buildpacks:
      buildpacks: [paketo-buildpacks/go]
  - image: chosen
    kaniko: {}
profiles:
- name: cluster
  build:
    cluster: {}
`
	file := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	local, err := Load(Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	arts := local.Configs[0].Build.Artifacts
	if got := arts[0].BuilderType(); got != "docker" {
		t.Errorf("local build: artifact with no builder builds with %q, want docker", got)
	}
	if bp := arts[1].BuildpackArtifact; bp.Builder != DefaultBuildpacksBuilder || !bp.TrustBuilder {
		t.Errorf("buildpacks with no builder: builder %q, trusted %v; want %s, trusted", bp.Builder, bp.TrustBuilder, DefaultBuildpacksBuilder)
	}
	if bp := arts[2].BuildpackArtifact; bp.Builder != "" || bp.TrustBuilder {
		t.Errorf("buildpacks that lists buildpacks: builder %q, trusted %v; want none, as in Skaffold", bp.Builder, bp.TrustBuilder)
	}

	cluster, err := Load(Options{File: file, Profiles: []string{"cluster"}})
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.Configs[0]
	a := c.Build.Artifacts[0]
	if a.BuilderType() != "kaniko" || a.KanikoArtifact.DockerfilePath != DefaultDockerfile {
		t.Fatalf("cluster build: artifact with no builder builds with %q (%+v), want kaniko with %s", a.BuilderType(), a.KanikoArtifact, DefaultDockerfile)
	}
	var got []string
	for _, e := range Unsupported(c, []string{"docker", "buildpacks"}) {
		got = append(got, strings.TrimPrefix(e.Error(), file+":"))
	}
	want := []string{
		`5:5: build.artifacts[0].kaniko: the kaniko builder (artifact "app"; with build.cluster an artifact that names no builder builds with kaniko, as in Skaffold) is not supported by skiff yet`,
		`12:13: build.artifacts[3].kaniko: the kaniko builder (artifact "chosen") is not supported by skiff yet`,
		`16:14: build.cluster: in-cluster builds is not supported by skiff yet`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
