package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The state a path is in when the batch is made wins over its history.
func TestChangesBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		exists  map[string]string // files to create before the batch; "/" suffix: a directory
		changed []string          // paths noted
		dirs    []string          // paths noted as directories
		created []string          // paths noted as created
		want    Batch
	}{
		{"changed then removed is removed", nil, []string{"a"}, nil, nil, Batch{Removed: []string{"a"}}},
		{"created then removed is nothing", nil, nil, nil, []string{"tmp"}, Batch{}},
		{"created, then changed, then removed is nothing", nil, nil, nil, []string{"tmp", "tmp"}, Batch{}},
		{"created and still there is changed", map[string]string{"a": "x"}, nil, nil, []string{"a"}, Batch{Changed: []string{"a"}}},
		{"removed, then created, then removed again is removed", nil, []string{"a"}, nil, []string{"a"}, Batch{Removed: []string{"a"}}},
		{"removed then re-created is changed", map[string]string{"a": "x"}, []string{"a", "a"}, nil, nil, Batch{Changed: []string{"a"}}},
		{"directories are not changes", map[string]string{"d/": "", "d/f": "x"}, []string{"d", "d/f"}, nil, nil, Batch{Changed: []string{"d/f"}}},
		{"a removed directory is listed", nil, nil, []string{"d"}, nil, Batch{Removed: []string{"d"}, RemovedDirs: []string{"d"}}},
		{"a file under a path that became a file is removed", map[string]string{"p": "x"}, []string{"p/f"}, nil, nil, Batch{Removed: []string{"p/f"}}},
		{"ignored paths are left out", map[string]string{"keep": "x", "skip.log": "x"}, []string{"keep", "skip.log", "gone.log", ".git"}, nil, nil, Batch{Changed: []string{"keep"}}},
		{"sorted", map[string]string{"b": "", "a": "", "c/a": ""}, []string{"c/a", "b", "a"}, nil, nil, Batch{Changed: []string{"a", "b", "c/a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tt.exists {
				p := filepath.Join(dir, name)
				if strings.HasSuffix(name, "/") {
					must(t, os.MkdirAll(p, 0o755))
					continue
				}
				write(t, p, content)
			}
			c := changes{}
			for _, p := range tt.changed {
				c.add(filepath.Join(dir, p), false, false)
			}
			for _, p := range tt.dirs {
				c.add(filepath.Join(dir, p), true, false)
			}
			for _, p := range tt.created {
				c.add(filepath.Join(dir, p), false, true)
			}
			ignoredDir := map[string]bool{}
			b := c.batch(func(p string, d bool) bool {
				ignoredDir[rel(dir, p)] = d
				return isGit(p) || strings.HasSuffix(p, ".log")
			})
			if len(c) != 0 {
				t.Errorf("%d changes left after the batch", len(c))
			}
			got := Batch{}
			for _, p := range b.Changed {
				got.Changed = append(got.Changed, rel(dir, p))
			}
			for _, p := range b.Removed {
				got.Removed = append(got.Removed, rel(dir, p))
			}
			if !slices.Equal(got.Changed, tt.want.Changed) || !slices.Equal(got.Removed, tt.want.Removed) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			for _, d := range tt.dirs {
				if !ignoredDir[d] {
					t.Errorf("Ignore(%s) was not told it was a directory", d)
				}
			}
		})
	}
}
