package support

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Install copies the tree src into dest (created if missing): directories,
// regular files with their modes, and symbolic links that stay inside the
// tree. An earlier copy is replaced file by file, through a temporary
// file and a rename, so a container that restarts finds whole files.
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
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
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
			if err := copyFile(p, to, info.Mode().Perm()); err != nil {
				return fmt.Errorf("install %s: %w", to, err)
			}
		default:
			return fmt.Errorf("install: %s is not a file, directory or link", p)
		}
		return nil
	})
}

// copyFile copies src to dest with mode perm through a temporary file.
func copyFile(src, dest string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}
