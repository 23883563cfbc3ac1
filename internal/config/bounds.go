package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/fsutil"
)

// Limits bound what a config's YAML files may expand to once parsed, counting
// every use of an alias (*name) as a full copy of what it names: skiff's
// own walks of the tree (flattening Helm values, upgrading, checking,
// patching) follow aliases, so without a bound a 1 KB file of nested
// aliases expands to gigabytes.
type Limits struct {
	// Nodes is the most YAML nodes (scalars, lists, mappings) the files
	// may expand to. skiff diagnose keeps about 2 KB per node at its peak
	// (the YAML encoder holds every event of a document).
	Nodes int64
	// ScalarBytes is the most scalar text the files may expand to.
	ScalarBytes int64
	// MappingEntries is the most keys one mapping may have: the YAML
	// decoder checks keys for duplicates pairwise, so its time grows with
	// the square of a mapping's size.
	MappingEntries int
}

// ConfigLimits are the bounds of a project's config files. Real Skaffold
// configs are a few KB: a few thousand nodes, mappings of tens of keys.
var ConfigLimits = Limits{Nodes: 40_000, ScalarBytes: 4 * MaxConfigSize, MappingEntries: 1000}

// LimitError is a YAML tree that expands past a Limits bound.
type LimitError struct {
	// Line and Column locate the node at which the bound was passed.
	Line, Column int
	// Msg says which bound and what to do.
	Msg string
}

func (e *LimitError) Error() string { return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Msg) }

// Budget counts the expansion of YAML trees against Limits; one Budget is
// shared by the files of one project.
type Budget struct {
	lim   Limits
	nodes int64
	bytes int64
	// memo is the expanded cost of each anchored node already counted,
	// so that counting an alias costs one lookup, not a walk.
	memo map[*yaml.Node]cost
}

type cost struct{ nodes, bytes int64 }

// NewBudget starts counting against lim.
func NewBudget(lim Limits) *Budget {
	return &Budget{lim: lim, memo: map[*yaml.Node]cost{}}
}

// Add counts the tree at n, aliases expanded, and returns a *LimitError
// at the node where the file passes a bound. It never expands anything:
// its own time and memory grow with the tree as written.
func (b *Budget) Add(n *yaml.Node) error {
	_, err := b.add(n)
	return err
}

func (b *Budget) add(n *yaml.Node) (cost, error) {
	if n == nil {
		return cost{}, nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if c, ok := b.memo[n.Alias]; ok {
			return c, b.charge(n, c)
		}
		// The anchor comes before its aliases, so the walk has counted
		// and remembered it; walking it again (counting it twice) is a
		// safe fallback should a tree ever differ.
		return b.add(n.Alias)
	}
	if n.Kind == yaml.MappingNode && len(n.Content)/2 > b.lim.MappingEntries {
		return cost{}, b.fail(n, fmt.Sprintf("this mapping has %d keys, more than the %d skiff accepts in one mapping", len(n.Content)/2, b.lim.MappingEntries),
			"split it, or move bulk data into a file the config names (a Helm values file, a manifest)")
	}
	c := cost{nodes: 1, bytes: int64(len(n.Value))}
	if err := b.charge(n, c); err != nil {
		return cost{}, err
	}
	for _, ch := range n.Content {
		cc, err := b.add(ch)
		if err != nil {
			return cost{}, err
		}
		c.nodes += cc.nodes
		c.bytes += cc.bytes
	}
	if n.Anchor != "" {
		b.memo[n] = c
	}
	return c, nil
}

// charge adds c to the running totals and fails at n past a bound. The
// totals cannot overflow: they stop growing at the first bound passed.
func (b *Budget) charge(n *yaml.Node, c cost) error {
	b.nodes += c.nodes
	b.bytes += c.bytes
	const what = "write the repeated parts out, or use fewer aliases (*name) of large anchors"
	switch {
	case b.nodes > b.lim.Nodes:
		return b.fail(n, fmt.Sprintf("the config expands to more than %d YAML values by here (its files together, each alias (*name) counted as a full copy of its anchor)", b.lim.Nodes), what)
	case b.bytes > b.lim.ScalarBytes:
		return b.fail(n, fmt.Sprintf("the config's text expands to more than %s by here (its files together, each alias (*name) counted as a full copy of its anchor)", fsutil.Size(b.lim.ScalarBytes)), what)
	}
	return nil
}

func (b *Budget) fail(n *yaml.Node, msg, todo string) error {
	return &LimitError{Line: n.Line, Column: n.Column, Msg: msg + "; skiff stops to bound its memory: " + todo}
}
