package runner

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// TestInferParseExpandsImageBuildArgs checks that sync.infer reads the
// Dockerfile with the image variables in build-arg templates, as the
// source listing does: COPY script-{{.IMAGE_TAG}}.sh is script-latest.sh,
// not script-.sh.
func TestInferParseExpandsImageBuildArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	df := "FROM scratch\nARG SCRIPT\nARG CONF\nCOPY ${SCRIPT} /s.sh\nCOPY ${CONF} /c\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	script, conf := "script-{{.IMAGE_TAG}}.sh", "{{.IMAGE_REPO}}/{{.IMAGE_NAME}}.conf"
	a := &schema.Artifact{
		ImageName: "reg.example/app",
		Workspace: dir,
		ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{
			BuildArgs: map[string]*string{"SCRIPT": &script, "CONF": &conf},
		}},
	}
	parsed, err := parseDockerfile(a, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, c := range parsed.Target.Copies {
		sources = append(sources, c.Sources...)
	}
	for _, want := range []string{"script-latest.sh", "reg.example/app.conf"} {
		if !slices.Contains(sources, want) {
			t.Errorf("COPY sources %q lack %s", sources, want)
		}
	}
}
