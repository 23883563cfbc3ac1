package buildpacks

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"
)

// fixedTime is the modification time of every file the platform copies
// into a container, so that the same sources give the same image.
var fixedTime = time.Date(1980, 1, 1, 0, 0, 1, 0, time.UTC)

// appTar writes the application, the context less what the project
// descriptor leaves out, as workspace/ owned by the build user uid:gid.
func appTar(tw *tar.Writer, workspace string, proj *Project, uid, gid int) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "workspace/", Mode: 0o755, Uid: uid, Gid: gid, ModTime: fixedTime}); err != nil {
		return err
	}
	err := filepath.WalkDir(workspace, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(workspace, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !proj.Selects(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return addFile(tw, p, path.Join("workspace", rel), d, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("copying the application from %s: %w", workspace, err)
	}
	return nil
}

// addFile writes one file, directory or symlink to tw as name.
func addFile(tw *tar.Writer, p, name string, d fs.DirEntry, uid, gid int) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	h := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Uid: uid, Gid: gid, ModTime: fixedTime}
	switch {
	case fi.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case fi.Mode().IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
	default:
		// Sockets, devices and pipes are not part of an application.
		return nil
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, h.Size); err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	return nil
}

// platformTar writes the platform directory: env/<NAME> holds the value
// of each build-time variable.
func platformTar(tw *tar.Writer, env map[string]string) error {
	if err := addParents(tw, "platform/env"); err != nil {
		return err
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := addBytes(tw, "platform/env/"+k, []byte(env[k]), 0o644, 0, 0); err != nil {
			return err
		}
	}
	return nil
}
