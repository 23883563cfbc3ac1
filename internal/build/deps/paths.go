package deps

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Paths lists the files under workspace that the patterns in paths select,
// less those the patterns in ignore select: the dependencies.paths and
// dependencies.ignore of a custom or buildpacks artifact.
//
// A pattern is a workspace-relative path or glob ("*", "?", "[...]" within a
// path element, "**" across elements, "{a,b}" alternatives); a directory it
// names or matches stands for every file under it. An ignore pattern that
// matches a directory drops the whole directory. A paths pattern that
// selects no file is an error, as in Skaffold.
func Paths(workspace string, paths, ignore []string) ([]string, error) {
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("finding the workspace %q: %w", workspace, err)
	}
	if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the workspace %s is not a directory: check the artifact's context", ws)
	}
	ig, err := compileGlobs(ignore)
	if err != nil {
		return nil, fmt.Errorf("dependencies.ignore: %w", err)
	}
	files := map[string]struct{}{}
	for _, p := range paths {
		pats, err := compileGlobs([]string{p})
		if err != nil {
			return nil, fmt.Errorf("dependencies.paths: %w", err)
		}
		matched := false
		for _, g := range pats {
			ok, err := g.list(ws, ig, files)
			if err != nil {
				return nil, err
			}
			matched = matched || ok
		}
		if !matched {
			return nil, fmt.Errorf("dependencies.paths pattern %q matches nothing in the workspace %s; fix the pattern or remove it", p, ws)
		}
	}
	return slices.Sorted(maps.Keys(files)), nil
}

// glob is a slash-separated pattern split into path elements.
type glob struct {
	src  string
	segs []string
}

// compileGlobs expands {a,b} alternatives and checks each pattern.
func compileGlobs(patterns []string) ([]glob, error) {
	var out []glob
	for _, p := range patterns {
		for _, e := range expandBraces(p) {
			clean := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(e)), "/")
			g := glob{src: p}
			if clean != "" {
				g.segs = strings.Split(clean, "/")
			}
			for _, s := range g.segs {
				if s == "**" {
					continue
				}
				if _, err := path.Match(s, ""); err != nil {
					return nil, fmt.Errorf("invalid pattern %q: %w", p, err)
				}
			}
			out = append(out, g)
		}
	}
	return out, nil
}

// match reports whether the slash-separated relative path rel matches.
func (g glob) match(rel string) bool {
	var parts []string
	if rel != "" {
		parts = strings.Split(rel, "/")
	}
	return matchSegs(g.segs, parts)
}

func matchSegs(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if !slices.Contains(rest, "**") {
				// The rest matches a fixed number of trailing elements.
				if len(parts) < len(rest) {
					return false
				}
				return matchSegs(rest, parts[len(parts)-len(rest):])
			}
			for i := 0; i <= len(parts); i++ {
				if matchSegs(rest, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 || (len(pat) > len(parts) && !slices.Contains(pat, "**")) {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

// ignored reports whether rel matches one of the ignore globs.
func ignoredBy(ig []glob, rel string) bool {
	for _, g := range ig {
		if g.match(rel) {
			return true
		}
	}
	return false
}

// list adds the files g selects to files and reports whether g matched
// anything at all.
func (g glob) list(ws string, ig []glob, files map[string]struct{}) (bool, error) {
	// Walk from the longest prefix without wildcards.
	var prefix []string
	for _, s := range g.segs {
		if s == "**" || hasWildcards(s) {
			break
		}
		prefix = append(prefix, unescape(s))
	}
	start := strings.Join(prefix, "/")
	abs := filepath.Join(ws, filepath.FromSlash(start))
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("reading %s: %w", abs, err)
	}
	if len(prefix) == len(g.segs) {
		// A plain path: the file, or every file under the directory.
		return true, addTree(ws, start, fi, ig, files)
	}
	if !fi.IsDir() {
		return false, nil
	}
	matched := false
	wsSep := strings.TrimSuffix(ws, string(filepath.Separator)) + string(filepath.Separator)
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := relSlash(wsSep, p)
		if p == abs {
			return nil
		}
		if ignoredBy(ig, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !g.match(rel) {
			return nil
		}
		matched = true
		if d.IsDir() {
			if err := addTree(ws, rel, nil, ig, files); err != nil {
				return err
			}
			return filepath.SkipDir
		}
		files[rel] = struct{}{}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("walking %s: %w", abs, err)
	}
	return matched, nil
}

// addTree adds rel, a file, or every file under rel, a directory, less the
// ignored ones. fi is rel's info if the caller has it.
func addTree(ws, rel string, fi fs.FileInfo, ig []glob, files map[string]struct{}) error {
	if rel != "" && ignoredBy(ig, rel) {
		return nil
	}
	abs := filepath.Join(ws, filepath.FromSlash(rel))
	if fi == nil {
		var err error
		if fi, err = os.Stat(abs); err != nil {
			return fmt.Errorf("reading %s: %w", abs, err)
		}
	}
	if !fi.IsDir() {
		files[rel] = struct{}{}
		return nil
	}
	wsSep := strings.TrimSuffix(ws, string(filepath.Separator)) + string(filepath.Separator)
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == abs {
			return nil
		}
		r := relSlash(wsSep, p)
		if ignoredBy(ig, r) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			files[r] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walking %s: %w", abs, err)
	}
	return nil
}

// relSlash is p relative to the workspace, slash-separated; wsSep is the
// workspace's path with a trailing separator.
func relSlash(wsSep, p string) string {
	if r, ok := strings.CutPrefix(p, wsSep); ok {
		return filepath.ToSlash(r)
	}
	return "" // the workspace itself
}

// expandBraces expands {a,b} alternatives, nested ones included; a brace
// escaped with a backslash, or without its closing brace, is literal.
func expandBraces(p string) []string {
	depth, open := 0, -1
	var commas []int
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				open = i
				commas = commas[:0]
			}
			depth++
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth > 0 {
				continue
			}
			if len(commas) == 0 {
				// "{x}" is literal in shells; keep it so.
				var out []string
				for _, rest := range expandBraces(p[i+1:]) {
					out = append(out, p[:i+1]+rest)
				}
				return out
			}
			var out []string
			bounds := append(append([]int{open}, commas...), i)
			for k := 0; k+1 < len(bounds); k++ {
				alt := p[bounds[k]+1 : bounds[k+1]]
				out = append(out, expandBraces(p[:open]+alt+p[i+1:])...)
			}
			return out
		}
	}
	return []string{p}
}
