package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/config/schema"
)

// JSONSchema returns the JSON schema (draft-07) of the skaffold.yaml
// documents skiff reads in the newest apiVersion (schema.Version), made
// from the Go types that decode them: every key skiff knows, with its type;
// unknown keys are errors, as when loading, but for the top-level keys that
// start with "." (anchor holders). Editors and linters validate
// skaffold.yaml with it (skiff schema get).
func JSONSchema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.of(reflect.TypeFor[schema.SkaffoldConfig]())
	// Top-level keys starting with "." hold YAML anchors for the rest of
	// the file to alias; they are ignored when loading, as in Skaffold.
	rootName := strings.TrimPrefix(root["$ref"].(string), "#/definitions/")
	g.defs[rootName].(map[string]any)["patternProperties"] = map[string]any{`^\.`: map[string]any{}}
	doc := map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"$id":         "skiff.dev/schemas/" + strings.TrimPrefix(schema.Version, "skaffold/") + ".json",
		"title":       "skaffold.yaml " + schema.Version + " as skiff reads it",
		"$ref":        root["$ref"],
		"definitions": g.defs,
	}
	return json.MarshalIndent(doc, "", "  ")
}

// schemaGen collects the definitions of the struct types met.
type schemaGen struct {
	defs map[string]any
}

var (
	intOrString = reflect.TypeFor[schema.IntOrString]()
	flatMap     = reflect.TypeFor[schema.FlatMap]()
)

// of returns the schema of values of type t.
func (g *schemaGen) of(t reflect.Type) map[string]any {
	if t == intOrString {
		return map[string]any{"anyOf": []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}}
	}
	if t == flatMap {
		// Nested YAML, flattened when read.
		return map[string]any{"type": "object"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // placeholder: a type may refer to itself
			props := map[string]any{}
			g.fields(t, props)
			keys := make([]string, 0, len(props))
			for k := range props {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			g.defs[name] = map[string]any{
				"type":                 "object",
				"properties":           props,
				"additionalProperties": false,
				"preferredOrder":       keys,
			}
		}
		return map[string]any{"$ref": "#/definitions/" + name}
	}
	// Interfaces (any): whatever YAML holds.
	return map[string]any{}
}

// fields adds the YAML keys of struct t to props, inline structs
// flattened.
func (g *schemaGen) fields(t reflect.Type, props map[string]any) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			g.fields(f.Type, props)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		props[name] = g.of(f.Type)
	}
}
