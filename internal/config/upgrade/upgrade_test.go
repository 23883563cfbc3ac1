package upgrade

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// parse reads one YAML document.
func parse(t testing.TB, data []byte) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		t.Fatalf("want one document, got kind %v", doc.Kind)
	}
	return &doc
}

// render writes a document as `skiff fix` does.
func render(t testing.TB, doc *yaml.Node) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return b.Bytes()
}

// golden compares got with the file, or rewrites it under -update. An
// empty got means the file must not exist.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && len(got) == 0 {
		return
	}
	if err != nil {
		t.Fatalf("%v (run go test ./internal/config/upgrade -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to rewrite, then review the diff)\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// TestGolden upgrades every testdata/<name>.yaml and compares the result
// with <name>.golden.yaml, the notes with <name>.notes.golden and an error
// with <name>.error.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inputs = slices.DeleteFunc(inputs, func(s string) bool { return strings.HasSuffix(s, ".golden.yaml") })
	if len(inputs) == 0 {
		t.Fatal("no test inputs")
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(in, ".yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			doc := parse(t, data)
			before := render(t, doc)
			notes, err := ToLatest(doc.Content[0])
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Errorf("error %v is not an *Error", err)
				}
				if after := render(t, doc); !bytes.Equal(before, after) {
					t.Errorf("a failed upgrade changed the document:\n%s", after)
				}
				golden(t, base+".error.golden", []byte(err.Error()+"\n"))
				golden(t, base+".golden.yaml", nil)
				golden(t, base+".notes.golden", nil)
				return
			}
			golden(t, base+".error.golden", nil)
			out := render(t, doc)
			golden(t, base+".golden.yaml", out)
			var ns []byte
			if len(notes) > 0 {
				ns = []byte(strings.Join(notes, "\n") + "\n")
			}
			golden(t, base+".notes.golden", ns)

			// The output is a Latest document that upgrades to itself.
			again := parse(t, out)
			if _, v, _ := lookup(again.Content[0], "apiVersion"); v == nil || v.Value != Latest {
				t.Errorf("apiVersion of the output is not %s", Latest)
			}
			notes, err = ToLatest(again.Content[0])
			if err != nil || len(notes) > 0 {
				t.Errorf("upgrading the output again: notes %q, error %v", notes, err)
			}
			if got := render(t, again); !bytes.Equal(got, out) {
				t.Errorf("upgrading the output again changed it:\n%s", got)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	t.Parallel()
	if Versions[0] != "skaffold/v1alpha1" || Versions[len(Versions)-1] != Latest {
		t.Errorf("Versions run %s..%s", Versions[0], Versions[len(Versions)-1])
	}
	// v1alpha1..5, v1beta1..17, v1, v2alpha1..4, v2beta1..29, v3alpha1 and
	// v3, v4beta1..14: every schema Skaffold has had.
	want := 5 + 17 + 1 + 4 + 29 + 2 + 14
	if len(Versions) != want {
		t.Errorf("%d versions, want %d", len(Versions), want)
	}
	for _, v := range []string{"skaffold/v1alpha1", "skaffold/v1", "skaffold/v2alpha4", "skaffold/v2beta7", "skaffold/v2beta8", "skaffold/v2beta9", "skaffold/v2beta10", "skaffold/v2beta11", "skaffold/v2beta12", "skaffold/v2beta29", "skaffold/v3alpha1", "skaffold/v3", "skaffold/v4beta1", Latest} {
		if !Supported(v) {
			t.Errorf("Supported(%q) = false", v)
		}
	}
	for _, v := range []string{"", "skaffold/v1alpha6", "skaffold/v1beta18", "skaffold/v2", "skaffold/v2beta30", "skaffold/v3beta1", "skaffold/v4beta15", "v4beta14"} {
		if Supported(v) {
			t.Errorf("Supported(%q) = true", v)
		}
	}
}

// TestEveryVersion upgrades a small config from every supported version:
// one that the version's schema and the newest spell alike (a kubectl
// deployer before skaffold/v1alpha4; an artifact from v1alpha4, which
// named it image; port forwarding from skaffold/v1beta12, which added it).
func TestEveryVersion(t *testing.T) {
	t.Parallel()
	since := func(v, first string) bool { return slices.Index(Versions, v) >= slices.Index(Versions, first) }
	for _, v := range Versions {
		t.Run(strings.TrimPrefix(v, "skaffold/"), func(t *testing.T) {
			t.Parallel()
			src := "apiVersion: " + v + " # the version\nkind: Config\n"
			if since(v, "skaffold/v1alpha4") {
				src += "build:\n  artifacts:\n  - image: app\n    docker: {dockerfile: Dockerfile}\n"
			}
			if since(v, "skaffold/v1beta12") {
				src += "portForward:\n- resourceType: service\n  resourceName: app\n  port: 8080\n"
			}
			if !since(v, "skaffold/v1alpha4") {
				src += "deploy:\n  kubectl: {}\n"
			}
			doc := parse(t, []byte(src))
			notes, err := ToLatest(doc.Content[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(notes) > 0 {
				t.Errorf("notes for a config that only needs a version bump: %q", notes)
			}
			want := string(render(t, parse(t, []byte(strings.Replace(src, v, Latest, 1)))))
			if got := string(render(t, doc)); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestPositions checks that moved nodes keep the line and column they had
// in the user's file.
func TestPositions(t *testing.T) {
	t.Parallel()
	src := `apiVersion: skaffold/v2beta29
kind: Config
deploy:
  kubectl:
    manifests:
    - k8s/app.yaml
    remoteManifests:
    - ns:deployment/app
  kustomize:
    paths: [overlays/dev]
  helm:
    releases:
    - name: app
      chartPath: chart
      artifactOverrides:
        image: gcr.io/app
`
	doc := parse(t, []byte(src))
	if _, err := ToLatest(doc.Content[0]); err != nil {
		t.Fatal(err)
	}
	at := func(path ...string) *yaml.Node {
		n := doc.Content[0]
		for _, p := range path {
			if n.Kind == yaml.SequenceNode {
				n = n.Content[0]
				continue
			}
			_, v, _ := lookup(n, p)
			if v == nil {
				t.Fatalf("no %v in\n%s", path, render(t, doc))
			}
			n = v
		}
		return n
	}
	for _, c := range []struct {
		path         []string
		line, column int
	}{
		{[]string{"manifests", "rawYaml", "0"}, 6, 7},
		{[]string{"manifests", "remoteManifests", "0", "manifest"}, 8, 7},
		{[]string{"manifests", "kustomize", "paths", "0"}, 10, 13},
		{[]string{"manifests", "helm", "releases", "0", "chartPath"}, 14, 18},
		{[]string{"deploy", "helm", "releases", "0", "chartPath"}, 14, 18},
		{[]string{"manifests", "helm", "releases", "0", "setValueTemplates", "image"}, 16, 16},
	} {
		n := at(c.path...)
		if n.Line != c.line || n.Column != c.column {
			t.Errorf("%v at %d:%d, want %d:%d", c.path, n.Line, n.Column, c.line, c.column)
		}
	}
}

func TestNotADocument(t *testing.T) {
	t.Parallel()
	for _, n := range []*yaml.Node{
		nil,
		{Kind: yaml.ScalarNode, Value: "x", Line: 1, Column: 1},
		{Kind: yaml.SequenceNode},
		{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "kind"}, {Kind: yaml.ScalarNode, Value: "Config"}}},
		{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "apiVersion"}, {Kind: yaml.MappingNode}}},
		{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "apiVersion"}}}, // odd content
	} {
		if _, err := ToLatest(n); err == nil {
			t.Errorf("ToLatest(%v) succeeded", n)
		}
	}
}

func TestPointer(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "/a", "/a/b~1c/~0d", "/build/artifacts/0", "/"} {
		p, ok := parsePointer(s)
		if !ok {
			t.Fatalf("parsePointer(%q) failed", s)
		}
		if got := p.String(); got != s {
			t.Errorf("parsePointer(%q).String() = %q", s, got)
		}
	}
	if _, ok := parsePointer("build/artifacts"); ok {
		t.Error("a pointer without a leading / parsed")
	}
	if p, _ := parsePointer("/a/b~1c"); p[1] != "b/c" {
		t.Errorf("~1 not unescaped: %q", p)
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	if got := sanitize("gcr.io/my-project/app:v1"); got != "gcr_io_my_project_app_v1" {
		t.Errorf("sanitize = %q", got)
	}
	if got := sanitize("a_b@c"); got != "a_b@c" {
		t.Errorf("sanitize changed other characters: %q", got)
	}
}

// TestWarning checks that a note about something the upgrade dropped is a
// warning, and one about a field it moved is not.
func TestWarning(t *testing.T) {
	t.Parallel()
	src := "apiVersion: skaffold/v1alpha1\nkind: Config\ndeploy:\n  name: app\n  kubectl:\n    manifests:\n    - paths: [k8s.yaml]\n      parameters: {IMAGE: app}\n"
	doc := parse(t, []byte(src))
	notes, err := ToLatest(doc.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	for _, n := range notes {
		msg, warn := Warning(n)
		if inFile, warnInFile := Warning("skaffold.yaml: " + n); warnInFile != warn || inFile != "skaffold.yaml: "+msg {
			t.Errorf("Warning of the note with its file: %q, %v; want %q, %v", inFile, warnInFile, "skaffold.yaml: "+msg, warn)
		}
		if warn {
			warnings = append(warnings, msg)
		}
	}
	want := []string{
		"4:3: deploy.name removed: skaffold/v1alpha2 has no deployment name (skaffold/v1alpha2)",
		"8:7: deploy.kubectl.manifests[0].parameters ignored: skaffold/v1alpha2 applies manifests as they are; check them before deploying (skaffold/v1alpha2)",
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q (all notes %q)", warnings, want, notes)
	}
	if len(notes) <= len(warnings) {
		t.Errorf("no plain notes among %q", notes)
	}
}
