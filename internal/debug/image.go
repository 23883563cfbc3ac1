package debug

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/image"
)

// The support files next to the skiff executable, as `make build` writes
// them: SupportDirName/SupportProgram, SupportDirName/go/bin/dlv and
// SupportDirName/python/lib (debugpy from Debian's packages).
const (
	// SupportDirName is the support files' directory, next to skiff.
	SupportDirName = "debug"
	// SupportProgram is the program the support images run (see
	// cmd/skiff-debug-support): the copier, the node wrapper and the
	// python launcher.
	SupportProgram = "skiff-debug-support"
	// EnvSupportDir is the environment variable that names another
	// support directory; the CLI reads it and passes it to FindSupportDir.
	EnvSupportDir = "SKIFF_DEBUG_SUPPORT"
)

// supportUID is the support images' user, distroless's nonroot: the init
// container copies as it into the emptyDir (mode 0777).
const supportUID = 65532

// epoch dates the support images' files and configs, so that the same
// files give the same digest.
var epoch = time.Unix(0, 0).UTC()

// FindSupportDir returns the support files' directory: override when it
// is not empty (the value of $SKIFF_DEBUG_SUPPORT), else SupportDirName
// next to the executable self (the running skiff), where `make build`
// puts it. The error says how to get the files.
func FindSupportDir(self, override string) (string, error) {
	dir := override
	if dir == "" {
		dir = filepath.Join(filepath.Dir(self), SupportDirName)
	}
	if _, err := os.Stat(filepath.Join(dir, SupportProgram)); err != nil {
		return "", fmt.Errorf("no debug support files at %s (%v): skiff debug delivers them into pods; build them with `make build` (it writes bin/debug next to bin/skiff), set %s to their directory, or set debug-helpers-registry to a registry of prebuilt support images", dir, fsutil.PathErr(err), EnvSupportDir)
	}
	return dir, nil
}

// SupportRepo is the repository name of rt's support image, such as
// "skiff-debug-go", to push next to the user's images or load into the
// local daemon.
func SupportRepo(rt Runtime) string { return "skiff-debug-" + string(rt) }

// SupportImage packs rt's support image from the support directory dir:
// one layer holding /skiff-debug-support and the files the init container
// copies into /dbg (go: /dbg/go/bin/dlv; nodejs: the /dbg/nodejs/bin/node
// wrapper; python: /dbg/python/launcher and /dbg/python/lib), for linux
// on the support program's architecture. Its entrypoint is the copy, so
// the init container needs no command, as with Skaffold's images. The
// image is deterministic: the same files give the same digest.
func SupportImage(dir string, rt Runtime) (v1.Image, error) {
	prog := filepath.Join(dir, SupportProgram)
	progData, err := os.ReadFile(prog)
	if err != nil {
		return nil, fmt.Errorf("packing the %s debug support image: %w; build the support files with `make build`", rt, err)
	}
	arch, err := image.StaticBinaryArch(prog, bytes.NewReader(progData), "./cmd/skiff-debug-support")
	if err != nil {
		return nil, fmt.Errorf("packing the %s debug support image: %w", rt, err)
	}
	l := &layer{}
	l.dir("files/")
	l.file("/"+SupportProgram, progData, 0o755)
	switch rt {
	case Go:
		err = l.tree(filepath.Join(dir, "go"), "files/go/")
	case NodeJS:
		l.dir("files/nodejs/", "files/nodejs/bin/")
		l.link("files/nodejs/bin/node", SupportProgram)
	case Python:
		l.dir("files/python/")
		l.link("files/python/launcher", SupportProgram)
		err = l.tree(filepath.Join(dir, "python", "lib"), "files/python/lib/")
	default:
		return nil, fmt.Errorf("runtime %s has no debug support image", rt)
	}
	if err != nil {
		return nil, fmt.Errorf("packing the %s debug support image: %w; build the support files with `make build`", rt, err)
	}
	if err := l.tw().Close(); err != nil {
		return nil, err
	}
	img, err := image.SingleLayer(l.buf.Bytes(), v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "skiff: " + string(rt) + " debug support files"}, func(cf *v1.ConfigFile) {
		cf.OS = "linux"
		cf.Architecture = arch
		cf.Config.Entrypoint = []string{"/" + SupportProgram, "install", "/files", SupportMountPath}
		cf.Config.User = fmt.Sprintf("%d:%d", supportUID, supportUID)
	})
	if err != nil {
		return nil, fmt.Errorf("packing the %s debug support image: %w", rt, err)
	}
	return img, nil
}

// layer writes a deterministic tar; the first error sticks.
type layer struct {
	buf bytes.Buffer
	w   *tar.Writer
	err error
}

func (l *layer) tw() *tar.Writer {
	if l.w == nil {
		l.w = tar.NewWriter(&l.buf)
	}
	return l.w
}

func (l *layer) header(h *tar.Header) {
	if l.err == nil {
		h.ModTime, h.Format = epoch, tar.FormatPAX
		if h.Name[0] == '/' {
			h.Name = h.Name[1:]
		}
		l.err = l.tw().WriteHeader(h)
	}
}

func (l *layer) dir(names ...string) {
	for _, n := range names {
		l.header(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755})
	}
}

func (l *layer) file(name string, data []byte, mode int64) {
	l.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
	if l.err == nil {
		_, l.err = l.tw().Write(data)
	}
}

// link adds name as a hard link to target, another entry of the layer,
// an executable: Docker applies a link's mode to the file it links to.
func (l *layer) link(name, target string) {
	l.header(&tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o755})
}

// tree adds the directory src under prefix, in name order: directories,
// regular files with their executable bits, and relative links.
func (l *layer) tree(src, prefix string) error {
	var entries []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		entries = append(entries, p)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(entries)
	for _, p := range entries {
		rel, _ := filepath.Rel(src, p)
		name := path.Join(prefix, filepath.ToSlash(rel))
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			l.dir(name + "/")
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			l.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			mode := int64(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			l.file(name, data, mode)
		}
	}
	return l.err
}

// ConfigOf is what Transform needs of a built image's configuration, for
// the caller that read the image back (from the registry or the daemon).
func ConfigOf(c v1.Config) ImageConfig {
	return ImageConfig{Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd, WorkingDir: c.WorkingDir, Labels: c.Labels}
}
