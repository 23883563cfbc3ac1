package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/watch"
)

// inputs are the files dev mode watches, and what a change to each means:
// a config file reloads the project, a manifest redeploys, an artifact's
// file syncs or rebuilds it, a test's dependency tests its image again.
// A path is judged by itself, without listing
// the artifact's files again, so a change costs the same in a small
// project and a large one.
type inputs struct {
	configs   map[string]bool // absolute config files
	manifests []manifestInput
	artifacts []*artifactInput
	// tests are the tests' dependencies (addTests).
	tests []*testInput
	// roots are the directory trees to watch (see watchRoots).
	roots []string
}

// manifestInput is one manifest source: a glob of files or a directory.
type manifestInput struct {
	glob string // absolute doublestar glob of files, or ""
	dir  string // absolute directory whose whole tree counts, or ""
}

// artifactInput decides which paths are an artifact's sources.
type artifactInput struct {
	art *schema.Artifact
	ws  string // absolute context directory
	// file is the Dockerfile, a source even where the context's
	// .dockerignore excludes it or outside the context; "" for builders
	// without one.
	file string
	// paths are doublestar globs relative to ws that sources match; nil
	// means every file of ws.
	paths []string
	// ignored leaves files of ws out (.dockerignore, dependencies.ignore).
	ignored func(path string, dir bool) bool
}

// newInputs gathers the inputs of the project; kinds say which files
// each artifact is built from.
func newInputs(p *config.Project, kinds build.Kinds, env build.Env) (*inputs, error) {
	in := &inputs{configs: map[string]bool{}}
	for _, c := range p.Configs {
		if f, err := filepath.Abs(c.File); err == nil {
			in.configs[f] = true
		}
		in.manifests = append(in.manifests, manifestInputs(c)...)
		for _, a := range c.Build.Artifacts {
			ai, err := newArtifactInput(a, kinds, env)
			if err != nil {
				return nil, err
			}
			in.artifacts = append(in.artifacts, ai)
		}
	}
	in.roots = in.watchRoots()
	return in, nil
}

// addTests adds the tests' dependencies to the inputs (dev re-runs the
// tests they belong to when they change), running the dependencies
// commands in environ.
func (in *inputs) addTests(ctx context.Context, p *config.Project, environ []string) error {
	tests, err := newTestInputs(ctx, p, environ)
	if err != nil {
		return err
	}
	in.tests = tests
	in.roots = in.watchRoots()
	return nil
}

// manifestInputs are the local files config c renders manifests from.
func manifestInputs(c *config.Config) []manifestInput {
	var out []manifestInput
	for _, g := range c.Render.RawK8s {
		if !strings.Contains(g, "://") {
			out = append(out, manifestInput{glob: absIn(c.Dir, g)})
		}
	}
	if k := c.Render.Kustomize; k != nil {
		paths := k.Paths
		if len(paths) == 0 {
			paths = []string{"."}
		}
		for _, d := range paths {
			out = append(out, manifestInput{dir: absIn(c.Dir, d)})
		}
	}
	var releases []schema.HelmRelease
	if h := c.Render.Helm; h != nil {
		releases = append(releases, h.Releases...)
	}
	if h := c.Deploy.HelmDeploy; h != nil {
		releases = append(releases, h.Releases...)
	}
	for _, r := range releases {
		if r.ChartPath != "" {
			out = append(out, manifestInput{dir: absIn(c.Dir, r.ChartPath)})
		}
		for _, f := range r.ValuesFiles {
			if !strings.Contains(f, "://") {
				out = append(out, manifestInput{glob: absIn(c.Dir, f)})
			}
		}
		for _, f := range r.SetFiles {
			out = append(out, manifestInput{glob: absIn(c.Dir, f)})
		}
	}
	return out
}

// absIn resolves p against dir unless it is absolute.
func absIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// newArtifactInput reads what decides the sources of a, as its builder
// says (build.Sources).
func newArtifactInput(a *schema.Artifact, kinds build.Kinds, env build.Env) (*artifactInput, error) {
	src, err := kinds.Sources(a, env)
	if err != nil {
		return nil, err
	}
	ai := &artifactInput{art: a, ws: src.Dir, file: src.File}
	ai.paths = slices.Clone(src.Paths) // rewritten below; the builder's stays
	for i, p := range ai.paths {
		if p == "." {
			ai.paths[i] = "**"
		}
	}
	if len(src.Ignore) > 0 {
		if ai.ignored, err = watch.Patterns(src.Dir, src.Ignore); err != nil {
			return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
		}
	}
	return ai, nil
}

// owns reports whether path (absolute) is one of the artifact's sources;
// for a directory, whether sources may lie below it.
func (a *artifactInput) owns(path string, dir bool) bool {
	if path == a.file {
		return true
	}
	rel, err := filepath.Rel(a.ws, path)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return false
	}
	if a.ignored != nil && a.ignored(path, dir) {
		return false
	}
	if dir || a.paths == nil {
		return true
	}
	rel = filepath.ToSlash(rel)
	for _, g := range a.paths {
		if ok, _ := doublestar.Match(g, rel); ok {
			return true
		}
		if ok, _ := doublestar.Match(strings.TrimSuffix(g, "/")+"/**", rel); ok {
			return true
		}
	}
	return false
}

// manifest reports whether path is a manifest source; for a directory,
// whether manifest sources may lie below it.
func (in *inputs) manifest(path string, dir bool) bool {
	for _, m := range in.manifests {
		switch {
		case m.dir != "" && within(path, m.dir):
			return true
		case m.glob != "" && dir && within(m.glob, path):
			return true
		case m.glob != "" && !dir:
			if ok, _ := doublestar.PathMatch(m.glob, path); ok {
				return true
			}
		}
	}
	return false
}

// watchRoots are the directory trees to watch: the artifacts' contexts,
// the manifests' directories, the tests' dependencies' directories and
// the config files' directories, leaving
// out trees inside others and directories that do not exist.
func (in *inputs) watchRoots() []string {
	var dirs []string
	for f := range in.configs {
		dirs = append(dirs, filepath.Dir(f))
	}
	for _, m := range in.manifests {
		d := m.dir
		if m.glob != "" {
			d, _ = doublestar.SplitPattern(filepath.ToSlash(m.glob))
			d = filepath.FromSlash(d)
			if !strings.ContainsAny(m.glob, "*?[{") {
				d = filepath.Dir(m.glob)
			}
		}
		dirs = append(dirs, d)
	}
	for _, a := range in.artifacts {
		dirs = append(dirs, a.ws)
		if a.file != "" {
			dirs = append(dirs, filepath.Dir(a.file))
		}
	}
	for _, t := range in.tests {
		dirs = append(dirs, t.roots()...)
	}
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, d)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	var roots []string
	for _, d := range out {
		// Sorted, a tree's root comes before what is inside it, but not
		// always right before: "a-b" sorts between "a" and "a/c".
		if !slices.ContainsFunc(roots, func(r string) bool { return within(d, r) }) {
			roots = append(roots, d)
		}
	}
	return roots
}

// ignored is the watcher's predicate: a path that is no input of anything
// is not watched. A directory is watched when an input may lie below it or
// when it leads to one.
func (in *inputs) ignored(path string, dir bool) bool {
	if in.configs[path] || in.manifest(path, dir) {
		return false
	}
	for _, a := range in.artifacts {
		if a.owns(path, dir) {
			return false
		}
	}
	for _, t := range in.tests {
		if t.owns(path, dir) {
			return false
		}
	}
	if dir {
		for _, r := range in.roots {
			if within(r, path) {
				return false
			}
		}
	}
	return true
}

// within reports whether path is dir or below it (both clean and absolute).
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator)) || dir == string(filepath.Separator)
}
