package upgrade

import (
	"fmt"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/yamlnode"
)

// describe names a node for an error message, in the words of Skaffold's
// schema.
var describe = yamlnode.Words{Sequence: "a sequence", Scalar: "the scalar ", Null: "null"}.Describe

// isNull reports whether n is absent or a YAML null (~, null or nothing),
// which every step treats like a missing field, as Skaffold's decoder does.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// lookup finds key in mapping m and returns its key and value nodes and
// the key's index in m.Content, or nils and -1. It never looks through
// merge keys: the tree it works on has them inlined (see expand).
func lookup(m *yaml.Node, key string) (k, v *yaml.Node, i int) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil, -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k, m.Content[i+1], i
		}
	}
	return nil, nil, -1
}

// remove deletes key from mapping m and returns its key and value nodes.
func remove(m *yaml.Node, key string) (k, v *yaml.Node) {
	k, v, i := lookup(m, key)
	if i >= 0 {
		m.Content = slices.Delete(m.Content, i, i+2)
	}
	return k, v
}

// insert adds the pair k: v to mapping m before the first of the keys
// before that m has, or at the end.
func insert(m *yaml.Node, k, v *yaml.Node, before ...string) {
	at := len(m.Content)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if key := m.Content[i]; key.Kind == yaml.ScalarNode && slices.Contains(before, key.Value) {
			at = i
			break
		}
	}
	m.Content = slices.Insert(m.Content, at, k, v)
}

// pipelineOrder is the order Skaffold writes a pipeline's sections in; a
// section skiff creates goes before the first later one present.
var pipelineOrder = []string{"build", "test", "manifests", "deploy", "portForward", "resourceSelector", "verify", "customActions", "profiles"}

// after returns the keys that follow key in order.
func after(order []string, key string) []string {
	i := slices.Index(order, key)
	if i < 0 {
		return nil
	}
	return order[i+1:]
}

// str returns a new string scalar placed at the position of at.
func str(value string, at *yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	place(n, at)
	return n
}

// newMapping returns an empty block mapping placed at the position of at.
func newMapping(at *yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	place(n, at)
	return n
}

// newSequence returns a block sequence of items placed at the position of at.
func newSequence(at *yaml.Node, items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
	place(n, at)
	return n
}

// place gives n the line and column of at, so that a node skiff creates
// is reported where the field it came from was written.
func place(n, at *yaml.Node) {
	if at != nil {
		n.Line, n.Column = at.Line, at.Column
	}
}

// clone returns a deep copy of n that keeps every position. Comments are
// kept only when comments is true. n must hold no aliases.
func clone(n *yaml.Node, comments bool) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if !comments {
		c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = clone(child, comments)
	}
	return &c
}

// tidy moves the line comment of a key whose value is an empty mapping or
// sequence onto the value, where the YAML encoder can write it: a step
// that empties a section must not make the document unwritable.
func tidy(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.LineComment != "" && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0 {
				if v.LineComment != "" {
					v.LineComment = " " + v.LineComment
				}
				v.LineComment, k.LineComment = k.LineComment+v.LineComment, ""
			}
		}
	}
	for _, c := range n.Content {
		tidy(c)
	}
}

// needsExpand reports whether n holds an alias or a merge key.
func needsExpand(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode {
		return true
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isMergeKey(n.Content[i]) {
				return true
			}
		}
	}
	return slices.ContainsFunc(n.Content, needsExpand)
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// expandLimit bounds the nodes an expansion may create, so that a
// "billion laughs" document of nested aliases fails instead of eating
// the machine.
const expandLimit = 1 << 18

// expander copies a tree with every alias replaced by a copy of its
// anchor and every merge key (<<) replaced by the pairs it merges.
type expander struct {
	budget int
	active map[*yaml.Node]bool // anchors being expanded, to catch an alias inside its own anchor
	err    error
}

// expand returns an alias-free deep copy of n.
func expand(n *yaml.Node) (*yaml.Node, error) {
	// Measure first, in time linear in the document, so that a document
	// of nested aliases is refused before anything is copied.
	s := &sizer{memo: map[*yaml.Node]int{}}
	if s.size(n) > expandLimit {
		if a := s.cycle; a != nil {
			return nil, &Error{Line: a.Line, Column: a.Column, Msg: fmt.Sprintf("alias *%s is inside its own anchor, so it never ends; remove it", a.Value)}
		}
		return nil, &Error{Line: n.Line, Column: n.Column, Msg: "the document's aliases expand to too much YAML to upgrade; write the repeated parts out"}
	}
	e := &expander{budget: expandLimit, active: map[*yaml.Node]bool{}}
	c := e.copy(n, 0)
	if e.err != nil {
		return nil, e.err
	}
	return c, nil
}

// sizer counts the nodes of a tree with its aliases expanded.
type sizer struct {
	memo  map[*yaml.Node]int // -1 while a node is being counted
	cycle *yaml.Node         // an alias inside its own anchor
}

// size counts the nodes of n with aliases expanded, stopping past
// expandLimit. An alias inside its own anchor counts as too many.
func (z *sizer) size(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	if s, ok := z.memo[n]; ok {
		if s < 0 {
			return expandLimit + 1
		}
		return s
	}
	z.memo[n] = -1
	s := 1
	if n.Kind == yaml.AliasNode {
		if z.memo[n.Alias] < 0 && z.cycle == nil {
			z.cycle = n
		}
		s += z.size(n.Alias)
	}
	for _, c := range n.Content {
		if s += z.size(c); s > expandLimit {
			break
		}
	}
	s = min(s, expandLimit+1)
	z.memo[n] = s
	return s
}

func (e *expander) copy(n *yaml.Node, depth int) *yaml.Node {
	if e.err != nil || n == nil {
		return nil
	}
	e.budget--
	if e.budget < 0 || depth > 10000 {
		e.err = &Error{Line: n.Line, Column: n.Column, Msg: "the document's aliases expand to too much YAML to upgrade; write the repeated parts out"}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			e.err = &Error{Line: n.Line, Column: n.Column, Msg: "alias to an unknown anchor"}
			return nil
		}
		if e.active[n.Alias] {
			e.err = &Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf("alias *%s is inside its own anchor, so it never ends; remove it", n.Value)}
			return nil
		}
		e.active[n.Alias] = true
		c := e.copy(n.Alias, depth+1)
		delete(e.active, n.Alias)
		if c == nil {
			return nil
		}
		if n.LineComment != "" {
			c.LineComment = n.LineComment
		}
		return c
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	if n.Kind != yaml.MappingNode {
		for _, child := range n.Content {
			if c.Content = append(c.Content, e.copy(child, depth+1)); e.err != nil {
				return nil
			}
		}
		return &c
	}
	// A mapping: explicit keys win over merged ones, and an earlier merged
	// mapping wins over a later one (YAML merge key semantics).
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && !isMergeKey(k) {
			explicit[k.Value] = true
		}
	}
	merged := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMergeKey(k) {
			if c.Content = append(c.Content, e.copy(k, depth+1), e.copy(v, depth+1)); e.err != nil {
				return nil
			}
			continue
		}
		if v = e.copy(v, depth+1); e.err != nil {
			return nil
		}
		var sources []*yaml.Node
		switch v.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{v}
		case yaml.SequenceNode:
			sources = v.Content
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				e.err = &Error{Line: s.Line, Column: s.Column, Msg: fmt.Sprintf("a merge key (<<) needs a mapping or a list of mappings, got %s", describe(s))}
				return nil
			}
		}
		if len(sources) == 0 && !isNull(v) {
			e.err = &Error{Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("a merge key (<<) needs a mapping or a list of mappings, got %s", describe(v))}
			return nil
		}
		for _, s := range sources {
			for j := 0; j+1 < len(s.Content); j += 2 {
				sk := s.Content[j]
				if sk.Kind == yaml.ScalarNode && (explicit[sk.Value] || merged[sk.Value]) {
					continue
				}
				if sk.Kind == yaml.ScalarNode {
					merged[sk.Value] = true
				}
				c.Content = append(c.Content, sk, s.Content[j+1])
			}
		}
	}
	if e.err != nil {
		return nil
	}
	return &c
}

// boolValue decodes a YAML boolean the way Skaffold's decoder does (true,
// false and the YAML 1.1 yes/no/on/off); null is false.
func boolValue(n *yaml.Node) (bool, bool) {
	if isNull(n) {
		return false, true
	}
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

// scalar returns the text of a scalar node.
func scalar(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return "", false
	}
	return n.Value, true
}

// index formats a sequence index for a field path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
