package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadMultiModule loads a project of 30 modules, each with 8
// artifacts, two profiles (one with patches) and a shared base module,
// written for an old apiVersion so that every document is upgraded.
func BenchmarkLoadMultiModule(b *testing.B) {
	dir := b.TempDir()
	const modules, artifacts = 30, 8
	var root strings.Builder
	root.WriteString("apiVersion: skaffold/v2beta29\nkind: Config\nmetadata:\n  name: root\nrequires:\n")
	for m := range modules {
		fmt.Fprintf(&root, "- path: ./m%d\n  activeProfiles:\n  - name: fast\n", m)
		var mod strings.Builder
		fmt.Fprintf(&mod, "apiVersion: skaffold/v2beta29\nkind: Config\nmetadata:\n  name: m%d\nrequires:\n- path: ../base\nbuild:\n  artifacts:\n", m)
		for a := range artifacts {
			fmt.Fprintf(&mod, "  - image: m%d-a%d\n    context: a%d\n    docker:\n      buildArgs:\n        V: \"{{.VERSION}}\"\n    requires:\n    - image: base\n      alias: BASE\n", m, a, a)
		}
		mod.WriteString("deploy:\n  kubectl:\n    manifests: [k8s/*.yaml]\nprofiles:\n- name: fast\n  build:\n    local:\n      concurrency: 4\n- name: patched\n  patches:\n  - op: replace\n    path: /build/artifacts/0/context\n    value: other\n")
		writeFile(b, filepath.Join(dir, fmt.Sprintf("m%d", m), "skaffold.yaml"), mod.String())
	}
	writeFile(b, filepath.Join(dir, "base", "skaffold.yaml"), "apiVersion: skaffold/v4beta14\nkind: Config\nmetadata:\n  name: base\nbuild:\n  artifacts:\n  - image: base\n")
	writeFile(b, filepath.Join(dir, "skaffold.yaml"), root.String())
	opts := Options{File: filepath.Join(dir, "skaffold.yaml"), Profiles: []string{"patched"}, Environ: []string{"VERSION=1"}}

	b.ResetTimer()
	for b.Loop() {
		p, err := Load(opts)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(p.Artifacts()); n != modules*artifacts+1 {
			b.Fatalf("loaded %d artifacts, want %d", n, modules*artifacts+1)
		}
	}
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
