package deps

import (
	"path"
	"slices"
	"strings"
)

// DestFor returns where the instruction puts the build-context file rel
// (slash-separated, relative to the context) in the image, and false if it
// does not copy rel. It follows BuildKit: a directory source copies its
// contents, a glob is matched per path element, --parents keeps the path
// below the "/./" pivot, --exclude patterns apply below each source. When
// one file is copied to a destination without a trailing slash, the
// destination is the file's new name, as Skaffold assumes; the build would
// put it inside the destination if the image has a directory there. The
// .dockerignore is not consulted: see ParsedDockerfile.Destinations.
func (c *Copy) DestFor(rel string) (string, bool) {
	if !c.FromContext() || rel == "" {
		return "", false
	}
	rel = contextPath(rel)
	var excl *matcher
	if len(c.Excludes) > 0 {
		var err error
		if excl, err = newMatcher(c.Excludes); err != nil {
			return "", false
		}
	}
	excluded := func(sub string) bool {
		if excl == nil || sub == "" {
			return false
		}
		m, _ := excl.matches(sub, nil)
		return m
	}
	for _, src := range c.Sources {
		if c.Parents {
			if d, ok := c.parentsDest(src, rel, excluded); ok {
				return d, true
			}
			continue
		}
		root, ok := sourceRoot(contextPath(src), rel)
		if !ok {
			continue
		}
		sub := strings.TrimPrefix(strings.TrimPrefix(rel, root), "/")
		if excluded(sub) {
			continue
		}
		if sub == "" { // the source is the file itself
			if c.DestIsDir {
				return path.Join(c.Dest, path.Base(rel)), true
			}
			return c.Dest, true
		}
		return path.Join(c.Dest, sub), true
	}
	return "", false
}

// parentsDest maps rel for a COPY --parents source.
func (c *Copy) parentsDest(src, rel string, excluded func(string) bool) (string, bool) {
	parent, pattern, pivot := strings.Cut(src, "/./")
	if !pivot {
		parent, pattern = "", src
	}
	parent, pattern = contextPath(parent), contextPath(pattern)
	root, ok := sourceRoot(parent, rel)
	if !ok || root == rel {
		return "", false
	}
	sub := strings.TrimPrefix(strings.TrimPrefix(rel, root), "/")
	inc, err := newMatcher([]string{pattern})
	if err != nil {
		return "", false
	}
	if m, _ := inc.matches(sub, nil); !m || excluded(sub) {
		return "", false
	}
	return path.Join(c.Dest, sub), true
}

// sourceRoot returns the context path that source (a path or glob, clean,
// context-relative, "" for the whole context) matches and that is rel or a
// directory above it.
func sourceRoot(source, rel string) (string, bool) {
	if source == "" {
		return "", true
	}
	segs := strings.Split(source, "/")
	parts := strings.Split(rel, "/")
	if len(parts) < len(segs) {
		return "", false
	}
	for i, seg := range segs {
		if hasWildcards(seg) {
			if ok, _ := path.Match(seg, parts[i]); !ok {
				return "", false
			}
		} else if unescape(seg) != parts[i] {
			return "", false
		}
	}
	return strings.Join(parts[:len(segs)], "/"), true
}

// Destinations returns every path in the target's image that the build
// context file rel is copied to: by the COPY and ADD instructions of the
// target stage and of the stages it is based on (FROM stage), in order.
// Files copied into other stages reach the image only through what those
// stages build, so they have no destination here. As with DestFor, the
// .dockerignore is the caller's: a file it excludes is not in the context.
func (d *ParsedDockerfile) Destinations(rel string) []string {
	var chain []*Stage
	for s := d.Target; s != nil; s = s.BaseStage {
		chain = append(chain, s)
	}
	slices.Reverse(chain)
	var out []string
	for _, s := range chain {
		for _, c := range s.Copies {
			if dest, ok := c.DestFor(rel); ok && !slices.Contains(out, dest) {
				out = append(out, dest)
			}
		}
	}
	return out
}
