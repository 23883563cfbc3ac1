package deps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/proc"
)

// Command runs command in workspace and returns the dependencies it prints:
// a JSON list of paths, relative to workspace or absolute (a custom
// artifact's dependencies.command). As in Skaffold the command is split on
// spaces and run without a shell ("sh -c '...'" gives one), with environ
// (KEY=value entries, the environment skiff was started in) as its whole
// environment. A listed directory stands for every file
// under it; a listed path that does not exist is kept, so that creating it
// is noticed. Paths inside the workspace come back workspace-relative, the
// others absolute.
func Command(ctx context.Context, workspace, command string, environ []string) ([]string, error) {
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("finding the workspace %q: %w", workspace, err)
	}
	args := strings.Fields(command)
	if len(args) == 0 {
		return nil, errors.New("dependencies.command is empty: give a command that prints a JSON list of paths")
	}
	cmd := proc.Command(ctx, args[0], args[1:]...)
	cmd.Dir = ws
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "(no output on stderr)"
		}
		return nil, fmt.Errorf("running the dependencies command %q in %s: %w\n%s", command, ws, err, msg)
	}
	var listed []string
	if err := json.Unmarshal(stdout.Bytes(), &listed); err != nil {
		return nil, fmt.Errorf("the dependencies command %q must print a JSON list of paths, like [\"main.go\", \"static/\"], but printed %q: %w", command, abbreviate(stdout.String(), 200), err)
	}
	files := map[string]struct{}{}
	for _, p := range listed {
		if p == "" {
			continue
		}
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(ws, p)
		}
		fi, err := os.Stat(abs)
		if err == nil && fi.IsDir() {
			if err := addDir(ws, abs, files); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s, listed by the dependencies command %q: %w", abs, command, err)
		}
		files[displayPath(ws, abs)] = struct{}{}
	}
	return slices.Sorted(maps.Keys(files)), nil
}

// addDir adds every file under the directory abs.
func addDir(ws, abs string, files map[string]struct{}) error {
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files[displayPath(ws, p)] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walking %s: %w", abs, err)
	}
	return nil
}

// displayPath is abs relative to ws when it is inside, else abs, with
// slashes.
func displayPath(ws, abs string) string {
	if rel, err := filepath.Rel(ws, abs); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(filepath.Clean(abs))
}

func abbreviate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
