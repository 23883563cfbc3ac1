package support

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"skiff.dev/skiff/internal/sync/agent"
)

// Install copies the tree src into dest (created if missing): directories,
// regular files (mode 0755, so any user of the app containers can run the
// programs among them), and symbolic links that stay inside the tree. An
// earlier copy is replaced file by file, through skiff-agent's install (a
// temporary file and a rename), so a container that restarts finds whole
// files.
func Install(src, dest string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		to := filepath.Join(dest, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(to, 0o755); err != nil {
				return fmt.Errorf("install: %w", err)
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("install: %w", err)
			}
			if filepath.IsAbs(target) || strings.HasPrefix(filepath.Clean(filepath.Join(filepath.Dir(rel), target)), "..") {
				return fmt.Errorf("install: %s links to %s, outside the support files", p, target)
			}
			_ = os.Remove(to)
			if err := os.Symlink(target, to); err != nil {
				return fmt.Errorf("install: %w", err)
			}
		case d.Type().IsRegular():
			if err := agent.Install(p, to); err != nil {
				return err
			}
		default:
			return fmt.Errorf("install: %s is not a file, directory or link", p)
		}
		return nil
	})
}
