package deps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher/ignorefile"

	"skiff.dev/skiff/internal/fsutil"
)

// Dockerfile lists the files under workspace that a Docker build of
// dockerfilePath (relative to workspace unless absolute) reads: the
// Dockerfile itself, and every file of the build context that a COPY or ADD
// (not --from, not a URL) or a RUN --mount=type=bind copies or mounts in
// the stages the target needs (target "" is the last stage).
//
// Build arguments override ARG defaults; a nil value takes the variable
// from the environment (see WithLookupEnv). The values are used as given:
// templates must be evaluated by the caller. The .dockerignore beside the
// Dockerfile (<Dockerfile>.dockerignore) or, failing that, the workspace's
// .dockerignore is honoured as BuildKit honours it. A Dockerfile outside the
// workspace is listed by its absolute path. The same function serves a
// custom builder's dependencies.dockerfile.
func Dockerfile(workspace, dockerfilePath, target string, buildArgs map[string]*string, opts ...Option) ([]string, error) {
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("finding the workspace %q: %w", workspace, err)
	}
	if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the workspace %s is not a directory: check the artifact's context", ws)
	}
	if dockerfilePath == "" {
		dockerfilePath = "Dockerfile"
	}
	dfAbs := dockerfilePath
	display := dockerfilePath
	if !filepath.IsAbs(dockerfilePath) {
		dfAbs = filepath.Join(ws, dockerfilePath)
		display = filepath.Join(workspace, dockerfilePath)
	}
	content, err := fsutil.ReadRegular(dfAbs, MaxDockerfileSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no Dockerfile: looked for %s (%q in the workspace %s); fix the artifact's dockerfile setting or create the file: %w", dfAbs, dockerfilePath, ws, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("reading the Dockerfile %s: %w", dfAbs, err)
	}

	o, err := newOptions(append(append([]Option{WithFilename(display)}, opts...), WithTarget(target)))
	if err != nil {
		return nil, err
	}
	df, err := parseDockerfile(content, buildArgs, o)
	if err != nil {
		return nil, err
	}

	ignoreFile, patterns, err := readDockerignore(ws, dfAbs)
	if err != nil {
		return nil, err
	}
	bc, err := newBuildContext(ws, patterns, ignoreFile)
	if err != nil {
		return nil, err
	}

	files := map[string]struct{}{}
	if err := contextFiles(df, bc, display, files); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(ws, dfAbs); err == nil && filepath.IsLocal(rel) {
		files[filepath.ToSlash(rel)] = struct{}{}
	} else {
		files[filepath.ToSlash(dfAbs)] = struct{}{}
	}
	return slices.Sorted(maps.Keys(files)), nil
}

// MaxDockerfileSize bounds what skiff reads of a Dockerfile or a
// .dockerignore file.
const MaxDockerfileSize = 16 << 20

// readDockerignore reads the ignore file BuildKit uses for a Dockerfile:
// <Dockerfile>.dockerignore beside it, else .dockerignore in the context.
// It returns the file's path ("" if there is none) and its patterns.
func readDockerignore(ws, dockerfile string) (string, []string, error) {
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(ws, ".dockerignore")} {
		data, err := fsutil.ReadRegular(p, MaxDockerfileSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", p, err)
		}
		patterns, err := ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", p, err)
		}
		return p, patterns, nil
	}
	return "", nil, nil
}

// contextFiles adds the context files the needed stages copy or mount.
func contextFiles(df *ParsedDockerfile, bc *buildContext, file string, files map[string]struct{}) error {
	var specs []walkSpec
	for _, s := range df.Needed() {
		for _, c := range s.Copies {
			if !c.FromContext() {
				continue
			}
			for _, src := range c.Sources {
				got, err := copySpecs(bc, c, src)
				if err != nil {
					return fileError(file, c.Line, err)
				}
				specs = append(specs, got...)
			}
		}
		for _, m := range s.Mounts {
			if !m.FromContext() {
				continue
			}
			rel := contextPath(m.Source)
			if err := mustExist(bc, rel, "RUN --mount source", m.Source); err != nil {
				return fileError(file, m.Line, err)
			}
			specs = append(specs, walkSpec{root: rel})
		}
	}
	return bc.list(specs, files)
}

// copySpecs turns one source of a COPY or ADD into the trees it copies.
func copySpecs(bc *buildContext, c *Copy, src string) ([]walkSpec, error) {
	if c.Parents {
		parent, pattern, pivot := strings.Cut(src, "/./")
		if !pivot {
			parent, pattern = "", src
		}
		parent, pattern = contextPath(parent), contextPath(pattern)
		roots := []string{parent}
		if hasWildcards(parent) {
			var err error
			if roots, err = bc.glob(parent); err != nil {
				return nil, fmt.Errorf("%s source %q: %w", c.Instruction, src, err)
			}
		} else if !hasWildcards(pattern) {
			if err := mustExist(bc, joinRel(parent, pattern), c.Instruction+" source", src); err != nil {
				return nil, err
			}
		}
		var out []walkSpec
		for _, r := range roots {
			out = append(out, walkSpec{root: r, excludes: c.Excludes, include: pattern})
		}
		return out, nil
	}

	rel := contextPath(src)
	if !hasWildcards(rel) {
		if err := mustExist(bc, rel, c.Instruction+" source", src); err != nil {
			return nil, err
		}
		return []walkSpec{{root: unescape(rel), excludes: c.Excludes}}, nil
	}
	matches, err := bc.glob(rel)
	if err != nil {
		return nil, fmt.Errorf("%s source %q: %w", c.Instruction, src, err)
	}
	// A pattern that matches nothing copies nothing, and BuildKit accepts
	// that; the classic builder did not.
	out := make([]walkSpec, 0, len(matches))
	for _, m := range matches {
		out = append(out, walkSpec{root: m, excludes: c.Excludes})
	}
	return out, nil
}

// mustExist fails, as the build would, when a source without wildcards is
// missing from the context or excluded by the .dockerignore.
func mustExist(bc *buildContext, rel, what, src string) error {
	rel = unescape(rel)
	abs := filepath.Join(bc.root, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %q does not exist: looked for %s in the build context %s; create it, fix the path, or remove the instruction", what, src, abs, bc.root)
		}
		return fmt.Errorf("%s %q: %w", what, src, err)
	}
	hidden, err := bc.hidden(rel, fi.IsDir())
	if err != nil {
		return err
	}
	if hidden {
		return fmt.Errorf("%s %q is excluded from the build context by %s (pattern %s), so the build cannot read it; remove it from the ignore file or add an exception (!%s)",
			what, src, bc.ignoreFile, strings.Join(bc.ignoringPatterns(rel), ", "), rel)
	}
	return nil
}

// Dockerignore returns the .dockerignore patterns BuildKit applies to the
// context ws of the Dockerfile dockerfile (an absolute path): those of
// <Dockerfile>.dockerignore, else of ws/.dockerignore, else none. The dev
// loop leaves the files they exclude unwatched.
func Dockerignore(ws, dockerfile string) ([]string, error) {
	_, patterns, err := readDockerignore(ws, dockerfile)
	return patterns, err
}
