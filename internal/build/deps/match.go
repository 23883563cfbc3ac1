package deps

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
)

// matcher is patternmatcher.PatternMatcher's MatchesUsingParentResults with
// a cheap test in front of each pattern: the literal text a pattern starts
// and ends with must start and end the path, so most paths never reach the
// pattern's regular expression. Results are the same as patternmatcher's.
type matcher struct {
	pm       *patternmatcher.PatternMatcher
	patterns []matcherPattern
}

type matcherPattern struct {
	exclusion bool
	// single matches the pattern alone, without its "!".
	single         *patternmatcher.PatternMatcher
	prefix, suffix string
}

// matchInfo is what matching a directory tells about its children: which
// patterns matched it or one of its parents.
type matchInfo []bool

func newMatcher(patterns []string) (*matcher, error) {
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, err
	}
	m := &matcher{pm: pm}
	for _, p := range pm.Patterns() {
		s := p.String()
		if strings.HasPrefix(s, "!") {
			s = `\` + s // a literal "!" left after the exclusion's
		}
		single, err := patternmatcher.New([]string{s})
		if err != nil {
			return nil, err
		}
		mp := matcherPattern{exclusion: p.Exclusion(), single: single}
		mp.prefix, mp.suffix = literalEnds(s)
		m.patterns = append(m.patterns, mp)
	}
	return m, nil
}

// literalEnds returns the literal text a cleaned pattern starts and ends
// with, up to its first and from its last wildcard; "" when the pattern
// has escapes or character classes, which are left to the regexp.
func literalEnds(p string) (prefix, suffix string) {
	if strings.ContainsAny(p, `\[]`) {
		return "", ""
	}
	first := strings.IndexAny(p, "*?")
	if first < 0 {
		return "", "" // exact: patternmatcher compares strings already
	}
	last := strings.LastIndexAny(p, "*?")
	prefix, suffix = p[:first], p[last+1:]
	if strings.HasSuffix(p[:last+1], "**") && suffix != "" && suffix[0] == os.PathSeparator {
		// "**/b" also matches "b": the separator is optional.
		suffix = suffix[1:]
	}
	return prefix, suffix
}

// matches reports whether file (slash-separated) matches, given the
// parent's info, and returns file's info for its children.
func (m *matcher) matches(file string, parent matchInfo) (bool, matchInfo) {
	file = filepath.FromSlash(file)
	info := make(matchInfo, len(m.patterns))
	matched := false
	for i, p := range m.patterns {
		match := len(parent) != 0 && parent[i]
		if !match {
			if p.exclusion != matched {
				continue
			}
			match = p.match(file)
			if !match && len(parent) == 0 {
				// No information about the parents: check them, as
				// patternmatcher does.
				if dir := filepath.Dir(file); dir != "." {
					parts := strings.Split(dir, string(os.PathSeparator))
					for j := range parts {
						if p.match(strings.Join(parts[:j+1], string(os.PathSeparator))) {
							match = true
							break
						}
					}
				}
			}
		}
		info[i] = match
		if match {
			matched = !p.exclusion
		}
	}
	return matched, info
}

func (p *matcherPattern) match(file string) bool {
	if !strings.HasPrefix(file, p.prefix) || !strings.HasSuffix(file, p.suffix) {
		return false
	}
	// With one pattern, no exclusion and no parent match this is the
	// pattern's own match, which patternmatcher exports no other way.
	ok, _ := p.single.MatchesUsingParentResult(file, false) //nolint:staticcheck // see above
	return ok
}
