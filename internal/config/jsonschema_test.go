package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The JSON schema accepts every key of the valid test configs and of the
// examples, and rejects a key skiff does not know.
func TestJSONSchemaCoversTheConfigs(t *testing.T) {
	t.Parallel()
	data, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	if doc["$schema"] != "http://json-schema.org/draft-07/schema#" {
		t.Errorf("$schema = %v", doc["$schema"])
	}
	files, _ := filepath.Glob("testdata/valid-*.yaml")
	examples, _ := filepath.Glob("../../examples/*/skaffold.yaml")
	files = append(files, examples...)
	if len(examples) == 0 || len(files) < 3 {
		t.Fatalf("found only %v to check", files)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		for i := 0; ; i++ {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
			// Older apiVersions have other keys; skiff upgrades them.
			if m, ok := v.(map[string]any); ok && m["apiVersion"] != "skaffold/v4beta14" {
				continue
			}
			for _, e := range checkKeys(doc, doc, v, "") {
				t.Errorf("%s document %d: %s", f, i, e)
			}
		}
	}
	bad := map[string]any{"apiVersion": "skaffold/v4beta14", "kind": "Config", "build": map[string]any{"artifactz": []any{}}}
	if errs := checkKeys(doc, doc, bad, ""); len(errs) != 1 || !strings.Contains(errs[0], "build.artifactz") {
		t.Errorf("an unknown key: %v, want one error about build.artifactz", errs)
	}
}

// checkKeys checks the keys and types of v against schema s (the parts
// the generator makes: $ref, properties, additionalProperties, items,
// type) and returns what does not fit.
func checkKeys(root, s map[string]any, v any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		return checkKeys(root, root["definitions"].(map[string]any)[name].(map[string]any), v, path)
	}
	var errs []string
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a mapping, got %T", path, v)}
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range m {
			p := strings.TrimPrefix(path+"."+k, ".")
			if sub, ok := props[k].(map[string]any); ok {
				errs = append(errs, checkKeys(root, sub, val, p)...)
				continue
			}
			if matchesPattern(s, k) {
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: unknown key", p))
				}
			case map[string]any:
				errs = append(errs, checkKeys(root, ap, val, p)...)
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a list, got %T", path, v)}
		}
		for i, item := range l {
			errs = append(errs, checkKeys(root, s["items"].(map[string]any), item, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

// matchesPattern reports whether key k matches one of the
// patternProperties of schema s (whose values accept anything).
func matchesPattern(s map[string]any, k string) bool {
	pats, _ := s["patternProperties"].(map[string]any)
	for pat := range pats {
		if regexp.MustCompile(pat).MatchString(k) {
			return true
		}
	}
	return false
}
