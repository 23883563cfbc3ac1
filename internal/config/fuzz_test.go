package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader, with every profile the
// input defines switched on in turn: it may reject them, never panic.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "skaffold.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		opts := Options{File: file, Environ: []string{"FUZZ=1"}, Command: "dev", KubeContext: "fuzz"}
		if _, err := Load(opts); err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no message")
			}
		}
		docs, _, err := ParseDocuments(file, data)
		if err != nil {
			return
		}
		for _, d := range docs {
			for _, p := range d.cfg.Profiles {
				opts.Profiles = []string{p.Name}
				_, _ = Load(opts)
			}
		}
		if res, err := Fix(file, data); err == nil {
			if _, _, err := ParseDocuments(file, res.YAML); err != nil {
				t.Fatalf("skiff fix wrote a config it cannot read back: %v\n%s", err, res.YAML)
			}
		}
	})
}
