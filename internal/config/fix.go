package config

import (
	"bytes"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/config/upgrade"
)

// FixResult is a config file upgraded to the newest apiVersion.
type FixResult struct {
	// YAML is the upgraded file, comments kept.
	YAML []byte
	// From lists the apiVersion of each document before the upgrade.
	From []string
	// Notes say what moved, document by document.
	Notes []string
}

// Changed reports whether any document was not at the newest apiVersion.
func (r *FixResult) Changed() bool {
	for _, v := range r.From {
		if v != upgrade.Latest {
			return true
		}
	}
	return false
}

// Fix upgrades every document of a config file to the newest apiVersion
// and checks the result against the schema, so that a file it returns is
// one skiff reads.
func Fix(file string, data []byte) (*FixResult, error) {
	nodes, err := SplitDocuments(file, data)
	if err != nil {
		return nil, err
	}
	res := &FixResult{}
	var errs Errors
	for _, n := range nodes {
		from, _ := mappingValue(n, "apiVersion")
		held := dropAnchorHolders(n)
		notes, err := UpgradeDocument(file, n)
		if err != nil {
			return nil, err
		}
		res.From = append(res.From, from)
		res.Notes = append(res.Notes, notes...)
		ck := &checker{file: file}
		ck.check(n, reflect.TypeFor[schema.SkaffoldConfig](), "")
		errs = append(errs, ck.errs...)
		restoreAnchorHolders(n, held)
	}
	if err := errs.err(); err != nil {
		return nil, fmt.Errorf("the upgraded config is not valid; fix these first:\n%w", err)
	}
	var buf bytes.Buffer
	docs := make([]any, len(nodes))
	for i, n := range nodes {
		docs[i] = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}
	}
	if err := WriteYAML(&buf, docs...); err != nil {
		return nil, fmt.Errorf("writing upgraded config: %w", err)
	}
	res.YAML = buf.Bytes()
	return res, nil
}
