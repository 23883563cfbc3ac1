package yamlnode

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	skaffold := Words{Sequence: "a sequence", Scalar: "the scalar ", Null: "null"}
	for _, tc := range []struct {
		name, yaml string
		words      Words
		want       string
	}{
		{"mapping", "a: b", Words{}, "a mapping"},
		{"list", "[a]", Words{}, "a list"},
		{"scalar", "two", Words{}, `"two"`},
		{"scalar first line", "|\n  one\n  two\n", Words{}, `"one..."`},
		{"null in skiff's words", "null", Words{}, `"null"`},
		{"value", "x", Words{Scalar: "the value "}, `the value "x"`},
		{"sequence", "[a]", skaffold, "a sequence"},
		{"named scalar", "app", skaffold, `the scalar "app"`},
		{"null", "~", skaffold, "null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			if got := tc.words.Describe(doc.Content[0]); got != tc.want {
				t.Errorf("Describe(%q) = %s, want %s", tc.yaml, got, tc.want)
			}
		})
	}
	if got := Describe(&yaml.Node{Kind: yaml.DocumentNode}); got != "a document" {
		t.Errorf("Describe(document) = %s, want a document", got)
	}
}
