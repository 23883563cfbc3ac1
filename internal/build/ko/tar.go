package ko

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"
)

const (
	// appDir is where the binary goes in the image, as in ko.
	appDir = "/ko-app"
	// kodataRoot is where the main package's kodata/ directory goes, and
	// the value of KO_DATA_PATH, as in ko.
	kodataRoot = "/var/run/ko"
	// readOnlyExec is the mode ko gives the binary, the files of kodata/
	// and the directories holding them: readable and executable by all,
	// independent of the host's umask.
	readOnlyExec = 0o555
)

// epoch is the timestamp of every entry unless the user asks for another
// (KO_DATA_DATE_EPOCH for kodata): fixed times make the same input give
// the same layer digest.
var epoch = time.Unix(0, 0).UTC()

// binaryTar writes to w a tar stream holding the executable file bin at
// /ko-app/<name>, copied from the file, never whole in memory.
func binaryTar(w io.Writer, name, bin string) error {
	f, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("reading the go build output: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the go build output: %w", err)
	}
	tw := tar.NewWriter(w)
	if err := writeDir(tw, appDir[1:], readOnlyExec, epoch); err != nil {
		return err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     path.Join(appDir[1:], name),
		Size:     fi.Size(),
		Mode:     readOnlyExec,
		ModTime:  epoch,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("reading the go build output %s: %w", bin, err)
	}
	return tw.Close()
}

// kodataTar writes to w a tar stream holding the files under dir at
// /var/run/ko, in lexical order, with symbolic links followed as ko
// follows them. A missing dir gives a layer with the empty /var/run/ko, as
// in ko, so KO_DATA_PATH always names a directory.
func kodataTar(w io.Writer, dir string, mtime time.Time) error {
	tw := tar.NewWriter(w)
	// /var and /var/run keep the usual mode: this layer must not make a
	// base image's directories read-only.
	if err := writeDir(tw, "var", 0o755, mtime); err != nil {
		return err
	}
	if err := writeDir(tw, "var/run", 0o755, mtime); err != nil {
		return err
	}
	if err := writeDir(tw, kodataRoot[1:], readOnlyExec, mtime); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading the kodata directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory: kodata next to the main package must be a directory of files to put in the image", dir)
	default:
		kw := kodataWalker{tw: tw, mtime: mtime, visiting: map[string]bool{}}
		if err := kw.walk(dir, kodataRoot[1:]); err != nil {
			return err
		}
	}
	return tw.Close()
}

type kodataWalker struct {
	tw    *tar.Writer
	mtime time.Time
	// visiting are the real paths of the directories being walked, to
	// stop at a symbolic link that loops back to one of them.
	visiting map[string]bool
}

func (w *kodataWalker) walk(dir, name string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("reading %s in kodata: %w", dir, err)
	}
	if w.visiting[real] {
		return fmt.Errorf("%s in kodata is a symbolic link to a directory that contains it: remove the loop", dir)
	}
	w.visiting[real] = true
	defer delete(w.visiting, real)

	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s in kodata: %w", dir, err)
	}
	for _, e := range entries {
		src := filepath.Join(dir, e.Name())
		dst := path.Join(name, e.Name())
		fi, err := os.Stat(src) // follows symbolic links
		if err != nil {
			return fmt.Errorf("reading %s in kodata: %w", src, err)
		}
		switch {
		case fi.IsDir():
			if err := writeDir(w.tw, dst, readOnlyExec, w.mtime); err != nil {
				return err
			}
			if err := w.walk(src, dst); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := w.file(src, dst, fi.Size()); err != nil {
				return err
			}
		default:
			// Sockets, devices and pipes have no content to copy.
		}
	}
	return nil
}

func (w *kodataWalker) file(src, dst string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("reading %s in kodata: %w", src, err)
	}
	defer f.Close()
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     dst,
		Size:     size,
		Mode:     readOnlyExec,
		ModTime:  w.mtime,
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if n, err := io.Copy(w.tw, f); err != nil {
		return fmt.Errorf("reading %s in kodata: %w", src, err)
	} else if n != size {
		return fmt.Errorf("reading %s in kodata: it changed size while being read; build again", src)
	}
	return nil
}

func writeDir(tw *tar.Writer, name string, mode int64, mtime time.Time) error {
	return tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir,
		Name:     name + "/",
		Mode:     mode,
		ModTime:  mtime,
	})
}
