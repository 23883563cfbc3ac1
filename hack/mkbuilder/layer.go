package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// epoch is the modification time of every file in the images, so that the
// same inputs give the same layers (pack uses the same date).
var epoch = time.Date(1980, 1, 1, 0, 0, 1, 0, time.UTC)

// owner is a numeric user and group for tar entries.
type owner struct{ uid, gid int }

var (
	root = owner{0, 0}
	cnb  = owner{cnbUID, cnbGID}
)

// layerWriter writes one image layer as a tar stream: entries get clean
// relative paths, the fixed epoch, numeric owners, and each path is written
// once (the first writer wins, as when packages are unpacked in order).
type layerWriter struct {
	tw   *tar.Writer
	seen map[string]byte // path -> tar type flag
}

func newLayerWriter(w io.Writer) *layerWriter {
	return &layerWriter{tw: tar.NewWriter(w), seen: map[string]byte{}}
}

// cleanPath makes p a relative tar path without a leading "./" or "/".
func cleanPath(p string) string {
	p = path.Clean("/" + p)
	return strings.TrimPrefix(p, "/")
}

// has reports whether p was written, and with which type flag.
func (l *layerWriter) has(p string) (byte, bool) {
	t, ok := l.seen[cleanPath(p)]
	return t, ok
}

// write writes hdr (with body when it is a regular file). hdr.Name may be
// any path; ModTime and ownership names are normalised unless keepTime.
func (l *layerWriter) write(hdr *tar.Header, body io.Reader, keepTime bool) error {
	name := cleanPath(hdr.Name)
	if name == "" || name == "." {
		return nil
	}
	if _, ok := l.seen[name]; ok {
		return nil
	}
	if err := l.parents(name); err != nil {
		return err
	}
	h := *hdr
	h.Name = name
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	if !keepTime {
		h.ModTime = epoch
	}
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	h.Uname, h.Gname = "", ""
	h.PAXRecords = nil
	if h.Typeflag == tar.TypeLink {
		h.Linkname = cleanPath(h.Linkname)
	}
	if h.Typeflag != tar.TypeReg {
		h.Size = 0
	}
	if err := l.tw.WriteHeader(&h); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		if _, err := io.CopyN(l.tw, body, h.Size); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	l.seen[name] = h.Typeflag
	return nil
}

// parents writes the directories above name that are not written yet, as
// root-owned 0755 directories.
func (l *layerWriter) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	if _, ok := l.seen[dir]; ok {
		return nil
	}
	return l.dir(dir, 0o755, root)
}

func (l *layerWriter) dir(p string, mode int64, o owner) error {
	return l.write(&tar.Header{Typeflag: tar.TypeDir, Name: p, Mode: mode, Uid: o.uid, Gid: o.gid}, nil, false)
}

func (l *layerWriter) file(p string, mode int64, o owner, content []byte) error {
	return l.write(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Uid: o.uid, Gid: o.gid, Size: int64(len(content))}, bytes.NewReader(content), false)
}

func (l *layerWriter) symlink(p, target string) error {
	return l.write(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777}, nil, false)
}

// hostTree copies the directory src of this machine to dst in the layer,
// owned by o. Symbolic links are kept as links; other special files are
// refused.
func (l *layerWriter) hostTree(src, dst string, o owner, mtime time.Time) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		return l.hostFile(p, path.Join(dst, filepath.ToSlash(rel)), o, mtime)
	})
}

// hostFile copies the file, directory or symbolic link src of this machine
// to dst in the layer. A zero mtime means the epoch.
func (l *layerWriter) hostFile(src, dst string, o owner, mtime time.Time) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: dst, Mode: int64(info.Mode().Perm()), Uid: o.uid, Gid: o.gid, ModTime: mtime}
	keep := !mtime.IsZero()
	switch {
	case info.IsDir():
		hdr.Typeflag = tar.TypeDir
		return l.write(hdr, nil, keep)
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return l.write(hdr, nil, keep)
	case info.Mode().IsRegular():
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		return l.write(hdr, f, keep)
	default:
		return fmt.Errorf("%s is a %s, not a file, directory or symbolic link: it cannot go into an image layer", src, info.Mode().Type())
	}
}

func (l *layerWriter) close() error { return l.tw.Close() }

// layerCache keeps compressed layers in dir, named by their diffID (the
// digest of the uncompressed tar), with their digest and size beside them.
type layerCache struct {
	dir  string
	used map[string]bool // file names of the layers this run asked for
}

// layer returns the layer that fill writes. fill runs once to learn the
// layer's diffID (the digest of the uncompressed tar, which names it in the
// cache) and, for a layer not in the cache, once more to compress it: it
// must write the same entries each time.
func (c layerCache) layer(name string, fill func(*layerWriter) error) (v1.Layer, error) {
	diffID, _, _, err := writeLayer(io.Discard, fill)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", name, err)
	}
	gz := filepath.Join(c.dir, diffID.Hex+".tar.gz")
	c.used[filepath.Base(gz)], c.used[filepath.Base(gz)+".digest"] = true, true
	digest, size, err := readDigestFile(gz + ".digest")
	if err == nil {
		return &cachedLayer{path: gz, diffID: diffID, digest: digest, size: size}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(c.dir, name+".*.tmp")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	defer f.Close()
	again, digest, size, err := writeLayer(f, fill)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", name, err)
	}
	if again != diffID {
		return nil, fmt.Errorf("layer %s: its inputs changed while it was written (diffID %s, then %s): run make builder again", name, diffID, again)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, gz); err != nil {
		return nil, err
	}
	if err := os.WriteFile(gz+".digest", fmt.Appendf(nil, "%s %d\n", digest, size), 0o644); err != nil {
		return nil, err
	}
	return &cachedLayer{path: gz, diffID: diffID, digest: digest, size: size}, nil
}

// prune removes the cached layers this run did not ask for: those of
// earlier inputs, which would otherwise pile up.
func (c layerCache) prune() error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !c.used[e.Name()] {
			if err := os.Remove(filepath.Join(c.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeLayer writes the layer that fill makes to w, gzip-compressed unless
// w is io.Discard, and returns its diffID and compressed digest and size.
func writeLayer(w io.Writer, fill func(*layerWriter) error) (diffID, digest v1.Hash, size int64, err error) {
	diff := sha256.New()
	var zw *gzip.Writer
	sum, counter := sha256.New(), &countWriter{}
	tarOut := io.Writer(diff)
	if w != io.Discard {
		zw, err = gzip.NewWriterLevel(io.MultiWriter(w, sum, counter), gzip.BestSpeed)
		if err != nil {
			return diffID, digest, 0, err
		}
		tarOut = io.MultiWriter(diff, zw)
	}
	lw := newLayerWriter(tarOut)
	if err := fill(lw); err != nil {
		return diffID, digest, 0, err
	}
	if err := lw.close(); err != nil {
		return diffID, digest, 0, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return diffID, digest, 0, err
		}
	}
	diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))}
	digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum.Sum(nil))}
	return diffID, digest, counter.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func readDigestFile(p string) (v1.Hash, int64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	var s string
	var size int64
	if _, err := fmt.Sscanf(string(b), "%s %d", &s, &size); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("%s is damaged (%v): remove it", p, err)
	}
	h, err := v1.NewHash(s)
	return h, size, err
}

// cachedLayer is a gzip-compressed layer file whose digests are known, so
// that assembling an image from cached layers reads none of them.
type cachedLayer struct {
	path           string
	diffID, digest v1.Hash
	size           int64
}

func (l *cachedLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *cachedLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *cachedLayer) Size() (int64, error)                { return l.size, nil }
func (l *cachedLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *cachedLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{zr, f}, nil
}

type readCloser struct {
	io.Reader
	f *os.File
}

func (r readCloser) Close() error { return r.f.Close() }
