package deps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
)

// buildContext is a workspace as BuildKit sends it to a build: the files a
// .dockerignore does not exclude.
type buildContext struct {
	root string // absolute
	// ignore is the .dockerignore matcher, nil without patterns.
	ignore *matcher
	// ignoreFile is the .dockerignore's path, for messages.
	ignoreFile string
	// prefixOnlyExceptions says no "!" pattern has a wildcard, so an
	// ignored directory can be skipped unless an exception lies inside it.
	prefixOnlyExceptions bool
}

func newBuildContext(root string, patterns []string, ignoreFile string) (*buildContext, error) {
	bc := &buildContext{root: root, ignoreFile: ignoreFile}
	if len(patterns) == 0 {
		return bc, nil
	}
	m, err := newMatcher(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s has an invalid pattern: %w; fix the pattern (the syntax is Go's filepath.Match plus ** and ! exceptions)", ignoreFile, err)
	}
	bc.ignore = m
	bc.prefixOnlyExceptions = onlyPrefixPatterns(m.pm, true)
	return bc, nil
}

// walkSpec is one tree to list: a directory or file of the context, with the
// COPY's --exclude patterns and --parents include pattern, both relative to
// root.
type walkSpec struct {
	root     string // slash-separated, relative to the context; "" is all
	excludes []string
	include  string
}

func (w walkSpec) filtered() bool { return len(w.excludes) > 0 || w.include != "" }

func (w walkSpec) key() string {
	return w.root + "\x00" + strings.Join(w.excludes, "\x00") + "\x00\x00" + w.include
}

// covers reports whether w lists everything o would.
func (w walkSpec) covers(o walkSpec) bool {
	if w.filtered() {
		return w.key() == o.key()
	}
	return w.root == "" || o.root == w.root || strings.HasPrefix(o.root, w.root+"/")
}

// list adds to files every file the specs select, walking each tree once.
func (bc *buildContext) list(specs []walkSpec, files map[string]struct{}) error {
	slices.SortStableFunc(specs, func(a, b walkSpec) int { return len(a.root) - len(b.root) })
	var done []walkSpec
	for _, s := range specs {
		if slices.ContainsFunc(done, func(d walkSpec) bool { return d.covers(s) }) {
			continue
		}
		done = append(done, s)
		if err := bc.walk(s, files); err != nil {
			return err
		}
	}
	return nil
}

// matchers holds the compiled --exclude and --parents patterns of a walk.
type matchers struct {
	exclude, include *matcher
	includePrefix    bool
}

func (bc *buildContext) walk(s walkSpec, files map[string]struct{}) error {
	var m matchers
	var err error
	if len(s.excludes) > 0 {
		if m.exclude, err = newMatcher(s.excludes); err != nil {
			return fmt.Errorf("invalid --exclude pattern: %w", err)
		}
	}
	if s.include != "" {
		if m.include, err = newMatcher([]string{s.include}); err != nil {
			return fmt.Errorf("invalid --parents source pattern %q: %w", s.include, err)
		}
		m.includePrefix = onlyPrefixPatterns(m.include.pm, false)
	}

	ignored, info, skip, err := bc.ignoredChain(s.root)
	if err != nil {
		return err
	}
	if skip {
		return nil
	}
	abs := filepath.Join(bc.root, filepath.FromSlash(s.root))
	fi, err := os.Stat(abs) // a source that is a symlink is followed
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", abs, err)
	}
	if fi.IsDir() && ignored && bc.canSkipIgnored(s.root) {
		return nil
	}
	if !fi.IsDir() {
		if !ignored && fi.Mode().IsRegular() {
			files[s.root] = struct{}{}
		}
		return nil
	}
	return bc.walkDir(abs, s.root, "", info, nil, nil, &m, files)
}

// walkDir lists directory abs, which is rel in the context and srcRel under
// the walk's root, carrying each matcher's result for the parent.
func (bc *buildContext) walkDir(abs, rel, srcRel string, ign, exc, inc matchInfo, m *matchers, files map[string]struct{}) error {
	entries, err := os.ReadDir(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading directory %s: %w", abs, err)
	}
	for _, e := range entries {
		name := e.Name()
		erel, esrc := joinRel(rel, name), joinRel(srcRel, name)
		isDir := e.IsDir()

		var ignored, excluded bool
		var eign, eexc, einc matchInfo
		if bc.ignore != nil {
			ignored, eign = bc.ignore.matches(erel, ign)
			if ignored && isDir && bc.canSkipIgnored(erel) {
				continue
			}
		}
		if m.exclude != nil {
			excluded, eexc = m.exclude.matches(esrc, exc)
			if excluded && isDir && !m.exclude.pm.Exclusions() {
				continue
			}
		}
		included := true
		if m.include != nil {
			included, einc = m.include.matches(esrc, inc)
			if !included && isDir && m.includePrefix && !prefixOf(m.include.pm, esrc) {
				continue
			}
		}
		if isDir {
			if err := bc.walkDir(filepath.Join(abs, name), erel, esrc, eign, eexc, einc, m, files); err != nil {
				return err
			}
			continue
		}
		if ignored || excluded || !included || !(e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) {
			continue
		}
		files[erel] = struct{}{}
	}
	return nil
}

// ignoredChain matches rel and each of its parents against the
// .dockerignore, returning whether rel is ignored, its match info for its
// children, and whether nothing under it can be in the context.
func (bc *buildContext) ignoredChain(rel string) (ignored bool, info matchInfo, skip bool, err error) {
	if bc.ignore == nil || rel == "" {
		return false, nil, false, nil
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		ignored, info = bc.ignore.matches(p, info)
		if ignored && i < len(parts)-1 && bc.canSkipIgnored(p) {
			return true, info, true, nil
		}
	}
	return ignored, info, false, nil
}

// hidden reports whether rel is not in the context at all: ignored, and if
// a directory, with no exception that could bring back anything inside.
func (bc *buildContext) hidden(rel string, isDir bool) (bool, error) {
	ignored, _, skip, err := bc.ignoredChain(rel)
	if err != nil || skip {
		return skip, err
	}
	if !ignored {
		return false, nil
	}
	return !isDir || bc.canSkipIgnored(rel), nil
}

// canSkipIgnored reports whether an ignored directory's contents are all
// ignored too, as BuildKit decides it: true unless an exception pattern
// could match inside it.
func (bc *buildContext) canSkipIgnored(dir string) bool {
	if !bc.ignore.pm.Exclusions() {
		return true
	}
	if !bc.prefixOnlyExceptions {
		return false
	}
	dirSlash := filepath.FromSlash(dir) + string(filepath.Separator)
	for _, p := range bc.ignore.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(patternWithoutTrailingGlob(p)+string(filepath.Separator), dirSlash) {
			return false
		}
	}
	return true
}

// prefixOf reports whether dir is a parent of what an include pattern names.
func prefixOf(pm *patternmatcher.PatternMatcher, dir string) bool {
	dirSlash := filepath.FromSlash(dir) + string(filepath.Separator)
	for _, p := range pm.Patterns() {
		if !p.Exclusion() && strings.HasPrefix(patternWithoutTrailingGlob(p)+string(filepath.Separator), dirSlash) {
			return true
		}
	}
	return false
}

// onlyPrefixPatterns reports whether the exception patterns (exceptions
// true) or the include patterns (false) are plain paths, so a directory
// can be skipped by comparing prefixes.
func onlyPrefixPatterns(pm *patternmatcher.PatternMatcher, exceptions bool) bool {
	chars := "*[]?^"
	if filepath.Separator != '\\' {
		chars += `\`
	}
	for _, p := range pm.Patterns() {
		if p.Exclusion() == exceptions && strings.ContainsAny(patternWithoutTrailingGlob(p), chars) {
			return false
		}
	}
	return true
}

func patternWithoutTrailingGlob(p *patternmatcher.Pattern) string {
	s := p.String()
	s = strings.TrimSuffix(s, string(filepath.Separator)+"**")
	return strings.TrimSuffix(s, string(filepath.Separator)+"*")
}

// glob resolves a source with wildcards against the context as COPY does:
// each path element is matched with path.Match, and a match that is a
// directory is copied whole. It returns the matches in the context.
func (bc *buildContext) glob(pattern string) ([]string, error) {
	segs := strings.Split(pattern, "/")
	cur := []string{""}
	for i, seg := range segs {
		last := i == len(segs)-1
		var next []string
		for _, dir := range cur {
			if !hasWildcards(seg) {
				p := joinRel(dir, unescape(seg))
				fi, err := os.Stat(filepath.Join(bc.root, filepath.FromSlash(p)))
				if err != nil || (!last && !fi.IsDir()) {
					continue
				}
				next = append(next, p)
				continue
			}
			entries, err := os.ReadDir(filepath.Join(bc.root, filepath.FromSlash(dir)))
			if err != nil {
				continue // not a directory, or gone: nothing matches here
			}
			for _, e := range entries {
				ok, err := path.Match(seg, e.Name())
				if err != nil {
					return nil, fmt.Errorf("invalid pattern %q: %w", pattern, err)
				}
				if !ok {
					continue
				}
				p := joinRel(dir, e.Name())
				isDir := e.IsDir()
				if e.Type()&fs.ModeSymlink != 0 {
					if fi, err := os.Stat(filepath.Join(bc.root, filepath.FromSlash(p))); err == nil {
						isDir = fi.IsDir()
					}
				}
				if !last && !isDir {
					continue
				}
				if h, err := bc.hidden(p, isDir); err != nil {
					return nil, err
				} else if h {
					continue
				}
				next = append(next, p)
			}
		}
		cur = next
	}
	return cur, nil
}

// ignoringPatterns names the .dockerignore patterns that match rel, for a
// message saying why a source is not in the context.
func (bc *buildContext) ignoringPatterns(rel string) []string {
	if bc.ignore == nil {
		return nil
	}
	var out []string
	for _, p := range bc.ignore.pm.Patterns() {
		if p.Exclusion() {
			continue
		}
		if ok, _ := patternmatcher.MatchesOrParentMatches(filepath.FromSlash(rel), []string{p.String()}); ok {
			out = append(out, filepath.ToSlash(p.String()))
		}
	}
	return out
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// hasWildcards reports whether s has an unescaped *, ? or [.
func hasWildcards(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[':
			return true
		case '\\':
			i++
		}
	}
	return false
}

// unescape drops the backslashes that escape wildcard characters.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// contextPath turns a source as written into a path relative to the
// context, as BuildKit does: leading slashes and ".." cannot leave it.
func contextPath(src string) string {
	return strings.TrimPrefix(path.Join("/", filepath.ToSlash(src)), "/")
}
