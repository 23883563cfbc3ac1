package dockerbuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	skbuild "skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// Build args templated with IMAGE_TAG, IMAGE_REPO and IMAGE_NAME get
// values when the sources are listed (before any tag is known), so a
// Dockerfile that copies a file named after them lists that file instead
// of failing on "script-.sh" (Skaffold's docker-run-with-build-args).
func TestSourcesExpandImageBuildArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":         "FROM scratch\nARG IMAGE_TAG\nARG IMAGE_NAME\nARG IMAGE_REPO\nCOPY script-${IMAGE_TAG}.sh /s.sh\nCOPY ${IMAGE_NAME}.conf /c\nCOPY ${IMAGE_REPO}/x /x\n",
		"script-latest.sh":   "echo hi\n",
		"app.conf":           "c\n",
		"reg.example/team/x": "x\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tag, name, repo := "{{.IMAGE_TAG}}", "{{.IMAGE_NAME}}", "{{.IMAGE_REPO}}"
	a := &schema.Artifact{
		ImageName: "reg.example/team/app",
		ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{
			BuildArgs: map[string]*string{"IMAGE_TAG": &tag, "IMAGE_NAME": &name, "IMAGE_REPO": &repo},
		}},
	}
	s, err := Kind.Sources(a, dir, skbuild.Env{Vars: config.Env{}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("listing sources: %v", err)
	}
	for _, want := range []string{"script-latest.sh", "app.conf", filepath.Join("reg.example", "team", "x")} {
		if !slices.ContainsFunc(got, func(p string) bool { return p == want || p == filepath.Join(dir, want) }) {
			t.Errorf("sources %q lack %s", got, want)
		}
	}
}
