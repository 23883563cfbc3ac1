package deps

import (
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
)

// TestMatcherAgreesWithPatternmatcher checks that the prefilters in front of
// patternmatcher change no result.
func TestMatcherAgreesWithPatternmatcher(t *testing.T) {
	t.Parallel()
	patternSets := [][]string{
		{"**/*.log", "build/", "docs", "!docs/keep.md", "node_modules", "secret*", "!secret-public.txt"},
		{"*", "!src", "src/**/*_test.go", "!src/**/testdata/**"},
		{"**/node_modules/**", "a/*/c", "a/**/d", "?x", "x?y/*.go", "**", "!**/*.go"},
		{"**/b", "b/**", "*.tmp", "!keep.tmp", "[ab]*/*.txt", `\*.md`, "!!bang", ".git"},
		{"dir/*.md", "dir/**/deep.md", "**/dir", "!dir/x/**"},
	}
	paths := []string{
		"a", "a/b", "a/b/c", "a/b/c/d", "a/x/c", "b", "b/b", "x", "ax", "xay/f.go", "xy/f.go",
		"app.log", "sub/deep/trace.log", "sub/code.go", "build", "build/out.bin", "docs", "docs/keep.md",
		"docs/drop.md", "node_modules", "node_modules/x/index.js", "q/node_modules/z", "secret.key",
		"secret-public.txt", "src", "src/a_test.go", "src/testdata/a_test.go", "src/main.go",
		"keep.tmp", "drop.tmp", "a/f.txt", "c/f.txt", "*.md", "x.md", "!bang", "bang", ".git", ".git/HEAD",
		"dir", "dir/a.md", "dir/x", "dir/x/deep.md", "dir/y/deep.md", "z/dir", "z/dir/q",
	}
	for _, patterns := range patternSets {
		pm, err := patternmatcher.New(patterns)
		if err != nil {
			t.Fatal(err)
		}
		m, err := newMatcher(patterns)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			want, err := pm.MatchesOrParentMatches(p)
			if err != nil {
				t.Fatal(err)
			}
			// Without parent information.
			if got, _ := m.matches(p, nil); got != want {
				t.Errorf("patterns %q, %q: matches = %v, patternmatcher says %v", patterns, p, got, want)
			}
			// Walking down from the top, as the walker does.
			parts := strings.Split(p, "/")
			var info matchInfo
			var pinfo patternmatcher.MatchInfo
			var got, pgot bool
			for i := range parts {
				sub := strings.Join(parts[:i+1], "/")
				got, info = m.matches(sub, info)
				pgot, pinfo, _ = pm.MatchesUsingParentResults(sub, pinfo)
			}
			if got != pgot {
				t.Errorf("patterns %q, %q walked down: matches = %v, patternmatcher says %v", patterns, p, got, pgot)
			}
		}
	}
}

func TestLiteralEnds(t *testing.T) {
	t.Parallel()
	tests := []struct{ pattern, prefix, suffix string }{
		{"**/*.log", "", ".log"},
		{"*.tmp", "", ".tmp"},
		{"a/**/d", "a/", "d"},
		{"a/*/c", "a/", "/c"},
		{"src/**", "src/", ""},
		{"exact/path", "", ""},
		{"[ab]*.txt", "", ""},
		{`\*.md`, "", ""},
	}
	for _, tt := range tests {
		p, s := literalEnds(tt.pattern)
		if p != tt.prefix || s != tt.suffix {
			t.Errorf("literalEnds(%q) = %q, %q; want %q, %q", tt.pattern, p, s, tt.prefix, tt.suffix)
		}
	}
}
