package schema

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// isOpaque reports whether t decodes itself, so its fields are not YAML keys.
func isOpaque(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

// structTypes returns every struct type reachable from SkaffoldConfig
// whose fields are YAML keys.
func structTypes() []reflect.Type {
	var out []reflect.Type
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || isOpaque(t) {
			return
		}
		seen[t] = true
		out = append(out, t)
		for i := range t.NumField() {
			visit(t.Field(i).Type)
		}
	}
	visit(reflect.TypeFor[SkaffoldConfig]())
	return out
}

// yamlFields lists the YAML keys of t with inline structs flattened.
func yamlFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			out = append(out, yamlFields(f.Type)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

func TestStructTags(t *testing.T) {
	t.Parallel()
	stringy := func(ft reflect.Type) bool {
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String:
			return true
		case reflect.Slice, reflect.Map:
			e := ft.Elem()
			if e.Kind() == reflect.Pointer {
				e = e.Elem()
			}
			return e.Kind() == reflect.String && (ft.Kind() == reflect.Slice || ft.Key().Kind() == reflect.String)
		}
		return false
	}
	for _, st := range structTypes() {
		keys := map[string]bool{}
		groups := map[string]int{}
		for i := range st.NumField() {
			f := st.Field(i)
			where := st.Name() + "." + f.Name
			if !f.IsExported() {
				t.Errorf("%s: unexported field", where)
				continue
			}
			tag, ok := f.Tag.Lookup("yaml")
			if !ok {
				t.Errorf("%s: no yaml tag", where)
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			optList := strings.Split(opts, ",")
			switch {
			case slices.Contains(optList, "inline"):
				if name != "" || f.Type.Kind() != reflect.Struct {
					t.Errorf("%s: inline field must be an unnamed struct: %q", where, tag)
				}
			case name == "" || name == "-":
				t.Errorf("%s: yaml tag %q names no key", where, tag)
			case !slices.Contains(optList, "omitempty") && !(st == reflect.TypeFor[SkaffoldConfig]() && (name == "apiVersion" || name == "kind")):
				t.Errorf("%s: yaml tag %q lacks omitempty", where, tag)
			}
			if f.Tag.Get("oneof") != "" && !slices.Contains(optList, "inline") {
				switch f.Type.Kind() {
				case reflect.Pointer, reflect.Slice, reflect.Map, reflect.String:
				default:
					t.Errorf("%s: oneof member of kind %s cannot be told unset", where, f.Type.Kind())
				}
			}
			for _, o := range strings.Split(f.Tag.Get("skiff"), ",") {
				switch o {
				case "":
				case "template", "path":
					if !stringy(f.Type) {
						t.Errorf("%s: skiff:%q on a %s, want string, list or map of strings", where, o, f.Type)
					}
				default:
					t.Errorf("%s: unknown skiff tag option %q", where, o)
				}
			}
		}
		for _, f := range yamlFields(st) {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if keys[name] {
				t.Errorf("%s: yaml key %q declared twice", st.Name(), name)
			}
			keys[name] = true
			if g := f.Tag.Get("oneof"); g != "" {
				groups[g]++
			}
		}
		for g, n := range groups {
			if n < 2 {
				t.Errorf("%s: oneof group %q has %d member, want at least 2", st.Name(), g, n)
			}
		}
	}
}

func decodeStrict(t *testing.T, data []byte) SkaffoldConfig {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c SkaffoldConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return c
}

func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/full-v4beta14.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeStrict(t, data)
	if c.APIVersion != Version {
		t.Errorf("apiVersion = %q, want %q", c.APIVersion, Version)
	}
	out, err := yaml.Marshal(&c)
	if err != nil {
		t.Fatalf("marshalling: %v", err)
	}
	if want, got := decodeAny(t, data), decodeAny(t, out); !reflect.DeepEqual(want, got) {
		t.Errorf("marshalled config differs from the input:\n%s", out)
	}
	if again := decodeStrict(t, out); !reflect.DeepEqual(c, again) {
		t.Errorf("decoding the marshalled config gives a different value")
	}
}

// TestFixtureCoversSchema checks that the round-trip fixture sets every
// field of every type at least once, so that a field with a wrong key or
// a lossy type cannot go unnoticed.
func TestFixtureCoversSchema(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/full-v4beta14.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeStrict(t, data)
	set := map[reflect.Type]map[int]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		case reflect.Struct:
			if isOpaque(v.Type()) {
				return
			}
			if set[v.Type()] == nil {
				set[v.Type()] = map[int]bool{}
			}
			for i := range v.NumField() {
				if !v.Field(i).IsZero() {
					set[v.Type()][i] = true
				}
				walk(v.Field(i))
			}
		}
	}
	walk(reflect.ValueOf(c))
	for _, st := range structTypes() {
		if set[st] == nil {
			if st.NumField() > 0 {
				t.Errorf("%s: never used by the fixture", st.Name())
			}
			continue
		}
		for i := range st.NumField() {
			if !set[st][i] {
				t.Errorf("%s.%s: never set by the fixture", st.Name(), st.Field(i).Name)
			}
		}
	}
}

func TestUnknownFieldRejected(t *testing.T) {
	t.Parallel()
	dec := yaml.NewDecoder(strings.NewReader("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    dockerfile: Dockerfile\n"))
	dec.KnownFields(true)
	var c SkaffoldConfig
	if err := dec.Decode(&c); err == nil {
		t.Fatal("a misplaced key decoded without error")
	}
}

func TestBuilderType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		yaml string
		want string
	}{
		{"image: a", ""},
		{"{image: a, docker: {}}", "docker"},
		{"{image: a, bazel: {target: //:a.tar}}", "bazel"},
		{"{image: a, ko: {}}", "ko"},
		{"{image: a, jib: {}}", "jib"},
		{"{image: a, kaniko: {}}", "kaniko"},
		{"{image: a, buildpacks: {builder: b}}", "buildpacks"},
		{"{image: a, custom: {buildCommand: make}}", "custom"},
	}
	for _, tt := range tests {
		var a Artifact
		if err := yaml.Unmarshal([]byte(tt.yaml), &a); err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		if got := a.BuilderType(); got != tt.want {
			t.Errorf("%s: BuilderType() = %q, want %q", tt.yaml, got, tt.want)
		}
	}
}

func TestIntOrString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    IntOrString
		out     string
		wantErr bool
	}{
		{in: "8080", want: FromInt(8080), out: "8080\n"},
		{in: `"8080"`, want: FromInt(8080), out: "8080\n"},
		{in: "http", want: FromString("http"), out: "http\n"},
		{in: "[1]", wantErr: true},
	}
	for _, tt := range tests {
		var v IntOrString
		err := yaml.Unmarshal([]byte(tt.in), &v)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: err = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
		if tt.wantErr {
			continue
		}
		if v != tt.want {
			t.Errorf("%s: decoded %+v, want %+v", tt.in, v, tt.want)
		}
		out, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.out {
			t.Errorf("%s: marshalled %q, want %q", tt.in, out, tt.out)
		}
	}
	if s := FromInt(80).String(); s != "80" {
		t.Errorf("String() = %q", s)
	}
}

func TestFlatMap(t *testing.T) {
	t.Parallel()
	in := `
image:
  repository: app
  tag: "1.0"
hosts: [a, {name: b}]
ratio: 1.50
plain.key: x
gone: null
`
	var m FlatMap
	if err := yaml.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	want := FlatMap{
		"image.repository": "app",
		"image.tag":        "1.0",
		"hosts[0]":         "a",
		"hosts[1].name":    "b",
		"ratio":            "1.50",
		"plain.key":        "x",
		"gone":             "null",
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
	if err := yaml.Unmarshal([]byte("[a]"), &m); err == nil {
		t.Error("a list decoded as a FlatMap")
	}
}

// TestFlatMapBoundsKeys checks that flattening a deep mapping with many
// leaves stops at the bound on its keys' total length, instead of making
// a thousand times the YAML.
func TestFlatMapBoundsKeys(t *testing.T) {
	t.Parallel()
	leaves := make([]string, 900)
	for i := range leaves {
		leaves[i] = fmt.Sprintf("k%d: v", i)
	}
	text := strings.Repeat("{a: ", 2000) + "{" + strings.Join(leaves, ", ") + "}" + strings.Repeat("}", 2000)
	var m FlatMap
	err := yaml.Unmarshal([]byte(text), &m)
	if err == nil || !strings.Contains(err.Error(), "flattened keys") {
		t.Fatalf("got %v (%d keys); want the bound on flattened keys", err, len(m))
	}
}
