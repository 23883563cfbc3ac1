package buildpacks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The labels of a builder image this package reads.
const (
	labelBuilderMetadata = "io.buildpacks.builder.metadata"
	labelOrder           = "io.buildpacks.buildpack.order"
	labelLayers          = "io.buildpacks.buildpack.layers"
	// labelPackageMetadata names the top buildpack of a buildpackage
	// image.
	labelPackageMetadata = "io.buildpacks.buildpackage.metadata"
)

// BuilderMetadata is what a builder image says about itself in its labels.
type BuilderMetadata struct {
	// Description is the builder's description, for messages.
	Description string
	// LifecycleVersion is the version of the lifecycle in /cnb/lifecycle.
	LifecycleVersion string
	// PlatformAPIs are the Platform API versions the lifecycle supports,
	// deprecated ones included.
	PlatformAPIs []APIVersion
	// RunImages are the run images the builder names, preferred first.
	RunImages []string
	// Order is the builder's default detection order.
	Order Order
	// Buildpacks are the versions of each buildpack the builder holds, by
	// ID.
	Buildpacks map[string][]string
	// UID and GID are the build user (CNB_USER_ID, CNB_GROUP_ID of the
	// build image).
	UID, GID int
	// OS and Arch are the builder image's platform.
	OS, Arch string
}

// builderLabelMetadata is the JSON of the io.buildpacks.builder.metadata
// label, as pack and kpack write it.
type builderLabelMetadata struct {
	Description string `json:"description"`
	Stack       struct {
		RunImage runImageMetadata `json:"runImage"`
	} `json:"stack"`
	Images    []runImageMetadata `json:"images"`
	Lifecycle struct {
		Version string `json:"version"`
		// API is the single version of lifecycles before 0.10.
		API struct {
			Platform string `json:"platform"`
		} `json:"api"`
		APIs struct {
			Platform struct {
				Deprecated []string `json:"deprecated"`
				Supported  []string `json:"supported"`
			} `json:"platform"`
		} `json:"apis"`
	} `json:"lifecycle"`
}

type runImageMetadata struct {
	Image   string   `json:"image"`
	Mirrors []string `json:"mirrors"`
}

// orderLabel is the JSON of io.buildpacks.buildpack.order.
type orderLabel []struct {
	Group []struct {
		ID       string `json:"id"`
		Version  string `json:"version"`
		Optional bool   `json:"optional"`
	} `json:"group"`
}

// ParseBuilderMetadata reads a builder image's metadata from its labels
// and environment (KEY=value entries of its config), the image being ref
// (for errors) with platform os/arch.
func ParseBuilderMetadata(ref string, labels map[string]string, env []string, os, arch string) (*BuilderMetadata, error) {
	raw, ok := labels[labelBuilderMetadata]
	if !ok {
		return nil, fmt.Errorf("%s is not a buildpacks builder: it has no %s label; use a builder image (pack builder create, or make builder for skiff's offline one)", ref, labelBuilderMetadata)
	}
	var lm builderLabelMetadata
	if err := json.Unmarshal([]byte(raw), &lm); err != nil {
		return nil, fmt.Errorf("reading the %s label of builder %s: %w", labelBuilderMetadata, ref, err)
	}
	md := &BuilderMetadata{
		Description:      lm.Description,
		LifecycleVersion: lm.Lifecycle.Version,
		Buildpacks:       map[string][]string{},
		OS:               os,
		Arch:             arch,
	}

	apis := append(append([]string(nil), lm.Lifecycle.APIs.Platform.Supported...), lm.Lifecycle.APIs.Platform.Deprecated...)
	if len(apis) == 0 && lm.Lifecycle.API.Platform != "" {
		apis = []string{lm.Lifecycle.API.Platform}
	}
	for _, s := range apis {
		v, err := ParseAPIVersion(s)
		if err != nil {
			return nil, fmt.Errorf("builder %s: its lifecycle's Platform API list: %w", ref, err)
		}
		md.PlatformAPIs = append(md.PlatformAPIs, v)
	}
	sortAPIs(md.PlatformAPIs)
	if len(md.PlatformAPIs) == 0 {
		return nil, fmt.Errorf("builder %s names no Platform API its lifecycle supports (label %s, lifecycle.apis.platform); rebuild it with a current lifecycle", ref, labelBuilderMetadata)
	}

	for _, ri := range lm.Images {
		if ri.Image != "" {
			md.RunImages = append(md.RunImages, ri.Image)
		}
	}
	if len(md.RunImages) == 0 && lm.Stack.RunImage.Image != "" {
		md.RunImages = []string{lm.Stack.RunImage.Image}
	}

	if raw, ok := labels[labelOrder]; ok && raw != "" {
		var ol orderLabel
		if err := json.Unmarshal([]byte(raw), &ol); err != nil {
			return nil, fmt.Errorf("reading the %s label of builder %s: %w", labelOrder, ref, err)
		}
		for _, g := range ol {
			var grp Group
			for _, bp := range g.Group {
				grp.Buildpacks = append(grp.Buildpacks, GroupEntry{ID: bp.ID, Version: bp.Version, Optional: bp.Optional})
			}
			md.Order = append(md.Order, grp)
		}
	}

	if raw, ok := labels[labelLayers]; ok && raw != "" {
		var layers map[string]map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &layers); err != nil {
			return nil, fmt.Errorf("reading the %s label of builder %s: %w", labelLayers, ref, err)
		}
		for id, versions := range layers {
			for v := range versions {
				md.Buildpacks[id] = append(md.Buildpacks[id], v)
			}
			sort.Strings(md.Buildpacks[id])
		}
	}

	var err error
	if md.UID, err = envInt(env, "CNB_USER_ID"); err != nil {
		return nil, fmt.Errorf("builder %s: %w; the build image must set CNB_USER_ID and CNB_GROUP_ID", ref, err)
	}
	if md.GID, err = envInt(env, "CNB_GROUP_ID"); err != nil {
		return nil, fmt.Errorf("builder %s: %w; the build image must set CNB_USER_ID and CNB_GROUP_ID", ref, err)
	}
	return md, nil
}

// envInt reads a numeric variable from KEY=value entries.
func envInt(env []string, key string) (int, error) {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%s=%q is not a user or group ID", key, v)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s is not set", key)
}

// BuildpackIDs lists the builder's buildpacks as id@version, sorted, for
// messages.
func (m *BuilderMetadata) BuildpackIDs() []string {
	var out []string
	for id, vs := range m.Buildpacks {
		for _, v := range vs {
			out = append(out, id+"@"+v)
		}
	}
	sort.Strings(out)
	return out
}

// RunImage is the run image the builder prefers, or "" when it names
// none.
func (m *BuilderMetadata) RunImage() string {
	if len(m.RunImages) == 0 {
		return ""
	}
	return m.RunImages[0]
}
