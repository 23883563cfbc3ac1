package upgrade

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// roundTrip writes doc and parses the result, turning a panic of the YAML
// library into an error.
func roundTrip(doc *yaml.Node) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml panicked: %v", r)
		}
	}()
	if out, err = yaml.Marshal(doc); err != nil {
		return nil, err
	}
	var again yaml.Node
	return out, yaml.Unmarshal(out, &again)
}

// FuzzToLatest feeds arbitrary YAML, with its apiVersion set to one of
// Versions, and checks that ToLatest never panics, fails only with an
// *Error, and leaves a document that writes back as YAML with apiVersion
// Latest.
func FuzzToLatest(f *testing.F) {
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(255)) // keep the file's own apiVersion
	}
	at := func(v string) uint8 { return uint8(slices.Index(Versions, v)) }
	f.Add([]byte("deploy: {helm: {releases: [{artifactOverrides: {a: b}}]}}"), at("skaffold/v2beta25"))
	f.Add([]byte("profiles: [{patches: [{path: /deploy/helm/releases/0/artifactOverrides/x, value: y}]}]"), at("skaffold/v2beta8"))
	f.Add([]byte("build: {artifacts: [{image: a, sync: {'*.js': /app, 'a/***/b': x}}]}"), at("skaffold/v1beta9"))
	f.Add([]byte("build: {tagPolicy: sha256, artifacts: [{imageName: a, dockerfilePath: D}]}\ndeploy: {kubectl: {manifests: [{paths: [a]}]}}"), at("skaffold/v1alpha1"))

	f.Fuzz(func(t *testing.T, data []byte, version uint8) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			return
		}
		root := doc.Content[0]
		if int(version) < len(Versions) && root.Kind == yaml.MappingNode {
			setText(root, "apiVersion", Versions[version])
		}
		if _, err := roundTrip(&doc); err != nil {
			return // the YAML library cannot write this input back: not ours to test
		}
		_, err := ToLatest(root)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		out, err := roundTrip(&doc)
		if err != nil {
			t.Fatalf("the upgraded document does not write back: %v\n%s", err, out)
		}
		if _, v, _ := lookup(root, "apiVersion"); v == nil || v.Value != Latest {
			t.Fatalf("apiVersion is not %s after the upgrade", Latest)
		}
	})
}
