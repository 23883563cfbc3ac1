package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/proc"
	"skiff.dev/skiff/internal/watch"
)

// testInput is what one test depends on (Skaffold's TestDependencies): in
// dev, a change to it runs the tests of its image again, without a build.
// The dependencies are a custom test's dependencies.paths (less its
// ignore) or the paths its dependencies.command prints, or a test case's
// structureTests files.
type testInput struct {
	image string
	dir   string // absolute test context, where the command runs
	// globs are absolute doublestar patterns of dependencies.
	globs []string
	// ignored leaves files out of globs (dependencies.ignore).
	ignored func(path string, dir bool) bool
	// command prints the dependencies as a JSON list (sh -c in dir), and
	// listed are the absolute paths it printed last; a directory stands
	// for the files under it.
	command string
	listed  []string
	// where names the test in the config, for errors.
	where string
}

// newTestInputs gathers the test dependencies of the project's test
// cases, running the dependencies commands in environ.
func newTestInputs(ctx context.Context, p *config.Project, environ []string) ([]*testInput, error) {
	var out []*testInput
	for _, c := range p.Configs {
		for _, tc := range c.Test {
			if tc == nil {
				continue
			}
			dir := testDir(c, tc)
			if len(tc.StructureTests) > 0 {
				ti := &testInput{image: tc.ImageName, dir: dir}
				for _, g := range tc.StructureTests {
					// Structure test files are relative to the config's
					// directory, as structureTest reads them.
					ti.globs = append(ti.globs, filepath.ToSlash(absIn(c.Dir, g)))
				}
				out = append(out, ti)
			}
			for i, ct := range tc.CustomTests {
				d := ct.Dependencies
				if d == nil || d.Command == "" && len(d.Paths) == 0 {
					continue
				}
				ti := &testInput{image: tc.ImageName, dir: dir, command: d.Command,
					where: fmt.Sprintf("%s: test[image=%s].custom[%d].dependencies", c.Name(), tc.ImageName, i)}
				for _, g := range d.Paths {
					ti.globs = append(ti.globs, filepath.ToSlash(absIn(dir, g)))
				}
				if len(d.Ignore) > 0 {
					var err error
					if ti.ignored, err = watch.Patterns(dir, d.Ignore); err != nil {
						return nil, fmt.Errorf("%s.ignore: %w", ti.where, err)
					}
				}
				if err := ti.list(ctx, environ); err != nil {
					return nil, err
				}
				out = append(out, ti)
			}
		}
	}
	return out, nil
}

// list runs the dependencies command, if any, and keeps what it prints.
// As in Skaffold it runs with `sh -c` and must print a JSON list of
// paths; here it runs in the test's context, which relative paths are
// relative to.
func (t *testInput) list(ctx context.Context, environ []string) error {
	if t.command == "" {
		return nil
	}
	cmd := proc.Command(ctx, "sh", "-c", t.command)
	cmd.Dir = t.dir
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s.command (%s) failed in %s: %w: %s; fix the command or remove it", t.where, t.command, t.dir, err, strings.TrimSpace(stderr.String()))
	}
	var paths []string
	if err := json.Unmarshal(stdout.Bytes(), &paths); err != nil {
		return fmt.Errorf("%s.command (%s) must print a JSON list of paths, like [\"tests/\", \"go.mod\"], but printed %.200q: %w", t.where, t.command, stdout.String(), err)
	}
	t.listed = t.listed[:0]
	for _, p := range paths {
		if p != "" {
			t.listed = append(t.listed, absIn(t.dir, p))
		}
	}
	return nil
}

// owns reports whether path (absolute) is a dependency of the test; for
// a directory, whether dependencies may lie below it.
func (t *testInput) owns(path string, dir bool) bool {
	for _, l := range t.listed {
		if within(path, l) || dir && within(l, path) {
			return true
		}
	}
	if len(t.globs) == 0 || t.ignored != nil && t.ignored(path, dir) {
		return false
	}
	slashed := filepath.ToSlash(path)
	for _, g := range t.globs {
		if dir {
			base, _ := doublestar.SplitPattern(g)
			if within(path, filepath.FromSlash(base)) || within(filepath.FromSlash(base), path) {
				return true
			}
			continue
		}
		if ok, _ := doublestar.Match(g, slashed); ok {
			return true
		}
		// A pattern that names a directory stands for its files.
		if ok, _ := doublestar.Match(strings.TrimSuffix(g, "/")+"/**", slashed); ok {
			return true
		}
	}
	return false
}

// roots are the directories to watch for the test's dependencies.
func (t *testInput) roots() []string {
	var out []string
	for _, g := range t.globs {
		base, _ := doublestar.SplitPattern(g)
		if !strings.ContainsAny(g, "*?[{") {
			base = filepath.Dir(filepath.FromSlash(g))
		}
		out = append(out, filepath.FromSlash(base))
	}
	for _, l := range t.listed {
		out = append(out, l, filepath.Dir(l))
	}
	return out
}
