package build

import (
	"context"
	"fmt"
	"os"

	"skiff.dev/skiff/internal/build/deps"
)

// Sources are the files an artifact is built from, as its builder says:
// a description that dev's watcher judges each changed path by (Dir,
// File, Paths, Ignore), and the precise list (Files) that keys the build
// cache and the inputDigest tagger. Both come from one answer, so what is
// watched and what is hashed cannot drift apart.
type Sources struct {
	// Dir is the artifact's context, absolute.
	Dir string
	// File is a source even where Ignore leaves it out or outside Dir:
	// the Dockerfile; "" for builders without one.
	File string
	// Paths are doublestar globs, relative to Dir, that sources match;
	// nil means every file of Dir ("." stands for every file too).
	Paths []string
	// Ignore are patterns, relative to Dir, of files that are not
	// sources (.dockerignore syntax: `**`, `!` exceptions).
	Ignore []string
	// List lists the sources precisely (the files a Dockerfile copies, a
	// Go package's files) relative to Dir; nil lists what Paths match
	// less what Ignore leaves out.
	List func(ctx context.Context) ([]string, error)

	// artifact and context name the artifact and its context as the
	// config wrote it, for errors.
	artifact, context string
}

// Files lists the sources, relative to Dir.
func (s Sources) Files(ctx context.Context) ([]string, error) {
	if st, err := os.Stat(s.Dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("artifact %q: context %s is not a directory; fix build.artifacts[].context", s.artifact, s.context)
	}
	if s.List != nil {
		return s.List(ctx)
	}
	return deps.Paths(s.Dir, s.Paths, s.Ignore)
}
