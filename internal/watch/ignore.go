package watch

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
)

// Patterns returns an [Options.Ignore] predicate for .dockerignore patterns
// relative to dir, as BuildKit applies them (`**`, `!` exceptions): the
// dev loop passes a build context's .dockerignore patterns plus any extra
// ones. Paths outside dir are never ignored. A directory is ignored only
// when no exception could bring back a file inside it, so with any `!`
// pattern ignored directories are still watched and only their files are
// left out. The predicate is safe for concurrent use.
func Patterns(dir string, patterns []string) (func(path string, dir bool) bool, error) {
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("invalid ignore pattern: %w; fix the pattern (the syntax is Go's filepath.Match plus ** and ! exceptions)", err)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ignore patterns for %s: %w", dir, err)
	}
	exceptions := pm.Exclusions()
	var mu sync.Mutex // patternmatcher compiles patterns lazily
	return func(path string, isDir bool) bool {
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false
		}
		if isDir && exceptions {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		ignored, err := pm.MatchesOrParentMatches(rel)
		return err == nil && ignored
	}, nil
}
