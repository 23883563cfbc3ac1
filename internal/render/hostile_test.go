//go:build unix

package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

// TestRenderRefusesSpecialFiles checks that every file a config names is
// checked before it is opened: opening a FIFO blocks until a writer comes,
// so each of these cases hung rendering before.
func TestRenderRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	kust := func(path string) schema.Pipeline {
		return schema.Pipeline{Render: schema.RenderConfig{Generate: schema.Generate{Kustomize: &schema.Kustomize{Paths: []string{path}}}}}
	}
	tests := []struct {
		name string
		fifo string
		p    schema.Pipeline
	}{
		{"rawYaml", "pipe.yaml", raw("pipe.yaml")},
		{"valuesFiles", "pipe.yaml", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", ValuesFiles: []string{"pipe.yaml"}})},
		{"setFiles", "pipe.txt", releases(schema.HelmRelease{Name: "r", ChartPath: "chart", SetFiles: map[string]string{"a": "pipe.txt"}})},
		{"kustomize resource", "kpipe/pipe.yaml", kust("kpipe")},
		{"chart file", "chart/templates/pipe.yaml", releases(schema.HelmRelease{Name: "r", ChartPath: "chart"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, testFiles)
			writeFiles(t, dir, map[string]string{"kpipe/kustomization.yaml": "resources:\n- pipe.yaml\n"})
			if err := syscall.Mkfifo(filepath.Join(dir, tc.fifo), 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			_, _, err := renderAt(t, dir, tc.p, Options{})
			if err == nil || !strings.Contains(err.Error(), "not a regular file") && !strings.Contains(err.Error(), "named pipe") {
				t.Fatalf("Render error = %v; want a refusal of the FIFO", err)
			}
		})
	}
}

// TestRenderQuotesOneLineOfANonManifest checks that an error about a file
// that is no manifest (/etc/passwd, a 10 MB log) quotes one bounded line,
// not the file.
func TestRenderQuotesOneLineOfANonManifest(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 200_000 {
		fmt.Fprintf(&b, "user%d:x:%d:%d:User:/home/user%d:/bin/sh\n", i, i, i, i)
	}
	_, _, err := renderIn(t, map[string]string{"passwd": b.String()}, raw("passwd"), Options{})
	if err == nil || !strings.Contains(err.Error(), `"user0:x:0:0:User:/home/user0:/bin/sh user1`) || len(err.Error()) > 300 {
		t.Fatalf("Render error (%d bytes) = %.400v; want one quoting at most a line", len(fmt.Sprint(err)), err)
	}
}

// TestRenderBoundsGlobMatches checks that a rawYaml glob matching more
// files than a project has manifests is refused with the count.
func TestRenderBoundsGlobMatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "many"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range maxManifestFiles + 1 {
		if err := os.WriteFile(filepath.Join(dir, "many", fmt.Sprintf("%d.yaml", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"many/*.yaml", "many"} {
		_, _, err := renderAt(t, dir, raw(p), Options{})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(maxManifestFiles)) {
			t.Errorf("rawYaml %s: Render error = %v; want the %d-file bound", p, err, maxManifestFiles)
		}
	}
}

// TestRenderBoundsTemplatesTogether checks that many templated fields,
// each within its own bound, cannot expand to gigabytes together.
func TestRenderBoundsTemplatesTogether(t *testing.T) {
	t.Parallel()
	tmpl := schema.FlatMap{}
	for i := range 20 {
		tmpl[fmt.Sprintf("k%d", i)] = `{{repeat 1000000 "x"}}`
	}
	_, _, err := renderIn(t, testFiles, releases(schema.HelmRelease{Name: "r", ChartPath: "chart", SetValueTemplates: tmpl}), Options{})
	if err == nil || !strings.Contains(err.Error(), "expand to more than 16.0 MiB together") {
		t.Fatalf("Render error = %.300v; want the bound on all templated fields", err)
	}
}
