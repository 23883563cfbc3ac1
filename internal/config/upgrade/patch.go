package upgrade

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// step is a version transition that changes more than the apiVersion.
type step struct {
	from string
	step *conversion // nil: only the apiVersion changes
}

// conversion is what one step does to a document: it converts every
// pipeline (the document and each profile) and rewrites the JSON patches
// of profiles whose paths point at fields the step moved.
type conversion struct {
	// convert rewrites one pipeline in place, noting each change.
	convert func(u *upgrader, p pipeline) error
	// retarget maps a patch path to the paths it becomes (nil: unchanged),
	// or says why a path into a removed field cannot be rewritten.
	retarget func(p pointer) (targets []pointer, why string)
	// special rewrites a patch that retarget cannot express; it reports
	// whether it handled the patch.
	special func(pc *patchCtx) (bool, error)
	// prepare copies into a patch value wrapped as a pipeline what its
	// conversion needs from the config it will patch; it returns the nodes
	// it added.
	prepare func(pc *patchCtx, root *yaml.Node) []*yaml.Node
}

// run applies c to the document. Patches go first: they are read against
// the pipelines as they were before this step. Every step looks at them,
// as a patch value converts like the section it sets.
func (c *conversion) run(u *upgrader) error {
	ps, err := u.pipelines()
	if err != nil {
		return err
	}
	for _, p := range ps[1:] {
		if err := u.patches(c, ps[0], p); err != nil {
			return err
		}
	}
	for _, p := range ps {
		if err := c.convert(u, p); err != nil {
			return err
		}
	}
	return nil
}

// pointer is a JSON pointer (RFC 6901) split into unescaped segments, as
// used by the path and from of a profile patch.
type pointer []string

// parsePointer splits s; ok is false when s is not a JSON pointer.
func parsePointer(s string) (p pointer, ok bool) {
	if s == "" {
		return pointer{}, true
	}
	if !strings.HasPrefix(s, "/") {
		return nil, false
	}
	for _, seg := range strings.Split(s[1:], "/") {
		p = append(p, strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~"))
	}
	return p, true
}

func (p pointer) String() string {
	var b strings.Builder
	for _, seg := range p {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(seg, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// match reports whether p starts with pattern, where "*" matches any one
// segment.
func (p pointer) match(pattern ...string) bool {
	if len(p) < len(pattern) {
		return false
	}
	for i, s := range pattern {
		if s != "*" && p[i] != s {
			return false
		}
	}
	return true
}

// swap returns p with its first n segments replaced by head.
func (p pointer) swap(n int, head ...string) pointer {
	return append(slices.Clone(pointer(head)), p[n:]...)
}

// isIndex reports whether seg addresses a sequence item: a number, "-"
// (append), or a yaml-patch "key=value" selector.
func isIndex(seg string) bool {
	if seg == "-" || strings.Contains(seg, "=") {
		return true
	}
	if seg == "" {
		return false
	}
	for _, r := range seg {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// patchCtx is one profile patch being rewritten.
type patchCtx struct {
	u       *upgrader
	c       *conversion
	base    pipeline // the document
	profile pipeline // the profile holding the patch
	node    *yaml.Node
	label   string // e.g. profiles[0].patches[2]
	op      string
	pathN   *yaml.Node
	ptr     pointer
	fromN   *yaml.Node
	from    pointer
	valueN  *yaml.Node
	// out replaces the patch when set.
	out []*yaml.Node
}

// patches rewrites the patches of profile prof.
func (u *upgrader) patches(c *conversion, base, prof pipeline) error {
	ps, err := list(prof.node, "patches", prof.path)
	if err != nil || ps == nil {
		return err
	}
	orig := slices.Clone(ps.Content)
	var out []*yaml.Node
	for j, pn := range orig {
		label := index(prof.path+"patches", j)
		if isNull(pn) {
			out = append(out, pn)
			continue
		}
		if pn.Kind != yaml.MappingNode {
			return wrongKind(pn, label, yaml.MappingNode)
		}
		pc := &patchCtx{u: u, c: c, base: base, profile: prof, node: pn, label: label}
		if err := pc.rewrite(); err != nil {
			return err
		}
		if pc.out != nil {
			out = append(out, pc.out...)
		} else {
			out = append(out, pn)
		}
	}
	ps.Content = out
	return nil
}

// rewrite fills pc and rewrites its patch.
func (pc *patchCtx) rewrite() error {
	var err error
	pc.op = "replace" // Skaffold's default
	if _, opN, _ := lookup(pc.node, "op"); !isNull(opN) {
		if pc.op, err = text(opN, pc.label+".op"); err != nil {
			return err
		}
	}
	_, pc.pathN, _ = lookup(pc.node, "path")
	if isNull(pc.pathN) {
		return nil // the loader reports the missing path
	}
	path, err := text(pc.pathN, pc.label+".path")
	if err != nil {
		return err
	}
	var ok bool
	if pc.ptr, ok = parsePointer(path); !ok {
		return nil // not a JSON pointer: the patch fails when applied
	}
	if _, pc.fromN, _ = lookup(pc.node, "from"); !isNull(pc.fromN) {
		from, err := text(pc.fromN, pc.label+".from")
		if err != nil {
			return err
		}
		if pc.from, ok = parsePointer(from); !ok {
			pc.fromN = nil
		}
	} else {
		pc.fromN = nil
	}
	if pc.op == "add" || pc.op == "replace" || pc.op == "test" {
		_, pc.valueN, _ = lookup(pc.node, "value")
	}

	if pc.c.special != nil {
		if handled, err := pc.c.special(pc); handled || err != nil {
			return err
		}
	}
	targets, why := pc.retarget(pc.ptr)
	if why != "" {
		pc.notef("path %s %s; skiff left the patch as it is, rewrite it by hand", pc.ptr, why)
		return nil
	}
	var fromTargets []pointer
	if pc.fromN != nil {
		if fromTargets, why = pc.retarget(pc.from); why != "" {
			pc.notef("from %s %s; skiff left the patch as it is, rewrite it by hand", pc.from, why)
			return nil
		}
	}
	moved := targets != nil
	if !moved {
		targets = []pointer{pc.ptr}
	}
	values, targets := pc.convertValue(targets)
	if values == nil && !moved && fromTargets == nil {
		return nil
	}

	pc.out = make([]*yaml.Node, len(targets))
	var shown []string
	for i, t := range targets {
		n := pc.node
		if i > 0 {
			n = clone(pc.node, false)
		}
		setText(n, "path", t.String())
		shown = append(shown, t.String())
		if values != nil {
			setValue(n, values[i])
		}
		if fromTargets != nil {
			f := fromTargets[0]
			if len(fromTargets) == len(targets) {
				f = fromTargets[i]
			}
			setText(n, "from", f.String())
		}
		pc.out[i] = n
	}
	if moved {
		pc.notef("path %s rewritten to %s", pc.ptr, strings.Join(shown, " and "))
	}
	if fromTargets != nil {
		pc.notef("from %s rewritten to %s", pc.from, fromTargets[0])
	}
	return nil
}

// retarget applies the conversion's retarget, if any.
func (pc *patchCtx) retarget(p pointer) ([]pointer, string) {
	if pc.c.retarget == nil {
		return nil, ""
	}
	return pc.c.retarget(p)
}

// convertValue runs the conversion on the patch value: the value is
// wrapped into a pipeline at the patch path, converted, and taken back
// from each target path. It returns nil values when nothing changed, and
// the targets that still hold a value.
func (pc *patchCtx) convertValue(targets []pointer) ([]*yaml.Node, []pointer) {
	if pc.valueN == nil || len(pc.ptr) == 0 || !slices.Contains(pipelineOrder[:len(pipelineOrder)-1], pc.ptr[0]) {
		return nil, targets
	}
	root, ok := wrap(pc.ptr, clone(pc.valueN, true))
	if !ok {
		return nil, targets
	}
	var injected []*yaml.Node
	if pc.c.prepare != nil {
		injected = pc.c.prepare(pc, root)
	}
	u := pc.u
	before := len(u.notes)
	u.prefix = pc.label + " value: "
	err := pc.c.convert(u, pipeline{node: root})
	u.prefix = ""
	if err != nil {
		u.notes = u.notes[:before]
		pc.notef("the value cannot be upgraded (%v); skiff left it as it is, rewrite it by hand", err)
		return nil, targets
	}
	if len(u.notes) == before {
		return nil, targets
	}
	skip := map[*yaml.Node]bool{}
	for _, n := range injected {
		skip[n] = true
	}
	var values []*yaml.Node
	var kept []pointer
	changed := false
	for _, t := range targets {
		if v := unwrap(root, t); v != nil {
			values = append(values, v)
			kept = append(kept, t)
			skip[v] = true
			changed = changed || !equal(v, pc.valueN)
		}
	}
	if len(values) == 0 {
		u.notes = u.notes[:before]
		pc.notef("the value cannot be upgraded in place; skiff left it as it is, rewrite it by hand")
		return nil, targets
	}
	if !changed {
		// Only the wrapping around the value moved: the path rewrite
		// says it all.
		u.notes = u.notes[:before]
		return nil, targets
	}
	if where, ok := residue(root, skip, ""); ok {
		pc.notef("the value's %s moved outside the patched path %s; add a patch for it by hand", strings.TrimPrefix(where, "."), pc.ptr)
	}
	return values, kept
}

// equal reports whether two trees hold the same YAML, ignoring positions,
// styles and comments.
func equal(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !equal(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// notef notes a change to the patch, at its path.
func (pc *patchCtx) notef(format string, args ...any) {
	pc.u.notef(pc.pathN, "%s: %s", pc.label, fmt.Sprintf(format, args...))
}

// wrap builds a pipeline that holds val at p: a mapping per field
// segment, a one-item sequence per index segment.
func wrap(p pointer, val *yaml.Node) (*yaml.Node, bool) {
	if len(p) == 0 || isIndex(p[0]) {
		return nil, false
	}
	root := newMapping(val)
	cur := root
	for i, seg := range p {
		child := val
		if i < len(p)-1 {
			if isIndex(p[i+1]) {
				child = newSequence(val)
			} else {
				child = newMapping(val)
			}
		}
		if cur.Kind == yaml.MappingNode {
			if isIndex(seg) {
				return nil, false
			}
			insert(cur, str(seg, val), child)
		} else {
			if !isIndex(seg) {
				return nil, false
			}
			cur.Content = append(cur.Content, child)
		}
		cur = child
	}
	return root, true
}

// unwrap returns the node at p in a tree built by wrap, taking the only
// item of a sequence for an index segment; nil when there is none.
func unwrap(root *yaml.Node, p pointer) *yaml.Node {
	cur := root
	for _, seg := range p {
		switch cur.Kind {
		case yaml.MappingNode:
			_, v, _ := lookup(cur, seg)
			if v == nil {
				return nil
			}
			cur = v
		case yaml.SequenceNode:
			if !isIndex(seg) || len(cur.Content) != 1 {
				return nil
			}
			cur = cur.Content[0]
		default:
			return nil
		}
	}
	return cur
}

// residue finds a non-null scalar under n outside the skipped nodes and
// returns its field path.
func residue(n *yaml.Node, skip map[*yaml.Node]bool, path string) (string, bool) {
	if n == nil || skip[n] {
		return "", false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return path, !isNull(n)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if p, ok := residue(n.Content[i+1], skip, path+"."+n.Content[i].Value); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			if p, ok := residue(it, skip, path+"[]"); ok {
				return p, true
			}
		}
	}
	return "", false
}

// text returns the text of a scalar, or an error naming path.
func text(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errorf(n, path, "expected a string, got %s", describe(n))
	}
	return n.Value, nil
}

// setText sets the string value of key in mapping m, keeping the old
// value's position and style.
func setText(m *yaml.Node, key, value string) {
	if _, v, _ := lookup(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Content = yaml.ScalarNode, "!!str", value, nil
		return
	}
	insert(m, str(key, m), str(value, m))
}

// setValue replaces the value of a patch mapping.
func setValue(m *yaml.Node, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "value" {
			m.Content[i+1] = v
			return
		}
	}
	insert(m, str("value", v), v)
}
