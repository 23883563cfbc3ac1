package render

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []string // Ref@Source of each manifest
	}{
		{
			name: "documents, comments and empty documents",
			data: "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n",
			want: []string{"configmap/a@m.yaml:3", "deployment.apps/b@m.yaml:11"},
		},
		{
			name: "List items are objects of their own",
			data: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n- apiVersion: v1\n  kind: ConfigMapList\n  items:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n",
			want: []string{"service/s@m.yaml:4", "configmap/c@m.yaml:10"},
		},
		{
			name: "JSON",
			data: `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}`,
			want: []string{"secret/s@m.yaml:1"},
		},
		{
			name: "a kind ending in List without items is an object",
			data: "apiVersion: example.com/v1\nkind: AllowList\nmetadata:\n  name: x\n",
			want: []string{"allowlist.example.com/x@m.yaml:1"},
		},
		{
			name: "empty",
			data: "\n# nothing\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms, err := Parse("m.yaml", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Ref()+"@"+m.Source.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Parse = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseTypes(t *testing.T) {
	t.Parallel()
	// Values mean what they mean to kubectl: integers are int64 (unstructured
	// objects need that), octal and YAML 1.1 literals as in sigs.k8s.io/yaml,
	// quoted strings stay strings.
	ms, err := Parse("m.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nspec:\n  replicas: 3\n  mode: 0644\n  quoted: \"0644\"\n  ratio: 0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	spec := ms[0].Object.Object["spec"].(map[string]any)
	for k, want := range map[string]any{"replicas": int64(3), "mode": int64(420), "quoted": "0644", "ratio": 0.5} {
		if spec[k] != want {
			t.Errorf("spec.%s = %#v, want %#v", k, spec[k], want)
		}
	}
	// DeepCopy panics on values that are not JSON types.
	_ = ms[0].Object.DeepCopy()
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		{"syntax", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n", "m.yaml:4: invalid YAML: did not find expected ',' or ']'"},
		{"syntax in a later document", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: : x\n", "m.yaml:5: invalid YAML: "},
		{"not a mapping", "- a\n- b\n", "m.yaml:1: a manifest must be a mapping with apiVersion, kind and metadata, got a list"},
		{"no apiVersion", "kind: Pod\nmetadata:\n  name: a\n", "m.yaml:1: the object has no apiVersion;"},
		{"no kind", "---\napiVersion: v1\nmetadata:\n  name: a\n", "m.yaml:2: the object has no kind;"},
		{"no metadata", "apiVersion: v1\nkind: Pod\n", "m.yaml:1: the object has no metadata;"},
		{"no name", "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\n", "m.yaml:3: the object has no metadata.name;"},
		{"generateName", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: run-\n", "m.yaml:3: metadata.generateName is not supported"},
		{"List item without kind", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  metadata: {name: b}\n", "m.yaml:7: the object has no kind;"},
		{"List items not a list", "apiVersion: v1\nkind: List\nitems: {a: b}\n", "m.yaml:3: the items of a List must be a list, got a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("m.yaml", []byte(tc.data))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want one starting with %q", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}
