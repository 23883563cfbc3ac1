package build

import (
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// TestKeyBuildArgsExpandImageVars checks that the cache key sees build
// args with the image variables, as the source listing does, so that two
// images built from one Dockerfile with {{.IMAGE_NAME}} in an arg do not
// share a key, and a {{.IMAGE_TAG}} arg reads latest, not "".
func TestKeyBuildArgsExpandImageVars(t *testing.T) {
	t.Parallel()
	tmpl, script := "{{.IMAGE_REPO}}/{{.IMAGE_NAME}}", "script-{{.IMAGE_TAG}}.sh"
	artifactFor := func(image string) *schema.Artifact {
		return &schema.Artifact{ImageName: image, ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{
			BuildArgs: map[string]*string{"WHO": &tmpl, "SCRIPT": &script, "BARE": nil},
		}}}
	}
	args, err := keyBuildArgs(artifactFor("reg.example/web"), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *args["WHO"]; got != "reg.example/web" {
		t.Errorf("WHO = %q, want reg.example/web", got)
	}
	if got := *args["SCRIPT"]; got != "script-latest.sh" {
		t.Errorf("SCRIPT = %q, want script-latest.sh", got)
	}
	if args["BARE"] != nil {
		t.Errorf("an arg without a value got %q; it stays unset (Docker takes it from the environment)", *args["BARE"])
	}
	other, err := keyBuildArgs(artifactFor("reg.example/api"), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if *other["WHO"] == *args["WHO"] {
		t.Errorf("two images expand {{.IMAGE_NAME}} alike: %q", *other["WHO"])
	}
	if none, err := keyBuildArgs(&schema.Artifact{ImageName: "x"}, config.Env{}); err != nil || none != nil {
		t.Errorf("an artifact without docker: args %v, error %v; want none", none, err)
	}
}
