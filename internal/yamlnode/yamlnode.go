// Package yamlnode names YAML nodes for error messages, one way for the
// config loader, its schema types, the config upgrader and the manifest
// renderer, each in the words its readers know.
package yamlnode

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/fsutil"
)

// Describe names n in skiff's words: "a mapping", "a list", "an alias",
// "a document", or a scalar's first line, quoted.
func Describe(n *yaml.Node) string { return Words{}.Describe(n) }

// Words change what Describe calls a sequence and a scalar, for messages
// about files in another schema's words (Skaffold's speaks of sequences
// and scalars). The zero value is skiff's words.
type Words struct {
	// Sequence names a sequence; "" is "a list".
	Sequence string
	// Scalar goes before a scalar's quoted first line, e.g. "the value ".
	Scalar string
	// Null, when set, names a null scalar instead of its quoted text.
	Null string
}

// Describe names n in w's words; see the package-level Describe.
func (w Words) Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		if w.Sequence != "" {
			return w.Sequence
		}
		return "a list"
	case yaml.ScalarNode:
		if w.Null != "" && n.ShortTag() == "!!null" {
			return w.Null
		}
		// The file may be no YAML at all (/etc/passwd): quote only the
		// first line.
		return fmt.Sprintf("%s%q", w.Scalar, fsutil.Excerpt(n.Value))
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unexpected node"
}
