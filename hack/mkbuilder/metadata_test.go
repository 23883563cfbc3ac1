package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

var testLifecycle = lifecycleInfo{
	Version: "0.21.14",
	APIs: lifecycleAPIs{
		Buildpack: apiVersions{Deprecated: []string{}, Supported: []string{"0.7", "0.12"}},
		Platform:  apiVersions{Deprecated: []string{}, Supported: []string{"0.7", "0.15"}},
	},
}

func repoBuildpacks(t *testing.T) []buildpack {
	t.Helper()
	var bps []buildpack
	for _, dir := range defaultBuildpacks {
		bp, err := readBuildpack(filepath.Join("../..", dir))
		if err != nil {
			t.Fatal(err)
		}
		bps = append(bps, bp)
	}
	return bps
}

// The repository's buildpacks are what the default order names, speak a
// Buildpack API of at least 0.10 and target linux/amd64.
func TestRepoBuildpacks(t *testing.T) {
	t.Parallel()
	bps := repoBuildpacks(t)
	if err := checkOrder(defaultOrder, bps); err != nil {
		t.Fatal(err)
	}
	for _, bp := range bps {
		var major, minor int
		if _, err := fmt.Sscanf(bp.API, "%d.%d", &major, &minor); err != nil || major == 0 && minor < 10 {
			t.Errorf("%s speaks Buildpack API %q, want 0.10 or newer", bp.Descriptor.ID, bp.API)
		}
		if !reflect.DeepEqual(bp.Targets, []target{{OS: "linux", Arch: "amd64"}}) {
			t.Errorf("%s targets %v, want linux/amd64", bp.Descriptor.ID, bp.Targets)
		}
	}
	if got := bps[0].installDir(); got != "cnb/buildpacks/skiff_go/0.1.0" {
		t.Errorf("installDir = %q", got)
	}
}

func TestReadBuildpackErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, toml string
		exec       bool
		want       string
	}{
		{"no api", "[buildpack]\nid = \"a\"\nversion = \"1\"\n", true, "api is missing"},
		{"no version", "api = \"0.12\"\n[buildpack]\nid = \"a\"\n", true, "needs an id and a version"},
		{"not executable", "api = \"0.12\"\n[buildpack]\nid = \"a\"\nversion = \"1\"\n", false, "is not executable"},
		{"bad toml", "api = \n", true, "buildpack.toml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			mode := os.FileMode(0o755)
			if !tc.exec {
				mode = 0o644
			}
			if err := os.WriteFile(filepath.Join(dir, "buildpack.toml"), []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"detect", "build"} {
				if err := os.WriteFile(filepath.Join(dir, "bin", f), []byte("#!/bin/sh\n"), mode); err != nil {
					t.Fatal(err)
				}
			}
			_, err := readBuildpack(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readBuildpack: %v, want an error that says %q", err, tc.want)
			}
		})
	}
}

func TestCheckOrderUnknownBuildpack(t *testing.T) {
	t.Parallel()
	err := checkOrder([]orderEntry{{Group: []moduleRef{{ID: "skiff/python", Version: "0.1.0"}}}}, repoBuildpacks(t))
	if err == nil || !strings.Contains(err.Error(), "skiff/python@0.1.0") {
		t.Fatalf("checkOrder: %v, want an error naming skiff/python@0.1.0", err)
	}
}

// order.toml, run.toml and stack.toml are the files the lifecycle reads;
// they must decode to what was meant.
func TestCNBFiles(t *testing.T) {
	t.Parallel()
	order := []orderEntry{
		{Group: []moduleRef{{ID: "skiff/go", Version: "0.1.0"}}},
		{Group: []moduleRef{{ID: "a", Version: "1"}, {ID: "b", Version: "2", Optional: true}}},
	}
	var gotOrder struct {
		Order []orderEntry `toml:"order"`
	}
	if _, err := toml.Decode(orderTOML(order), &gotOrder); err != nil {
		t.Fatalf("order.toml does not decode: %v\n%s", err, orderTOML(order))
	}
	if !reflect.DeepEqual(gotOrder.Order, order) {
		t.Errorf("order.toml decodes to %+v, want %+v", gotOrder.Order, order)
	}

	const ref = "127.0.0.1:5001/skiff/run:latest"
	var run struct {
		Images []runImage `toml:"images"`
	}
	if _, err := toml.Decode(runTOML(ref), &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Images) != 1 || run.Images[0].Image != ref {
		t.Errorf("run.toml = %+v", run)
	}
	var stack struct {
		RunImage runImage `toml:"run-image"`
	}
	if _, err := toml.Decode(stackTOML(ref), &stack); err != nil {
		t.Fatal(err)
	}
	if stack.RunImage.Image != ref {
		t.Errorf("stack.toml = %+v", stack)
	}

	var desc struct {
		APIs      lifecycleAPIs `toml:"apis"`
		API       lifecycleAPI  `toml:"api"`
		Lifecycle struct {
			Version string `toml:"version"`
		} `toml:"lifecycle"`
	}
	if _, err := toml.Decode(lifecycleTOML(testLifecycle), &desc); err != nil {
		t.Fatalf("lifecycle.toml does not decode: %v\n%s", err, lifecycleTOML(testLifecycle))
	}
	if !reflect.DeepEqual(desc.APIs, testLifecycle.APIs) || desc.Lifecycle.Version != "0.21.14" || desc.API.Platform != "0.7" {
		t.Errorf("lifecycle.toml decodes to %+v", desc)
	}
}

// The builder labels have the shape pack writes and platforms read.
func TestBuilderLabels(t *testing.T) {
	t.Parallel()
	bps := repoBuildpacks(t)
	diffIDs := map[string]string{"skiff/go": "sha256:aa", "skiff/nodejs": "sha256:bb"}
	labels, err := builderLabels(bps, diffIDs, defaultOrder, testLifecycle, "r/skiff/run:latest", "test")
	if err != nil {
		t.Fatal(err)
	}

	var md map[string]any
	if err := json.Unmarshal([]byte(labels[builderMetadataLabel]), &md); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"lifecycle.version":                    "0.21.14",
		"lifecycle.api.platform":               "0.7",
		"lifecycle.apis.platform.supported.1":  "0.15",
		"lifecycle.apis.buildpack.supported.1": "0.12",
		"stack.runImage.image":                 "r/skiff/run:latest",
		"images.0.image":                       "r/skiff/run:latest",
		"buildpacks.0.id":                      "skiff/go",
		"buildpacks.1.version":                 "0.1.0",
		"createdBy.name":                       "skiff mkbuilder",
	} {
		if got := lookup(md, path); got != want {
			t.Errorf("%s: %s = %v, want %v", builderMetadataLabel, path, got, want)
		}
	}

	var order []orderEntry
	if err := json.Unmarshal([]byte(labels[buildpackOrderLabel]), &order); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(order, defaultOrder) {
		t.Errorf("%s = %s", buildpackOrderLabel, labels[buildpackOrderLabel])
	}

	var layers map[string]map[string]buildpackLayerInfo
	if err := json.Unmarshal([]byte(labels[buildpackLayersLabel]), &layers); err != nil {
		t.Fatal(err)
	}
	if got := layers["skiff/nodejs"]["0.1.0"]; got.LayerDiffID != "sha256:bb" || got.API != "0.12" || len(got.Targets) != 1 {
		t.Errorf("%s: skiff/nodejs 0.1.0 = %+v", buildpackLayersLabel, got)
	}

	if _, err := builderLabels(bps, map[string]string{"skiff/go": "sha256:aa"}, defaultOrder, testLifecycle, "r", "test"); err == nil {
		t.Error("builderLabels with a buildpack without a layer succeeded")
	}
}

// lookup follows a dotted path of keys and list indexes in decoded JSON.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
