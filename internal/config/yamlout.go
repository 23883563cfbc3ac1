package config

import (
	"io"

	"go.yaml.in/yaml/v3"
)

// WriteYAML writes each value as one YAML document, in the layout
// skaffold.yaml files use: two-space indent, lists not indented under
// their key.
func WriteYAML(w io.Writer, values ...any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return enc.Close()
}
