package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// Labels and paths of a builder image (the CNB platform and distribution
// specifications, and what pack writes).
const (
	builderMetadataLabel = "io.buildpacks.builder.metadata"
	buildpackOrderLabel  = "io.buildpacks.buildpack.order"
	buildpackLayersLabel = "io.buildpacks.buildpack.layers"
	stackIDLabel         = "io.buildpacks.stack.id"
)

// buildpack is what the builder needs to know of one buildpack: its
// buildpack.toml and where its files are.
type buildpack struct {
	Dir        string
	API        string `toml:"api"`
	Descriptor struct {
		ID          string `toml:"id"`
		Version     string `toml:"version"`
		Name        string `toml:"name"`
		Homepage    string `toml:"homepage"`
		Description string `toml:"description"`
	} `toml:"buildpack"`
	Targets []target `toml:"targets"`
}

// target is an os/arch a buildpack or image supports.
type target struct {
	OS   string `toml:"os" json:"os"`
	Arch string `toml:"arch" json:"arch"`
}

// readBuildpack reads dir/buildpack.toml and checks the fields the builder
// relies on.
func readBuildpack(dir string) (buildpack, error) {
	bp := buildpack{Dir: dir}
	file := filepath.Join(dir, "buildpack.toml")
	b, err := os.ReadFile(file)
	if err != nil {
		return bp, err
	}
	if err := toml.Unmarshal(b, &bp); err != nil {
		return bp, fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case bp.API == "":
		return bp, fmt.Errorf("%s: api is missing: say which Buildpack API it speaks (e.g. api = \"0.12\")", file)
	case bp.Descriptor.ID == "" || bp.Descriptor.Version == "":
		return bp, fmt.Errorf("%s: [buildpack] needs an id and a version", file)
	}
	for _, exe := range []string{"bin/detect", "bin/build"} {
		info, err := os.Stat(filepath.Join(dir, exe))
		if err != nil {
			return bp, fmt.Errorf("buildpack %s: %w", bp.Descriptor.ID, err)
		}
		if info.Mode().Perm()&0o111 == 0 {
			return bp, fmt.Errorf("buildpack %s: %s is not executable: chmod +x it", bp.Descriptor.ID, filepath.Join(dir, exe))
		}
	}
	return bp, nil
}

// ref names a buildpack in an order.
func (bp buildpack) ref() moduleRef {
	return moduleRef{ID: bp.Descriptor.ID, Version: bp.Descriptor.Version}
}

// installDir is where the buildpack lives in the builder: /cnb/buildpacks/
// <id with "/" escaped as "_">/<version>, where the lifecycle looks.
func (bp buildpack) installDir() string {
	return "cnb/buildpacks/" + strings.ReplaceAll(bp.Descriptor.ID, "/", "_") + "/" + bp.Descriptor.Version
}

// moduleRef is a buildpack in an order group.
type moduleRef struct {
	ID       string `json:"id" toml:"id"`
	Version  string `json:"version,omitempty" toml:"version,omitempty"`
	Optional bool   `json:"optional,omitempty" toml:"optional,omitempty"`
}

// orderEntry is one group of an order: the buildpacks that must all detect.
type orderEntry struct {
	Group []moduleRef `json:"group" toml:"group"`
}

// orderTOML is /cnb/order.toml.
func orderTOML(order []orderEntry) string {
	var b strings.Builder
	for i, e := range order {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("[[order]]\n")
		for _, m := range e.Group {
			fmt.Fprintf(&b, "  [[order.group]]\n    id = %q\n    version = %q\n", m.ID, m.Version)
			if m.Optional {
				b.WriteString("    optional = true\n")
			}
		}
	}
	return b.String()
}

// runTOML is /cnb/run.toml: the run images, best first.
func runTOML(runImage string) string {
	return fmt.Sprintf("[[images]]\n  image = %q\n  mirrors = []\n", runImage)
}

// stackTOML is /cnb/stack.toml, which platforms older than Platform API
// 0.12 read instead of run.toml.
func stackTOML(runImage string) string {
	return fmt.Sprintf("[run-image]\n  image = %q\n  mirrors = []\n", runImage)
}

// lifecycleAPIs are the Buildpack and Platform APIs a lifecycle speaks.
type lifecycleAPIs struct {
	Buildpack apiVersions `json:"buildpack" toml:"buildpack"`
	Platform  apiVersions `json:"platform" toml:"platform"`
}

type apiVersions struct {
	Deprecated []string `json:"deprecated" toml:"deprecated"`
	Supported  []string `json:"supported" toml:"supported"`
}

// lifecycleInfo describes the lifecycle in the builder.
type lifecycleInfo struct {
	Version string
	APIs    lifecycleAPIs
}

// lifecycleTOML is /cnb/lifecycle/lifecycle.toml, the descriptor the
// lifecycle's release archives carry.
func lifecycleTOML(lc lifecycleInfo) string {
	list := func(v []string) string {
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprintf(`[apis]
[apis.buildpack]
  deprecated = %s
  supported = %s
[apis.platform]
  deprecated = %s
  supported = %s

[api]
  platform = %q
  buildpack = %q

[lifecycle]
  version = %q
`, list(lc.APIs.Buildpack.Deprecated), list(lc.APIs.Buildpack.Supported),
		list(lc.APIs.Platform.Deprecated), list(lc.APIs.Platform.Supported),
		lc.APIs.Platform.Supported[0], lc.APIs.Buildpack.Supported[0], lc.Version)
}

// builderMetadata is the io.buildpacks.builder.metadata label, in the
// shape pack writes and platforms read.
type builderMetadata struct {
	Description string        `json:"description"`
	Buildpacks  []moduleInfo  `json:"buildpacks"`
	Extensions  []moduleInfo  `json:"extensions"`
	Stack       stackMetadata `json:"stack"`
	Images      []runImage    `json:"images"`
	Lifecycle   lifecycleMeta `json:"lifecycle"`
	CreatedBy   createdByMeta `json:"createdBy"`
}

type moduleInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Version  string `json:"version"`
	Homepage string `json:"homepage,omitempty"`
}

type stackMetadata struct {
	RunImage runImage `json:"runImage"`
}

type runImage struct {
	Image   string   `json:"image"`
	Mirrors []string `json:"mirrors"`
}

type lifecycleMeta struct {
	Version string        `json:"version"`
	API     lifecycleAPI  `json:"api"` // the oldest APIs, for platforms that predate apis
	APIs    lifecycleAPIs `json:"apis"`
}

type lifecycleAPI struct {
	Buildpack string `json:"buildpack"`
	Platform  string `json:"platform"`
}

type createdByMeta struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// buildpackLayerInfo is one entry of the io.buildpacks.buildpack.layers label.
type buildpackLayerInfo struct {
	API         string   `json:"api"`
	Targets     []target `json:"targets,omitempty"`
	LayerDiffID string   `json:"layerDiffID"`
	Homepage    string   `json:"homepage,omitempty"`
	Name        string   `json:"name,omitempty"`
}

// builderLabels returns the labels that make an image a builder: its
// metadata, its order and where each buildpack's layer is. diffIDs maps a
// buildpack's id to the diffID of its layer.
func builderLabels(bps []buildpack, diffIDs map[string]string, order []orderEntry, lc lifecycleInfo, runImageRef, createdBy string) (map[string]string, error) {
	md := builderMetadata{
		Description: "skiff's offline builder: Debian 12 packages, the Go toolchain and node of the machine that made it, skiff's buildpacks",
		Buildpacks:  []moduleInfo{},
		Extensions:  []moduleInfo{},
		Stack:       stackMetadata{RunImage: runImage{Image: runImageRef, Mirrors: []string{}}},
		Images:      []runImage{{Image: runImageRef, Mirrors: []string{}}},
		Lifecycle: lifecycleMeta{
			Version: lc.Version,
			API:     lifecycleAPI{Buildpack: lc.APIs.Buildpack.Supported[0], Platform: lc.APIs.Platform.Supported[0]},
			APIs:    lc.APIs,
		},
		CreatedBy: createdByMeta{Name: "skiff mkbuilder", Version: createdBy},
	}
	layers := map[string]map[string]buildpackLayerInfo{}
	for _, bp := range bps {
		d := bp.Descriptor
		md.Buildpacks = append(md.Buildpacks, moduleInfo{ID: d.ID, Name: d.Name, Version: d.Version, Homepage: d.Homepage})
		diffID, ok := diffIDs[d.ID]
		if !ok {
			return nil, fmt.Errorf("no layer for buildpack %s", d.ID)
		}
		if layers[d.ID] == nil {
			layers[d.ID] = map[string]buildpackLayerInfo{}
		}
		layers[d.ID][d.Version] = buildpackLayerInfo{API: bp.API, Targets: bp.Targets, LayerDiffID: diffID, Homepage: d.Homepage, Name: d.Name}
	}
	labels := map[string]string{}
	for key, v := range map[string]any{builderMetadataLabel: md, buildpackOrderLabel: order, buildpackLayersLabel: layers} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		labels[key] = string(b)
	}
	return labels, nil
}
