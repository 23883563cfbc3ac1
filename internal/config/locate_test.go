package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsupportedAtTheProfile checks that a feature a profile brings is
// reported at the profile's line (its section, or the patch that set it),
// not at the base config's, and that the base config's own features stay
// at their lines. The path stays the effective config's, which commands
// match against the stages they run.
func TestUnsupportedAtTheProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
deploy:
  cloudrun: {}
profiles:
- name: gcb
  build:
    googleCloudBuild: {}
- name: jib
  patches:
  - op: add
    path: /build/artifacts/0/jib
    value: {}
- name: idle
  build:
    cluster: {}
`
	file := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(Options{File: file, Profiles: []string{"gcb,jib"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Unsupported(p.Configs[0], []string{"docker"}) {
		got = append(got, strings.TrimPrefix(e.Error(), file+":"))
	}
	want := []string{
		"15:11: build.artifacts[0].jib: the jib builder (artifact \"app\") is not supported by skiff yet",
		"11:23: build.googleCloudBuild: Google Cloud Build is not supported by skiff yet",
		"7:13: deploy.cloudrun: the Cloud Run deployer is not supported by skiff yet",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
