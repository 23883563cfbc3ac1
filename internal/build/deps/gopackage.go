package deps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/proc"
)

// goListFields are the `go list -json` fields GoPackage reads.
const goListFields = "ImportPath,Dir,Standard,DepOnly,Module,Error," +
	"GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles"

type goPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	DepOnly    bool
	Module     *struct {
		Path  string
		Dir   string
		GoMod string
		Main  bool
	}
	Error *struct{ Err string }

	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles, EmbedFiles                      []string
}

// GoPackage lists the files under workspace that a ko-style build of the
// main package `main` (default ".") reads: the Go, cgo, assembly and
// embedded files of that package and of every package it imports that lives
// in the workspace (its module, a vendor directory, a replace inside the
// workspace), the go.mod and go.sum of those modules, go.work and
// go.work.sum if present, and the files under the main package's kodata/
// directory, which ko puts in the image.
//
// It runs `go list -deps` in workspace with env added to environ (KEY=value
// entries, the environment skiff was started in, which should keep HOME or
// GOCACHE and GOPATH as the user's go command sees them); GOOS defaults to linux and CGO_ENABLED to 0, as ko builds,
// so build constraints select the files a container build compiles. main
// is a package pattern as ko takes it: "./cmd/app" or an import path; a
// plain relative directory such as "cmd/app" is read as "./cmd/app".
//
// go list runs again only when the workspace may list differently
// (goLists): a file added, removed or renamed, a changed import, package
// clause, build constraint or //go:embed line, a changed go.mod, go.sum or
// go.work; an edit of code alone reuses the last list. Lists are kept in
// memory and, when cacheFile is not "", in that file, for the next
// process (keyed by a hash of the arguments: the file holds no
// environment).
func GoPackage(ctx context.Context, workspace, main string, environ, env []string, cacheFile string) ([]string, error) {
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("finding the workspace %q: %w", workspace, err)
	}
	if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the workspace %s is not a directory: check the artifact's context", ws)
	}
	if main == "" {
		main = "."
	}
	if !strings.HasPrefix(main, ".") && !filepath.IsAbs(main) {
		if fi, err := os.Stat(filepath.Join(ws, main)); err == nil && fi.IsDir() {
			main = "./" + filepath.ToSlash(main)
		}
	}

	key := goListKey(ws, main, environ, env)
	stamp := goListStamp(ws)
	if files, ok := cachedGoList(key, stamp); ok {
		return files, nil
	}
	if files, ok := readGoList(cacheFile, key, stamp); ok {
		rememberGoList(key, stamp, files)
		return files, nil
	}
	files, err := goList(ctx, ws, main, environ, env)
	if err != nil {
		rememberGoList(key, "", nil)
		return nil, err
	}
	rememberGoList(key, stamp, files)
	saveGoList(cacheFile, key, stamp, files)
	return files, nil
}

// goList is GoPackage's work, for the absolute workspace ws and main as
// go list takes it.
func goList(ctx context.Context, ws, main string, environ, env []string) ([]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("listing the Go files of %s needs the go command, which is not in PATH: install Go or add it to PATH: %w", main, err)
	}
	cmd := proc.Command(ctx, goBin, "list", "-e", "-deps", "-json="+goListFields, "--", main)
	cmd.Dir = ws
	cmd.Env = append(append(slices.Clip(environ), "GOOS=linux", "CGO_ENABLED=0"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running go list -deps %s in %s: %w\n%s", main, ws, err, strings.TrimSpace(stderr.String()))
	}

	files := map[string]struct{}{}
	add := func(abs string) {
		if rel, err := filepath.Rel(ws, abs); err == nil && filepath.IsLocal(rel) {
			files[filepath.ToSlash(rel)] = struct{}{}
		}
	}
	inWorkspace := func(dir string) bool {
		rel, err := filepath.Rel(ws, dir)
		return err == nil && (rel == "." || filepath.IsLocal(rel))
	}
	var roots []*goPackage
	modules := map[string]bool{}
	vendored := false
	dec := json.NewDecoder(&stdout)
	for {
		p := &goPackage{}
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading the output of go list -deps %s: %w", main, err)
		}
		if !p.DepOnly {
			roots = append(roots, p)
		}
		if p.Standard || p.Dir == "" || !inWorkspace(p.Dir) {
			continue
		}
		if rel, _ := filepath.Rel(ws, p.Dir); strings.HasPrefix(filepath.ToSlash(rel)+"/", "vendor/") {
			vendored = true
		}
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles,
			p.FFiles, p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.EmbedFiles} {
			for _, f := range list {
				add(filepath.Join(p.Dir, f))
			}
		}
		if p.Module != nil && p.Module.GoMod != "" && !modules[p.Module.GoMod] {
			modules[p.Module.GoMod] = true
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("go list -deps %s in %s listed no package: check the artifact's main", main, ws)
	}
	for _, r := range roots {
		if r.Error != nil && len(r.GoFiles)+len(r.CgoFiles) == 0 {
			return nil, fmt.Errorf("finding the main package %s in %s: %s; check the artifact's main", main, ws, strings.TrimSpace(r.Error.Err))
		}
	}

	var extra []string
	for gomod := range modules {
		extra = append(extra, gomod, filepath.Join(filepath.Dir(gomod), "go.sum"))
	}
	extra = append(extra, filepath.Join(ws, "go.work"), filepath.Join(ws, "go.work.sum"))
	if vendored {
		extra = append(extra, filepath.Join(ws, "vendor", "modules.txt"))
	}
	for _, f := range extra {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			add(f)
		}
	}

	for _, r := range roots {
		if r.Dir == "" || !inWorkspace(r.Dir) {
			continue
		}
		kodata := filepath.Join(r.Dir, "kodata")
		err := filepath.WalkDir(kodata, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == kodata && errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				return err
			}
			if !d.IsDir() {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", kodata, err)
		}
	}
	return slices.Sorted(maps.Keys(files)), nil
}
