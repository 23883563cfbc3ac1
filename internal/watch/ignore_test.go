package watch

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPatterns(t *testing.T) {
	t.Parallel()
	root := filepath.FromSlash("/src/app")
	tests := []struct {
		name     string
		patterns []string
		path     string // relative to root unless absolute
		dir      bool
		want     bool
	}{
		{"no patterns", nil, "main.go", false, false},
		{"glob", []string{"*.log"}, "debug.log", false, true},
		{"glob is anchored at the root", []string{"*.log"}, "logs/debug.log", false, false},
		{"double star", []string{"**/*.log"}, "logs/debug.log", false, true},
		{"ignored directory", []string{"node_modules"}, "node_modules", true, true},
		{"file in an ignored directory", []string{"node_modules"}, "node_modules/x/index.js", false, true},
		{"exception brings a file back", []string{"build", "!build/keep.txt"}, "build/keep.txt", false, false},
		{"other files stay ignored", []string{"build", "!build/keep.txt"}, "build/out.bin", false, true},
		{"with exceptions directories are watched", []string{"build", "!build/keep.txt"}, "build", true, false},
		{"the root itself", []string{"*"}, ".", true, false},
		{"outside the root", []string{"*"}, "/elsewhere/x", false, false},
		{"a sibling with the root as prefix", []string{"*"}, "/src/app2/x", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ignore, err := Patterns(root, tt.patterns)
			must(t, err)
			p := filepath.FromSlash(tt.path)
			if !filepath.IsAbs(p) {
				p = filepath.Join(root, p)
			}
			if got := ignore(p, tt.dir); got != tt.want {
				t.Errorf("Ignore(%s, %v) = %v, want %v", p, tt.dir, got, tt.want)
			}
		})
	}
}

func TestPatternsInvalid(t *testing.T) {
	t.Parallel()
	_, err := Patterns("/src", []string{"a[", "b"})
	if err == nil || !strings.Contains(err.Error(), "fix the pattern") {
		t.Fatalf("error %v, want an invalid pattern error", err)
	}
}

// The watcher drops what a .dockerignore excludes.
func TestPatternsInWatcher(t *testing.T) {
	t.Parallel()
	var ignore func(string, bool) bool
	// start hands the predicate paths relative to the watched directory.
	h := start(t, Options{Ignore: func(rel string, dir bool) bool { return ignore(rel, dir) }}, func(dir string) {
		abs, err := Patterns(dir, []string{"*.tmp", "dist"})
		must(t, err)
		ignore = func(rel string, d bool) bool { return abs(filepath.Join(dir, filepath.FromSlash(rel)), d) }
	})
	write(t, h.path("a.tmp"), "x")
	write(t, h.path("dist/bundle.js"), "x")
	write(t, h.path("src/a.go"), "x")
	h.until(t, Batch{Changed: []string{"src/a.go"}})
}
