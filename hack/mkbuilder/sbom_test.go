package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The SBOMs name the lifecycle and every module linked in, in the file
// names the exporter looks for, and are valid JSON of their formats.
func TestSBOMFiles(t *testing.T) {
	t.Parallel()
	deps := []goModule{{"github.com/BurntSushi/toml", "v1.6.0"}, {"golang.org/x/sys", "v0.45.0"}}
	files, err := sbomFiles("launcher", "0.21.14", deps)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("got %d files, want cdx, spdx and syft", len(files))
	}
	for name, want := range map[string]string{
		"launcher.sbom.cdx.json":  `"bomFormat": "CycloneDX"`,
		"launcher.sbom.spdx.json": `"spdxVersion": "SPDX-2.3"`,
		"launcher.sbom.syft.json": `"type": "go-module"`,
	} {
		b, ok := files[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s is not JSON: %v", name, err)
		}
		for _, s := range []string{want, "pkg:golang/github.com/buildpacks/lifecycle@v0.21.14", "pkg:golang/golang.org/x/sys@v0.45.0"} {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s does not contain %s:\n%s", name, s, b)
			}
		}
	}
}

// binaryModules reads a real binary's modules: this test binary links
// BurntSushi/toml.
func TestBinaryModules(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := binaryModules(exe)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range deps {
		if d.Path == "github.com/BurntSushi/toml" && d.Version != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("the modules of %s do not include github.com/BurntSushi/toml: %v", exe, deps)
	}
	if _, err := binaryModules(os.DevNull); err == nil {
		t.Error("binaryModules of a file that is no Go binary succeeded")
	}
}
