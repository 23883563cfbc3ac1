package schema

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/yamlnode"
)

// IntOrStringType says which value an IntOrString holds.
type IntOrStringType int

// The values an IntOrString can hold.
const (
	// TypeInt means IntVal is set.
	TypeInt IntOrStringType = iota
	// TypeString means StrVal is set.
	TypeString
)

// IntOrString is a value written either as an integer or as a string, such
// as a port given by number (8080) or by name (http).
type IntOrString struct {
	// Type says which of IntVal and StrVal holds the value.
	Type IntOrStringType
	// IntVal is the value when Type is TypeInt.
	IntVal int
	// StrVal is the value when Type is TypeString.
	StrVal string
}

// FromInt returns an IntOrString holding i.
func FromInt(i int) IntOrString { return IntOrString{Type: TypeInt, IntVal: i} }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{Type: TypeString, StrVal: s} }

// String returns the value as text.
func (v IntOrString) String() string {
	if v.Type == TypeString {
		return v.StrVal
	}
	return strconv.Itoa(v.IntVal)
}

// UnmarshalYAML reads a scalar: one that parses as a decimal integer
// (quoted or not, as Skaffold does) is an int, anything else a string.
func (v *IntOrString) UnmarshalYAML(n *yaml.Node) error {
	n = resolveAlias(n)
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number or a name, got %s", n.Line, yamlnode.Describe(n))
	}
	if i, err := strconv.Atoi(n.Value); err == nil {
		*v = FromInt(i)
	} else {
		*v = FromString(n.Value)
	}
	return nil
}

// MarshalYAML writes the value as a YAML integer or string.
func (v IntOrString) MarshalYAML() (any, error) {
	if v.Type == TypeString {
		return v.StrVal, nil
	}
	return v.IntVal, nil
}

// FlatMap is a string map that may be written as nested YAML; nested
// mappings are flattened to dotted keys and lists to indexed keys
// ({image: {tag: x}, hosts: [a]} becomes {"image.tag": "x", "hosts[0]":
// "a"}), the form `helm --set` takes. Scalars keep the text they were
// written with; a null becomes "null".
type FlatMap map[string]string

// UnmarshalYAML reads a mapping and flattens it.
func (m *FlatMap) UnmarshalYAML(n *yaml.Node) error {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping, got %s", n.Line, yamlnode.Describe(n))
	}
	out := FlatMap{}
	size := 0
	if err := out.flatten(n, "", &size); err != nil {
		return err
	}
	*m = out
	return nil
}

// maxFlatKeys bounds the total length of a FlatMap's flattened keys: each
// repeats the keys of every level above it, so a deep mapping with many
// leaves makes keys far larger than the YAML (145 KB made 135 MB).
const maxFlatKeys = 1 << 20

// flatten adds n's values under key, counting the keys' bytes in size.
func (m FlatMap) flatten(n *yaml.Node, key string, size *int) error {
	n = resolveAlias(n)
	if *size += len(key); *size > maxFlatKeys {
		return fmt.Errorf("line %d: the flattened keys (such as %.60q...) add up to more than %d bytes; nest the values less deeply, or move them into a values file", n.Line, key, maxFlatKeys)
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: expected a scalar key, got %s", k.Line, yamlnode.Describe(k))
			}
			name := k.Value
			if key != "" {
				name = key + "." + name
			}
			if err := m.flatten(n.Content[i+1], name, size); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := m.flatten(item, fmt.Sprintf("%s[%d]", key, i), size); err != nil {
				return err
			}
		}
	default:
		if n.Tag == "!!null" {
			// Helm reads "null" as "delete this key".
			m[key] = "null"
			return nil
		}
		m[key] = n.Value
	}
	return nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
