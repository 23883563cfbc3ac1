// Package upgrade moves one skaffold.yaml config document from any
// supported older apiVersion to the newest one, Latest, as Skaffold's own
// upgrade chain does, but on the YAML node tree: moved fields keep their
// original line and column, and comments survive.
package upgrade

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Latest is the newest apiVersion; every document is upgraded to it.
const Latest = "skaffold/v4beta14"

// chain is the upgrade from each supported apiVersion to the next, oldest
// first. A step with no convert only changes the apiVersion: its version
// added fields but moved or removed none.
var chain = []step{
	{from: "skaffold/v1alpha1", step: v1alpha1},
	{from: "skaffold/v1alpha2", step: v1alpha2},
	{from: "skaffold/v1alpha3", step: v1alpha3},
	{from: "skaffold/v1alpha4"},
	{from: "skaffold/v1alpha5", step: v1alpha5},
	{from: "skaffold/v1beta1"},
	{from: "skaffold/v1beta2"},
	{from: "skaffold/v1beta3"},
	{from: "skaffold/v1beta4"}, // test became a list (same YAML)
	{from: "skaffold/v1beta5"},
	{from: "skaffold/v1beta6", step: v1beta6},
	{from: "skaffold/v1beta7"},
	{from: "skaffold/v1beta8", step: v1beta8},
	{from: "skaffold/v1beta9", step: v1beta9},
	{from: "skaffold/v1beta10"},
	{from: "skaffold/v1beta11"},
	{from: "skaffold/v1beta12"},
	{from: "skaffold/v1beta13", step: v1beta13},
	{from: "skaffold/v1beta14"},
	{from: "skaffold/v1beta15"},
	{from: "skaffold/v1beta16"},
	{from: "skaffold/v1beta17"},
	{from: "skaffold/v1"},
	{from: "skaffold/v2alpha1", step: v2alpha1},
	{from: "skaffold/v2alpha2", step: v2alpha2},
	{from: "skaffold/v2alpha3"},
	{from: "skaffold/v2alpha4"},
	{from: "skaffold/v2beta1"},
	{from: "skaffold/v2beta2"},
	{from: "skaffold/v2beta3", step: v2beta3},
	{from: "skaffold/v2beta4", step: v2beta4},
	{from: "skaffold/v2beta5"},
	{from: "skaffold/v2beta6"}, // helm value maps may nest (FlatMap)
	{from: "skaffold/v2beta7"},
	{from: "skaffold/v2beta8", step: v2beta8},
	{from: "skaffold/v2beta9"},
	{from: "skaffold/v2beta10"}, // port-forward ports may be names (IntOrString)
	{from: "skaffold/v2beta11"},
	{from: "skaffold/v2beta12", step: v2beta12},
	{from: "skaffold/v2beta13"},
	{from: "skaffold/v2beta14"},
	{from: "skaffold/v2beta15"},
	{from: "skaffold/v2beta16", step: v2beta16},
	{from: "skaffold/v2beta17"},
	{from: "skaffold/v2beta18"},
	{from: "skaffold/v2beta19"},
	{from: "skaffold/v2beta20"},
	{from: "skaffold/v2beta21"},
	{from: "skaffold/v2beta22", step: v2beta22},
	{from: "skaffold/v2beta23"},
	{from: "skaffold/v2beta24"},
	{from: "skaffold/v2beta25"},
	{from: "skaffold/v2beta26"},
	{from: "skaffold/v2beta27", step: v2beta27},
	{from: "skaffold/v2beta28"},
	{from: "skaffold/v2beta29", step: v2beta29},
	{from: "skaffold/v3alpha1"},
	{from: "skaffold/v3", step: v3},
	{from: "skaffold/v4beta1"},
	{from: "skaffold/v4beta2"},
	{from: "skaffold/v4beta3", step: v4beta3},
	{from: "skaffold/v4beta4", step: v4beta4},
	{from: "skaffold/v4beta5"},
	{from: "skaffold/v4beta6"},
	{from: "skaffold/v4beta7", step: v4beta7},
	{from: "skaffold/v4beta8"},
	{from: "skaffold/v4beta9"},
	{from: "skaffold/v4beta10"},
	{from: "skaffold/v4beta11"},
	{from: "skaffold/v4beta12"},
	{from: "skaffold/v4beta13"},
}

// Versions lists every supported apiVersion, oldest first
// (skaffold/v1alpha1 ... skaffold/v4beta14).
var Versions = func() []string {
	vs := make([]string, 0, len(chain)+1)
	for _, s := range chain {
		vs = append(vs, s.from)
	}
	return append(vs, Latest)
}()

// Supported reports whether v is one of Versions.
func Supported(v string) bool {
	return slices.Contains(Versions, v)
}

// Error is a construct that cannot be upgraded, at its line and column in
// the config file. Path is the field path inside the document, e.g.
// deploy.kpt or profiles[1].deploy.helm.releases[0].
type Error struct {
	Line, Column int
	Path         string
	Msg          string
}

// Error formats the error as line:column: path: message.
func (e *Error) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Line > 0 {
		s = fmt.Sprintf("%d:%d: %s", e.Line, e.Column, s)
	}
	return s
}

// ToLatest rewrites doc, the mapping node of one config document, in place
// from its apiVersion to Latest and sets apiVersion to Latest. It returns a
// note ("line:column: what changed (version)") for each change that is not
// a pure version bump, for `skiff fix` to print (Warning tells the notes
// commands must always show), and an *Error for a
// construct that cannot be upgraded; on error doc is left unchanged.
func ToLatest(doc *yaml.Node) (notes []string, err error) {
	if doc == nil || doc.Kind != yaml.MappingNode {
		msg := "a config document must be a mapping with apiVersion and kind"
		if doc == nil {
			return nil, &Error{Msg: msg}
		}
		return nil, &Error{Line: doc.Line, Column: doc.Column, Msg: msg + ", got " + describe(doc)}
	}
	_, av, _ := lookup(doc, "apiVersion")
	if av == nil {
		return nil, &Error{Line: doc.Line, Column: doc.Column, Msg: "missing apiVersion; add apiVersion: " + Latest}
	}
	version, _ := scalar(av)
	start := slices.Index(Versions, version)
	if av.Kind != yaml.ScalarNode || start < 0 {
		msg := fmt.Sprintf("unsupported apiVersion %s: skiff reads %s through %s; write the config for one of those versions", shown(av), Versions[0], Latest)
		return nil, &Error{Line: av.Line, Column: av.Column, Path: "apiVersion", Msg: msg}
	}

	if version == Latest {
		return nil, nil
	}
	// Work on a copy, so that doc is untouched when a step fails. Aliases
	// and merge keys are expanded in the copy: a step must be able to change
	// one use of an anchor without changing the others.
	expanded := needsExpand(doc)
	var work *yaml.Node
	if expanded {
		if work, err = expand(doc); err != nil {
			return nil, err
		}
	} else {
		work = clone(doc, true)
	}
	u := &upgrader{doc: work}
	for _, s := range chain[start:] {
		u.to = next(s.from)
		if s.step == nil {
			continue
		}
		mark := len(u.notes)
		if err := s.step.run(u); err != nil {
			return nil, err
		}
		// A step's notes read in file order.
		slices.SortStableFunc(u.notes[mark:], func(a, b note) int {
			return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.column, b.column))
		})
	}
	if len(u.notes) > 0 || !expanded {
		tidy(work)
		doc.Content = work.Content
		if expanded {
			u.notes = append(u.notes, note{line: doc.Line, column: doc.Column,
				msg: "YAML anchors, aliases and merge keys (<<) were written out in full, as the upgrade changed fields inside them"})
		}
	}
	// Set the version on doc's own node, keeping its position and style.
	_, av, _ = lookup(doc, "apiVersion")
	av.Value, av.Tag = Latest, "!!str"
	for _, n := range u.notes {
		if n.line > 0 {
			notes = append(notes, fmt.Sprintf("%d:%d: %s", n.line, n.column, n.msg))
		} else {
			notes = append(notes, n.msg)
		}
	}
	return notes, nil
}

// shown quotes a scalar's text for a message, or describes another node.
func shown(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return describe(n)
}

// next returns the apiVersion that follows v.
func next(v string) string {
	i := slices.Index(Versions, v)
	if i < 0 || i+1 >= len(Versions) {
		return Latest
	}
	return Versions[i+1]
}

// upgrader carries one document through the chain.
type upgrader struct {
	doc    *yaml.Node
	to     string // the version the running step upgrades to
	prefix string // starts every note: a patch's label while its value converts
	notes  []note
}

// note is one change, at a position of the user's file.
type note struct {
	line, column int
	msg          string
}

// notef records a change at the position of node at.
func (u *upgrader) notef(at *yaml.Node, format string, args ...any) {
	n := note{msg: u.prefix + fmt.Sprintf(format, args...) + " (" + u.to + ")"}
	if at != nil {
		n.line, n.column = at.Line, at.Column
	}
	u.notes = append(u.notes, n)
}

// warningMark starts the text of a note that is a warning.
const warningMark = "warning: "

// warnf records a change that drops or alters what the user asked for
// (Skaffold drops it silently or warns): commands print it as a warning.
func (u *upgrader) warnf(at *yaml.Node, format string, args ...any) {
	u.notef(at, warningMark+format, args...)
}

// Warning reports whether a note of ToLatest (or one prefixed with its
// file) is a warning: the upgrade dropped or changed the meaning of
// something the config asked for. It returns the note without the word
// "warning", for a logger that marks warnings itself.
func Warning(note string) (string, bool) {
	if rest, ok := strings.CutPrefix(note, warningMark); ok {
		return rest, true
	}
	if i := strings.Index(note, ": "+warningMark); i >= 0 {
		return note[:i+2] + note[i+2+len(warningMark):], true
	}
	return note, false
}

// errorf returns an *Error located at node at.
func errorf(at *yaml.Node, path, format string, args ...any) error {
	e := &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	if at != nil {
		e.Line, e.Column = at.Line, at.Column
	}
	return e
}

// pipeline is one place a config holds pipeline sections (build, test,
// manifests, deploy, portForward, ...): the document itself, each of its
// profiles, or the value of a profile patch wrapped into a pipeline.
type pipeline struct {
	node *yaml.Node // a mapping
	path string     // prefix of field paths in notes: "" or "profiles[1]."
}

// field returns the value of key in mapping m when it is a mapping, nil
// when it is absent or null, and an error when it is something else.
func field(m *yaml.Node, key, path string) (*yaml.Node, error) {
	return want(m, key, path, yaml.MappingNode)
}

// list is field for a sequence.
func list(m *yaml.Node, key, path string) (*yaml.Node, error) {
	return want(m, key, path, yaml.SequenceNode)
}

func want(m *yaml.Node, key, path string, kind yaml.Kind) (*yaml.Node, error) {
	_, v, _ := lookup(m, key)
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != kind {
		return nil, wrongKind(v, path+key, kind)
	}
	return v, nil
}

func wrongKind(v *yaml.Node, path string, kind yaml.Kind) error {
	what := "a mapping"
	if kind == yaml.SequenceNode {
		what = "a sequence"
	}
	return errorf(v, path, "expected %s, got %s", what, describe(v))
}

// items returns the items of sequence s that are mappings, with their
// indexes; a null item is skipped, any other item is an error.
func items(s *yaml.Node, path string) ([]*yaml.Node, []int, error) {
	if s == nil {
		return nil, nil, nil
	}
	var out []*yaml.Node
	var idx []int
	for i, it := range s.Content {
		if isNull(it) {
			continue
		}
		if it.Kind != yaml.MappingNode {
			return nil, nil, wrongKind(it, index(path, i), yaml.MappingNode)
		}
		out = append(out, it)
		idx = append(idx, i)
	}
	return out, idx, nil
}

// pipelines returns the document and each of its profiles.
func (u *upgrader) pipelines() ([]pipeline, error) {
	ps := []pipeline{{node: u.doc}}
	profiles, err := list(u.doc, "profiles", "")
	if err != nil {
		return nil, err
	}
	its, idx, err := items(profiles, "profiles")
	if err != nil {
		return nil, err
	}
	for j, p := range its {
		ps = append(ps, pipeline{node: p, path: index("profiles", idx[j]) + "."})
	}
	return ps, nil
}

// artifacts returns the build artifacts of pipeline p with their field
// paths.
func artifacts(p pipeline) ([]*yaml.Node, []string, error) {
	build, err := field(p.node, "build", p.path)
	if err != nil {
		return nil, nil, err
	}
	arts, err := list(build, "artifacts", p.path+"build.")
	if err != nil {
		return nil, nil, err
	}
	its, idx, err := items(arts, p.path+"build.artifacts")
	if err != nil {
		return nil, nil, err
	}
	paths := make([]string, len(its))
	for j := range its {
		paths[j] = index(p.path+"build.artifacts", idx[j]) + "."
	}
	return its, paths, nil
}

// helmReleases returns the deploy.helm releases of pipeline p with their
// field paths.
func helmReleases(p pipeline) ([]*yaml.Node, []string, error) {
	deploy, err := field(p.node, "deploy", p.path)
	if err != nil {
		return nil, nil, err
	}
	helm, err := field(deploy, "helm", p.path+"deploy.")
	if err != nil {
		return nil, nil, err
	}
	rels, err := list(helm, "releases", p.path+"deploy.helm.")
	if err != nil {
		return nil, nil, err
	}
	its, idx, err := items(rels, p.path+"deploy.helm.releases")
	if err != nil {
		return nil, nil, err
	}
	paths := make([]string, len(its))
	for j := range its {
		paths[j] = index(p.path+"deploy.helm.releases", idx[j]) + "."
	}
	return its, paths, nil
}

// manifests returns the manifests section of pipeline p, creating it
// (before deploy) when p has none. at places a new section.
func manifests(p pipeline, at *yaml.Node) (*yaml.Node, error) {
	m, err := field(p.node, "manifests", p.path)
	if err != nil || m != nil {
		return m, err
	}
	remove(p.node, "manifests") // a null one
	m = newMapping(at)
	insert(p.node, str("manifests", at), m, after(pipelineOrder, "test")...)
	return m, nil
}
