package deps

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGoPackageListsAgainOnlyWhenTheListMayChange counts the go list runs
// of GoPackage through a go command on PATH that logs each run, on a copy
// of testdata/gomod edited between calls.
func TestGoPackageListsAgainOnlyWhenTheListMayChange(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin, runs := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	script := "#!/bin/sh\necho \"$*\" >>" + runs + "\nexec " + realGo + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS(filepath.Join("testdata", "gomod"))); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(ws, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	listed := 0
	list := func(what string, ran bool, want ...string) {
		t.Helper()
		got, err := GoPackage(context.Background(), ws, "", os.Environ(), nil, "")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, _ := os.ReadFile(runs)
		n := strings.Count(string(b), "list -e -deps")
		if ran && n != listed+1 {
			t.Errorf("%s: go list ran %d times, want once more than %d", what, n, listed)
		}
		if !ran && n != listed {
			t.Errorf("%s: go list ran %d more times, want none: the list cannot have changed", what, n-listed)
		}
		listed = n
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: listed %v; want %s in it", what, got, w)
			}
		}
	}

	list("first", true, "main.go", "internal/greet/greet.go", "kodata/index.html", "static/hello.txt")
	list("nothing changed", false, "main.go")
	write("main.go", strings.Replace(read("main.go"), "greet.Greet(hello)", "greet.Greet(hello+\"!\")", 1))
	list("a function body edited", false, "main.go", "internal/greet/greet.go")
	write("internal/greet/more.go", "package greet\n\nconst more = 1\n")
	list("a Go file added to an imported package", true, "internal/greet/more.go")
	write("internal/greet/more.go", "//go:build ignore\n\npackage greet\n\nconst more = 1\n")
	list("a build constraint added", true)
	write("kodata/js/app.js", "1\n")
	list("a kodata file in a new directory", true, "kodata/js/app.js")
	write("main.go", strings.Replace(read("main.go"), "//go:embed static/hello.txt", "//go:embed static/hello.txt static/other.txt", 1))
	list("an embed added", true, "static/other.txt")
	write("main.go", strings.Replace(read("main.go"), "\"fmt\"\n", "\"fmt\"\n\n\t\"example.com/gomod/unused\"\n", 1)+"\nvar _ = unused.X\n")
	list("an import added", true, "unused/unused.go")
	write("go.mod", read("go.mod")+"\n// a comment\n")
	list("go.mod edited", true)
}

// TestGoPackageListsOnceAcrossProcesses: a list saved in the cache file
// spares the next process's go list while the workspace is unchanged, and
// the file holds no environment.
func TestGoPackageListsOnceAcrossProcesses(t *testing.T) {
	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS(filepath.Join("testdata", "gomod"))); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "go-lists.json")
	environ := append(os.Environ(), "SKIFF_TEST_SECRET=hunter2")
	first, err := GoPackage(context.Background(), ws, "", environ, nil, file)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the list was not saved: %v", err)
	}
	if strings.Contains(string(saved), "hunter2") || strings.Contains(string(saved), ws) {
		t.Errorf("the cache file holds the environment or the workspace path: %s", saved)
	}

	// A new process: nothing in memory, and a go list that would fail.
	goLists.Lock()
	clear(goLists.m)
	goLists.Unlock()
	broken := append(slices.Clone(environ), "GOFLAGS=-mod=nonsense")
	key := goListKey(ws, ".", environ, nil)
	if files, ok := readGoList(file, key, goListStamp(ws)); !ok || !slices.Equal(files, first) {
		t.Fatalf("the cache file has %v, %t under the workspace's key; want %v", files, ok, first)
	}
	got, err := GoPackage(context.Background(), ws, "", environ, nil, file)
	if err != nil || !slices.Equal(got, first) {
		t.Errorf("from the cache file: %v, %v; want %v", got, err, first)
	}
	if _, err := GoPackage(context.Background(), ws, "", broken, nil, file); err == nil {
		t.Errorf("another environment was served from the cache; want its own go list, which fails")
	}

	// Changed imports: listed again.
	main := filepath.Join(ws, "main.go")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	src = []byte(strings.Replace(string(src), "\"fmt\"\n", "\"fmt\"\n\n\t\"example.com/gomod/unused\"\n", 1) + "\nvar _ = unused.X\n")
	if err := os.WriteFile(main, src, 0o644); err != nil {
		t.Fatal(err)
	}
	goLists.Lock()
	clear(goLists.m)
	goLists.Unlock()
	got, err = GoPackage(context.Background(), ws, "", environ, nil, file)
	if err != nil || !slices.Contains(got, "unused/unused.go") {
		t.Errorf("after an import was added: %v, %v; want unused/unused.go listed", got, err)
	}
}
