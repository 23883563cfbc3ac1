package dockerbuild

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestContextTar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		files      map[string]string
		dockerfile string
		want       []string
	}{
		{
			name:  "no ignore file sends everything",
			files: map[string]string{"Dockerfile": "FROM scratch", "a.txt": "a", "src/b.go": "b", "empty/": ""},
			want:  []string{"Dockerfile", "a.txt", "empty/", "src/", "src/b.go"},
		},
		{
			name: "patterns, a directory exception and a wildcard exception",
			files: map[string]string{
				"Dockerfile":     "FROM scratch",
				".dockerignore":  "*.log\nbuild\n!build/keep.txt\nnode_modules\ndocs/**/*.md\n!docs/**/README.md\n",
				"app.log":        "x",
				"main.go":        "x",
				"build/keep.txt": "x", "build/out.bin": "x", "build/sub/deep.txt": "x",
				"node_modules/m/index.js": "x",
				"docs/a/guide.md":         "x", "docs/a/README.md": "x", "docs/a/img.png": "x",
			},
			want: []string{".dockerignore", "Dockerfile", "build/keep.txt", "docs/", "docs/a/", "docs/a/README.md", "docs/a/img.png", "main.go"},
		},
		{
			name: "a wildcard exception reaches into an ignored directory",
			files: map[string]string{
				"Dockerfile":       "FROM scratch",
				".dockerignore":    "vendor\n!**/LICENSE\n",
				"vendor/x/LICENSE": "l", "vendor/x/x.go": "x",
			},
			want: []string{".dockerignore", "Dockerfile", "vendor/x/LICENSE"},
		},
		{
			name: "the Dockerfile and .dockerignore are sent even when ignored",
			files: map[string]string{
				"Dockerfile":    "FROM scratch",
				".dockerignore": "*\n!app\n",
				"app/main.go":   "x", "secret.env": "x",
			},
			want: []string{".dockerignore", "Dockerfile", "app/", "app/main.go"},
		},
		{
			name: "ignoring everything with ** keeps the Dockerfile in a subdirectory",
			files: map[string]string{
				"docker/app.Dockerfile": "FROM scratch",
				".dockerignore":         "**\n",
				"main.go":               "x",
			},
			dockerfile: "docker/app.Dockerfile",
			want:       []string{".dockerignore", "docker/app.Dockerfile"},
		},
		{
			name: "<Dockerfile>.dockerignore wins over .dockerignore",
			files: map[string]string{
				"docker/app.Dockerfile":              "FROM scratch",
				"docker/app.Dockerfile.dockerignore": "*.md\n",
				".dockerignore":                      "*.go\n",
				"main.go":                            "x", "README.md": "x",
			},
			dockerfile: "docker/app.Dockerfile",
			want:       []string{".dockerignore", "docker/", "docker/app.Dockerfile", "docker/app.Dockerfile.dockerignore", "main.go"},
		},
		{
			name:  "symbolic links stay links",
			files: map[string]string{"Dockerfile": "FROM scratch", "target.txt": "t", "link.txt": "-> target.txt"},
			want:  []string{"Dockerfile", "link.txt", "target.txt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			bc, err := newBuildContext(dir, tt.dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := bc.writeTar(&buf); err != nil {
				t.Fatal(err)
			}
			entries, err := readTar(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.name)
				if want, ok := tt.files[e.name]; ok && e.typ == tar.TypeReg && e.content != want {
					t.Errorf("%s holds %q, want %q", e.name, e.content, want)
				}
				if e.name == "link.txt" && (e.typ != tar.TypeSymlink || e.content != "target.txt") {
					t.Errorf("link.txt: type %c target %q, want a symlink to target.txt", e.typ, e.content)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("context entries:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestContextDockerfileOutside(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app/main.go": "x", "dockerfiles/app.Dockerfile": "FROM scratch\nCOPY main.go /\n"})
	bc, err := newBuildContext(filepath.Join(root, "app"), filepath.Join(root, "dockerfiles/app.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bc.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	entries, err := readTar(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bc.dockerfileName, ".skiff-dockerfile-") {
		t.Fatalf("dockerfileName = %q", bc.dockerfileName)
	}
	if len(entries) != 2 || entries[0].name != "main.go" || entries[1].name != bc.dockerfileName || entries[1].content != "FROM scratch\nCOPY main.go /\n" {
		t.Errorf("entries = %+v, want main.go and the Dockerfile as %s", entries, bc.dockerfileName)
	}
}

func TestContextErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch", "file": "x", "bad/Dockerfile": "FROM scratch", "bad/.dockerignore": "[\n"})
	tests := []struct {
		name, dir, dockerfile string
		want                  []string
	}{
		{"missing context", filepath.Join(dir, "nope"), "", []string{filepath.Join(dir, "nope"), "does not exist", "context"}},
		{"context is a file", filepath.Join(dir, "file"), "", []string{"is not a directory"}},
		{"missing Dockerfile", dir, "app.Dockerfile", []string{"no Dockerfile", "looked for " + filepath.Join(dir, "app.Dockerfile"), "docker.dockerfile"}},
		{"bad pattern", filepath.Join(dir, "bad"), "", []string{filepath.Join(dir, "bad", ".dockerignore"), "invalid pattern"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bc, err := newBuildContext(tt.dir, tt.dockerfile)
			if err == nil {
				err = bc.writeTar(&bytes.Buffer{})
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestContextKeepsModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch", "run.sh": "#!/bin/sh"})
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	bc, err := newBuildContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bc.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	entries, _ := readTar(&buf)
	for _, e := range entries {
		if e.name == "run.sh" && e.mode&0o777 != 0o755 {
			t.Errorf("run.sh mode %o, want 755", e.mode)
		}
	}
}
