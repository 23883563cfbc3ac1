package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"strings"
)

// The lifecycle's exporter copies /cnb/lifecycle/<component>.sbom.<format>
// into every application image and warns, six lines per build, when a file
// is missing. Its releases carry them; this builder writes them from the Go
// build information of the binaries it installs: the main module and every
// module linked in.

// goModule is a Go module in a binary.
type goModule struct{ Path, Version string }

func (m goModule) purl() string { return "pkg:golang/" + m.Path + "@" + m.Version }

// lifecycleModule is the module the lifecycle's binaries are built from.
const lifecycleModule = "github.com/buildpacks/lifecycle"

// binaryModules reads the modules linked into a Go binary besides the
// lifecycle's own, with replacements in place of what they replace.
func binaryModules(file string) ([]goModule, error) {
	info, err := buildinfo.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the Go build information of %s: %w", file, err)
	}
	var deps []goModule
	for _, d := range info.Deps {
		if d.Path == lifecycleModule {
			continue
		}
		if d.Replace != nil {
			d = d.Replace
		}
		deps = append(deps, goModule{d.Path, d.Version})
	}
	return deps, nil
}

// sbomFiles returns the SBOM documents of one lifecycle component (the
// lifecycle or the launcher), named as the exporter looks for them.
func sbomFiles(component, version string, deps []goModule) (map[string][]byte, error) {
	main := goModule{lifecycleModule, "v" + strings.TrimPrefix(version, "v")}
	docs := map[string]any{
		component + ".sbom.cdx.json":  cycloneDX(component, main, deps),
		component + ".sbom.spdx.json": spdx(component, main, deps),
		component + ".sbom.syft.json": syft(component, main, deps),
	}
	files := map[string][]byte{}
	for name, doc := range docs {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, err
		}
		files[name] = append(b, '\n')
	}
	return files, nil
}

func cycloneDX(component string, main goModule, deps []goModule) any {
	type cdxComponent struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		Purl    string `json:"purl"`
	}
	comps := []cdxComponent{}
	for _, d := range deps {
		comps = append(comps, cdxComponent{"library", d.Path, d.Version, d.purl()})
	}
	return map[string]any{
		"bomFormat":   "CycloneDX",
		"specVersion": "1.4",
		"version":     1,
		"metadata": map[string]any{
			"timestamp": epoch.Format("2006-01-02T15:04:05Z"),
			"tools":     []map[string]string{{"name": "skiff mkbuilder"}},
			"component": cdxComponent{"application", main.Path + " (" + component + ")", main.Version, main.purl()},
		},
		"components": comps,
	}
}

func spdx(component string, main goModule, deps []goModule) any {
	pkg := func(i int, m goModule) map[string]any {
		return map[string]any{
			"name":             m.Path,
			"SPDXID":           fmt.Sprintf("SPDXRef-Package-%d", i),
			"versionInfo":      m.Version,
			"downloadLocation": "NOASSERTION",
			"externalRefs": []map[string]string{{
				"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": m.purl(),
			}},
		}
	}
	pkgs := []map[string]any{pkg(0, main)}
	rels := []map[string]string{{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Package-0"}}
	for i, d := range deps {
		pkgs = append(pkgs, pkg(i+1, d))
		rels = append(rels, map[string]string{"spdxElementId": "SPDXRef-Package-0", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": fmt.Sprintf("SPDXRef-Package-%d", i+1)})
	}
	return map[string]any{
		"spdxVersion":       "SPDX-2.3",
		"dataLicense":       "CC0-1.0",
		"SPDXID":            "SPDXRef-DOCUMENT",
		"name":              component,
		"documentNamespace": "https://skiff.dev/spdx/lifecycle/" + main.Version + "/" + component,
		"creationInfo": map[string]any{
			"created":  epoch.Format("2006-01-02T15:04:05Z"),
			"creators": []string{"Tool: skiff-mkbuilder"},
		},
		"packages":      pkgs,
		"relationships": rels,
	}
}

func syft(component string, main goModule, deps []goModule) any {
	artifacts := []map[string]any{}
	for i, m := range append([]goModule{main}, deps...) {
		artifacts = append(artifacts, map[string]any{
			"id": fmt.Sprintf("%s-%d", component, i), "name": m.Path, "version": m.Version,
			"type": "go-module", "foundBy": "skiff-mkbuilder", "language": "go", "purl": m.purl(),
			"locations": []any{}, "licenses": []any{}, "cpes": []any{},
		})
	}
	return map[string]any{
		"artifacts":             artifacts,
		"artifactRelationships": []any{},
		"source":                map[string]any{"id": component, "name": "/cnb/lifecycle/" + component, "type": "file"},
		"distro":                map[string]any{},
		"descriptor":            map[string]string{"name": "skiff mkbuilder", "version": main.Version},
		"schema":                map[string]string{"version": "16.0.0", "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.0.json"},
	}
}
