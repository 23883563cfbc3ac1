package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/yamlnode"
)

// Error is a problem with one manifest, located at its source.
type Error struct {
	// Source is the file and line of the document at fault.
	Source Source
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats the problem as file:line: message.
func (e *Error) Error() string { return e.Source.String() + ": " + e.Msg }

// Parse reads already-rendered YAML, such as the output of skiff render:
// every document is one object, a List's items are objects of their own,
// and empty documents are skipped. Each manifest's Source is file and the
// line its document (or List item) starts on.
func Parse(file string, data []byte) ([]Manifest, error) {
	return parseDocs(data, func(line int) Source { return Source{File: file, Line: line} })
}

// parseDocs parses a YAML stream; at turns a line of data into the source
// reported for the document starting there.
func parseDocs(data []byte, at func(line int) Source) ([]Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Manifest
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, syntaxError(data, err, at)
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		out, err = appendObjects(out, doc.Content[0], at)
		if err != nil {
			return nil, err
		}
	}
}

// appendObjects checks one document (or List item) and appends the objects
// it holds: itself, or a List's items.
func appendObjects(out []Manifest, n *yaml.Node, at func(line int) Source) ([]Manifest, error) {
	fail := func(n *yaml.Node, format string, args ...any) error {
		return &Error{Source: at(n.Line), Msg: fmt.Sprintf(format, args...)}
	}
	if n.Kind != yaml.MappingNode {
		return nil, fail(n, "a manifest must be a mapping with apiVersion, kind and metadata, got %s", describe(n))
	}
	for _, key := range []string{"apiVersion", "kind"} {
		v := value(n, key)
		if v == nil || v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
			return nil, fail(n, "the object has no %s; every manifest needs apiVersion, kind and metadata.name", key)
		}
	}
	if kind := value(n, "kind").Value; strings.HasSuffix(kind, "List") {
		if items := value(n, "items"); items != nil {
			if items.Kind != yaml.SequenceNode {
				return nil, fail(items, "the items of a %s must be a list, got %s", kind, describe(items))
			}
			for _, item := range items.Content {
				var err error
				if out, err = appendObjects(out, item, at); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	}
	metaKey, meta := entry(n, "metadata")
	if meta == nil || meta.Kind != yaml.MappingNode {
		return nil, fail(n, "the object has no metadata; every manifest needs apiVersion, kind and metadata.name")
	}
	if name := value(meta, "name"); name == nil || name.Kind != yaml.ScalarNode || isNull(name) || name.Value == "" {
		if value(meta, "generateName") != nil {
			return nil, fail(metaKey, "metadata.generateName is not supported: skiff applies objects by name, so give this object a metadata.name")
		}
		return nil, fail(metaKey, "the object has no metadata.name; every manifest needs apiVersion, kind and metadata.name")
	}
	obj, err := toObject(n)
	if err != nil {
		return nil, fail(n, "%v", err)
	}
	return append(out, Manifest{Object: obj, Source: at(n.Line)}), nil
}

// toObject converts a mapping node to an object the way kubectl reads
// YAML (sigs.k8s.io/yaml, then JSON), so that integers are int64 and
// values mean what they mean to kubectl.
func toObject(n *yaml.Node) (*unstructured.Unstructured, error) {
	text, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("re-encoding the document: %w", err)
	}
	return decodeObject(text)
}

// decodeObject reads one object from YAML (or JSON) text.
func decodeObject(text []byte) (*unstructured.Unstructured, error) {
	js, err := sigsyaml.YAMLToJSON(text)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return nil, fmt.Errorf("invalid object: %w", err)
	}
	return obj, nil
}

// syntaxError turns a YAML parser error into an Error at its line. The
// YAML v3 parser reports some errors a line early, so the document that
// fails is parsed again with sigs.k8s.io/yaml (kubectl's parser), whose
// line is taken when it finds the error too.
func syntaxError(data []byte, err error, at func(line int) Source) error {
	line, msg := splitLine(err.Error())
	offset := 0
	for _, doc := range docSeparatorLine.Split(string(data), -1) {
		if _, err := sigsyaml.YAMLToJSON([]byte(doc)); err != nil {
			if l, m := splitLine(err.Error()); l > 0 {
				line, msg = offset+l, m
			}
			break
		}
		offset += strings.Count(doc, "\n") + 1
	}
	return &Error{Source: at(line), Msg: "invalid YAML: " + msg + "; fix the YAML syntax there"}
}

// docSeparatorLine matches the lines that separate YAML documents.
var docSeparatorLine = regexp.MustCompile(`(?m)^---[ \t]*(?:#.*)?\n`)

// splitLine takes a YAML error message apart into its line (0 when it
// names none) and the rest.
func splitLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
		_, msg, _ = strings.Cut(msg, ": ")
	}
	return line, msg
}

// value returns the value node of key in mapping n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	_, v := entry(n, key)
	return v
}

// entry returns the key and value nodes of key in mapping n, or nils.
func entry(n *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// describe names a node for error messages.
var describe = yamlnode.Words{Scalar: "the value "}.Describe

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
