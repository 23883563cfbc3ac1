package buildpacks

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// The platform's files, as the Platform API specifies them: order.toml is
// written for the lifecycle; group.toml (the detector's choice) and
// report.toml (what the exporter wrote) are read back.

// Order is a detection order: the groups the detector tries, in turn.
type Order []Group

// Group is one group of buildpacks detection tries together.
type Group struct {
	Buildpacks []GroupEntry
}

// GroupEntry is a buildpack in a group.
type GroupEntry struct {
	ID       string `toml:"id"`
	Version  string `toml:"version,omitempty"`
	Optional bool   `toml:"optional,omitempty"`
}

func (e GroupEntry) String() string {
	if e.Version == "" {
		return e.ID
	}
	return e.ID + "@" + e.Version
}

func (g Group) String() string {
	s := make([]string, len(g.Buildpacks))
	for i, e := range g.Buildpacks {
		s[i] = e.String()
		if e.Optional {
			s[i] += " (optional)"
		}
	}
	return strings.Join(s, ", ")
}

// orderFile is order.toml.
type orderFile struct {
	Order []struct {
		Group []GroupEntry `toml:"group"`
	} `toml:"order"`
}

// EncodeOrder writes order.toml.
func EncodeOrder(o Order) ([]byte, error) {
	var f orderFile
	for _, g := range o {
		f.Order = append(f.Order, struct {
			Group []GroupEntry `toml:"group"`
		}{Group: g.Buildpacks})
	}
	return encodeTOML(f)
}

// DecodeGroup reads group.toml, the group that passed detection.
func DecodeGroup(data []byte) (Group, error) {
	var f struct {
		Group []GroupEntry `toml:"group"`
	}
	if err := decodeTOML(data, &f, "group.toml"); err != nil {
		return Group{}, err
	}
	return Group{Buildpacks: f.Group}, nil
}

// Report is what report.toml says about the exported image.
type Report struct {
	Tags []string `toml:"tags"`
	// Digest is the manifest digest, when exported to a registry.
	Digest string `toml:"digest"`
	// ImageID is the image ID, when exported to the Docker daemon.
	ImageID string `toml:"image-id"`
}

// DecodeReport reads report.toml.
func DecodeReport(data []byte) (Report, error) {
	var f struct {
		Image Report `toml:"image"`
	}
	if err := decodeTOML(data, &f, "report.toml"); err != nil {
		return Report{}, err
	}
	if f.Image.Digest == "" && f.Image.ImageID == "" {
		return Report{}, fmt.Errorf("report.toml names no image digest or ID")
	}
	return f.Image, nil
}

func encodeTOML(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decodeTOML(data []byte, v any, file string) error {
	if _, err := toml.Decode(string(data), v); err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	return nil
}
