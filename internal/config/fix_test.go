package config

import (
	"strings"
	"testing"
)

// Fix keeps the top-level keys that start with "." (anchor holders, which
// Skaffold ignores) where they were, so the aliases of the rewritten file
// still have their anchors, and the result loads.
func TestFixKeepsAnchorHolders(t *testing.T) {
	t.Parallel()
	const in = `apiVersion: skaffold/v4beta14
kind: Config
.docker: &docker
  dockerfile: Dockerfile.shared
build:
  artifacts:
  - image: one
    docker: *docker
`
	res, err := Fix("skaffold.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.YAML)
	if !strings.Contains(out, ".docker: &docker") || strings.Index(out, "&docker") > strings.Index(out, "*docker") {
		t.Errorf("the anchor holder is lost or moved after its alias:\n%s", out)
	}
	if _, _, err := ParseDocuments("skaffold.yaml", res.YAML); err != nil {
		t.Errorf("the fixed file does not load: %v\n%s", err, out)
	}
}
