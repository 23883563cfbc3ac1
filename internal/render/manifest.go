// Package render turns a project's manifest sources (raw YAML, kustomize,
// Helm charts) into the Kubernetes objects to apply, with the built images
// substituted, skiff's labels added and namespaces set.
package render

import (
	"bytes"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Manifest is one rendered object and where it came from.
type Manifest struct {
	Object *unstructured.Unstructured
	Source Source
}

// Source locates a manifest for error messages: the file and the 1-based
// line its YAML document starts on. For kustomize and Helm output, File is
// the kustomization directory or the chart template and Line may be 0.
type Source struct {
	File string
	Line int
}

// String formats s as file:line, or file alone when the line is unknown.
func (s Source) String() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return s.File
}

// Ref names m's object the way kubectl prints it: kind.group/name, lower
// case, as in "deployment.apps/web" or "service/web".
func (m Manifest) Ref() string {
	gvk := m.Object.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + m.Object.GetName()
}

// YAML writes the manifests as one multi-document YAML stream, in order.
func YAML(ms []Manifest) ([]byte, error) {
	var buf bytes.Buffer
	for i, m := range ms {
		b, err := yaml.Marshal(m.Object.Object)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", m.Ref(), m.Source, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
