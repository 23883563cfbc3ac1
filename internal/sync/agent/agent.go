// Package agent is skiff-agent's logic: it applies a stream of
// agentproto operations to a container's file system, allowing only paths
// under the destinations it is given, and supervises a development
// container's app (Supervisor, skiff-agent run) so that a hot swap can
// restart it. It uses only the standard library.
package agent

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/sync/agentproto"
)

const usage = `usage: skiff-agent apply [--root DIR] --allow DEST [--allow DEST...]
       skiff-agent run [--control SOCKET] -- PROGRAM [ARG...]
       skiff-agent install DEST
       skiff-agent version

apply reads file operations (skiff's agent protocol) on stdin, applies them
to paths under the --allow destinations (and those the stream allows) and
writes one result per operation on stdout, until stdin ends. install copies skiff-agent itself to DEST (mode 0755), as the
init container skiff injects in dev mode does. run runs PROGRAM as its
child in a development container: it forwards signals, ends with the
child's exit code, and restarts the child (from another executable, for a
hot swap) when asked through SOCKET (default ` + agentproto.ControlSocket + `).`

// Run is skiff-agent's command line: it returns the exit code, 0 when every
// operation succeeded, 1 when one failed or the stream broke, 2 for a usage
// error.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintf(stdout, "skiff-agent protocol %d\n", agentproto.Version)
		return 0
	}
	if len(args) > 0 && args[0] == "install" {
		if len(args) != 2 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		self, err := os.Executable()
		if err == nil {
			err = Install(self, args[1])
		}
		if err != nil {
			fmt.Fprintln(stderr, "skiff-agent:", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == "run" {
		return runSupervised(args[1:], stdin, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "apply" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fl := flag.NewFlagSet("apply", flag.ContinueOnError)
	fl.SetOutput(stderr)
	root := fl.String("root", "/", "the directory the container paths are under")
	var allow []string
	fl.Func("allow", "a container directory or file operations may touch (repeatable)", func(s string) error {
		allow = append(allow, s)
		return nil
	})
	if err := fl.Parse(args[1:]); err != nil {
		return 2
	}
	a, err := New(*root, allow)
	if err != nil {
		fmt.Fprintln(stderr, "skiff-agent:", err)
		return 2
	}
	defer a.Close()
	if err := a.Serve(stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "skiff-agent:", err)
		return 1
	}
	if a.failed {
		return 1
	}
	return 0
}

// Applier applies operations under a set of allowed destinations.
type Applier struct {
	root   string              // host directory the container paths are under
	allow  []string            // clean absolute container paths
	opened map[string]*os.Root // by allowed destination
	seq    int
	failed bool
	// patched are the files the Applier made by a patch, by container
	// path, with their SHA-256: the base of the next patch there is not
	// hashed again while it is still that file.
	patched map[string]patchedFile
}

// patchedFile is a file a patch made.
type patchedFile struct {
	sum [sha256.Size]byte
	fi  fs.FileInfo
}

// New returns an Applier for container paths under the host directory root
// ("/" in a container) that touches only the allow destinations (absolute
// container paths, directories or single files) and what is below them.
func New(root string, allow []string) (*Applier, error) {
	if len(allow) == 0 {
		return nil, errors.New("no --allow destination: nothing may be written")
	}
	a := &Applier{root: root, opened: map[string]*os.Root{}, patched: map[string]patchedFile{}}
	for _, d := range allow {
		c, err := cleanPath(d)
		if err != nil {
			return nil, fmt.Errorf("--allow %q: %w", d, err)
		}
		a.allow = append(a.allow, c)
	}
	return a, nil
}

// Allow adds the destination d (an absolute container path) to those
// operations may touch, for a KindAllow frame.
func (a *Applier) Allow(d string) error {
	c, err := cleanPath(d)
	if err != nil {
		return fmt.Errorf("allow %q: %w", d, err)
	}
	if !slices.Contains(a.allow, c) {
		a.allow = append(a.allow, c)
	}
	return nil
}

// Close releases the directories the Applier opened.
func (a *Applier) Close() {
	for d, r := range a.opened {
		r.Close()
		delete(a.opened, d)
	}
}

// Serve applies the operations read from r and writes their results to w,
// until r ends. A failed operation is reported and the next one applied; a
// broken stream (one that ends inside a frame, e.g. inside a file's
// content) is reported as a KindFailed frame with no path and returned.
func (a *Applier) Serve(r io.Reader, w io.Writer) error {
	dec, enc := agentproto.NewDecoder(r), agentproto.NewEncoder(w)
	for {
		f, payload, err := dec.Next()
		if err == io.EOF {
			return enc.Flush()
		}
		if err != nil {
			a.failed = true
			msg := err.Error()
			if err == agentproto.ErrTruncated {
				msg = "the operation stream ended early; files being written were left as they were"
			}
			_ = enc.Encode(agentproto.Frame{Kind: agentproto.KindFailed, Size: int64(len(msg))}, strings.NewReader(msg))
			_ = enc.Flush()
			return errors.New(msg)
		}
		if f.Kind == agentproto.KindEnd {
			if err := enc.Encode(f, nil); err != nil {
				return err
			}
			continue
		}
		res := agentproto.Frame{Kind: agentproto.KindOK, Path: f.Path}
		var msg string
		apply := a.Apply
		switch f.Kind {
		case agentproto.KindAllow:
			apply = func(f agentproto.Frame, _ io.Reader) error { return a.Allow(f.Path) }
		case agentproto.KindRestart:
			apply = func(f agentproto.Frame, _ io.Reader) error { return a.restart(f.Path) }
		}
		if err := apply(f, payload); err != nil {
			if errors.Is(err, agentproto.ErrTruncated) {
				msg = fmt.Sprintf("%s %s: the stream ended inside the file; the old file is intact", f.Kind, f.Path)
				a.failed = true
				_ = enc.Encode(agentproto.Frame{Kind: agentproto.KindFailed, Path: f.Path, Size: int64(len(msg))}, strings.NewReader(msg))
				_ = enc.Flush()
				return errors.New(msg)
			}
			a.failed = true
			msg = err.Error()
			res = agentproto.Frame{Kind: agentproto.KindFailed, Path: f.Path, Size: int64(len(msg))}
		}
		if err := enc.Encode(res, strings.NewReader(msg)); err != nil {
			return err
		}
	}
}

// restart asks the container's supervisor to restart its process from
// binary ("" for its own program): binary must be in an allowed
// destination. Both are container paths, under the Applier's root.
func (a *Applier) restart(binary string) error {
	if binary != "" {
		p, err := cleanPath(binary)
		if err != nil {
			return fmt.Errorf("restart from %q: %w", binary, err)
		}
		if a.destFor(p) == "" {
			return fmt.Errorf("restart from %s: refused: the executable is outside the allowed destinations %s", p, strings.Join(a.allow, ", "))
		}
		binary = a.host(p)
	}
	return Restart(a.host(agentproto.ControlSocket), binary)
}

// Apply performs one operation; payload is a KindWrite's content.
func (a *Applier) Apply(f agentproto.Frame, payload io.Reader) error {
	p, err := cleanPath(f.Path)
	if err != nil {
		return fmt.Errorf("%s %q: %w", f.Kind, f.Path, err)
	}
	dest := a.destFor(p)
	if dest == "" {
		return fmt.Errorf("%s %s: refused: the path is outside the allowed destinations %s", f.Kind, p, strings.Join(a.allow, ", "))
	}
	rel := "."
	if p != dest {
		rel = strings.TrimPrefix(strings.TrimPrefix(p, dest), "/")
	}
	switch f.Kind {
	case agentproto.KindWrite, agentproto.KindPatch, agentproto.KindMkdir, agentproto.KindChmod, agentproto.KindLink:
	case agentproto.KindDelete:
		if rel == "." {
			return fmt.Errorf("delete %s: refused: it is the allowed destination %s itself; a deletion must be strictly inside a destination, never the destination nor /", p, dest)
		}
	default:
		return fmt.Errorf("unknown operation %s on %s: update skiff-agent", f.Kind, p)
	}
	// A file destination is opened through its directory.
	base := dest
	if rel == "." {
		base, rel = path.Dir(dest), path.Base(dest)
		if dest == "/" {
			return fmt.Errorf("%s /: refused", f.Kind)
		}
	}
	r, err := a.open(base, f.Kind != agentproto.KindChmod)
	if err != nil {
		return fmt.Errorf("%s %s: %w", f.Kind, p, err)
	}
	mode := f.Mode.Perm() // never setuid, setgid nor sticky
	switch f.Kind {
	case agentproto.KindWrite:
		err = a.write(r, rel, mode, func(f *os.File) error {
			_, err := io.Copy(f, payload)
			return err
		})
	case agentproto.KindPatch:
		err = a.patch(r, p, rel, mode, payload)
	case agentproto.KindLink:
		err = a.symlink(r, p, dest, rel, payload)
	case agentproto.KindMkdir:
		if err = r.MkdirAll(rel, mode); err == nil {
			err = r.Chmod(rel, mode)
		}
	case agentproto.KindChmod:
		err = r.Chmod(rel, mode)
	case agentproto.KindDelete:
		err = r.RemoveAll(rel)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", f.Kind, p, unwrapPath(err))
	}
	return nil
}

// write writes a temporary file next to rel with fill and renames it over
// rel, so readers see the old file or the new one, never a part. A fill
// that fails leaves rel as it was.
func (a *Applier) write(r *os.Root, rel string, mode fs.FileMode, fill func(*os.File) error) error {
	dir := path.Dir(rel)
	if dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := a.tempName(dir)
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Chmod(mode) // not subject to the umask, unlike OpenFile's mode
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(tmp, rel)
	}
	if err != nil {
		_ = r.Remove(tmp)
	}
	return err
}

// patch makes the file rel in r (the container path p) as the patch
// payload makes it from the file there (agentproto.PatchReader), checking
// first that the file there is the patch's base and then that the result
// has the patch's SHA-256; either mismatch fails the operation, the file
// left as it was, and skiff sends the file whole.
func (a *Applier) patch(r *os.Root, p, rel string, mode fs.FileMode, payload io.Reader) error {
	pr, err := agentproto.NewPatchReader(payload)
	if err != nil {
		return err
	}
	h := pr.Header()
	base, err := r.Open(rel)
	if err != nil {
		return fmt.Errorf("no file to patch (%v)", unwrapPath(err))
	}
	defer base.Close()
	fi, err := base.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("the file to patch is a %s, not a regular file", fi.Mode().Type())
	}
	// The base is read whole: the patch copies from all over it.
	content := make([]byte, fi.Size())
	if _, err := io.ReadFull(base, content); err != nil {
		return fmt.Errorf("reading the file to patch: %v", unwrapPath(err))
	}
	sum := a.sumOf(p, content, fi)
	if sum != h.Base {
		return fmt.Errorf("the file there is not the patch's base (SHA-256 %x, the patch applies to %x): it changed since skiff wrote it", sum[:8], h.Base[:8])
	}
	delete(a.patched, p)
	made := sha256.New()
	err = a.write(r, rel, mode, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := pr.Apply(io.MultiWriter(bw, made), content); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if got := made.Sum(nil); !bytes.Equal(got, h.Result[:]) {
			return fmt.Errorf("the patched file's SHA-256 is %x, not %x as skiff's file", got[:8], h.Result[:8])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if nfi, err := r.Stat(rel); err == nil {
		a.patched[p] = patchedFile{sum: h.Result, fi: nfi}
	}
	return nil
}

// sumOf returns the SHA-256 of the file at the container path p, whose
// information is fi and content content: the one recorded when a patch
// made it, if it is still that file, or else its content's.
func (a *Applier) sumOf(p string, content []byte, fi fs.FileInfo) [sha256.Size]byte {
	if pf, ok := a.patched[p]; ok && fsutil.Unchanged(pf.fi, fi) {
		return pf.sum
	}
	return sha256.Sum256(content)
}

// tempName returns a new temporary name in dir, short whatever the name
// of the file it stands for, so that names up to the file system's limit
// (255 bytes) can be written.
func (a *Applier) tempName(dir string) string {
	a.seq++
	return path.Join(dir, ".skiff-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(a.seq))
}

// maxLink is the longest symbolic link target the agent makes.
const maxLink = agentproto.MaxPath

// symlink makes the container path p (rel in r) a symbolic link to the
// target read from payload, through a temporary link and a rename. The
// target must be relative and lead to the allowed destination dest or
// below it.
func (a *Applier) symlink(r *os.Root, p, dest, rel string, payload io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(payload, maxLink+1))
	if err != nil {
		return err
	}
	target := string(b)
	switch {
	case len(b) > maxLink:
		return fmt.Errorf("refused: the link target is longer than %d bytes", maxLink)
	case target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, 0):
		return fmt.Errorf("refused: the link target %q is not a relative path", target)
	}
	if to := path.Join(path.Dir(p), target); to != dest && !strings.HasPrefix(to, strings.TrimSuffix(dest, "/")+"/") {
		return fmt.Errorf("refused: the link target %s leads out of the allowed destination %s", target, dest)
	}
	dir := path.Dir(rel)
	if dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := a.tempName(dir)
	if err := r.Symlink(target, tmp); err != nil {
		return err
	}
	if err := r.Rename(tmp, rel); err != nil {
		_ = r.Remove(tmp)
		return err
	}
	return nil
}

// open returns the opened directory dest, creating it first if create is
// set. Paths below it cannot escape it, through ".." or symbolic links.
func (a *Applier) open(dest string, create bool) (*os.Root, error) {
	if r, ok := a.opened[dest]; ok {
		return r, nil
	}
	if create {
		if err := os.MkdirAll(a.host(dest), 0o755); err != nil {
			return nil, unwrapPath(err)
		}
	}
	r, err := os.OpenRoot(a.host(dest))
	if err != nil {
		return nil, unwrapPath(err)
	}
	a.opened[dest] = r
	return r, nil
}

func (a *Applier) host(p string) string {
	return filepath.Join(a.root, filepath.FromSlash(p))
}

// destFor returns the longest allowed destination p is in, or "".
func (a *Applier) destFor(p string) string {
	best := ""
	for _, d := range a.allow {
		if (d == "/" || p == d || strings.HasPrefix(p, d+"/")) && len(d) > len(best) {
			best = d
		}
	}
	return best
}

// cleanPath checks that p is an absolute slash path without ".." elements
// and returns it cleaned.
func cleanPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("refused: not an absolute path")
	}
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return "", errors.New(`refused: the path contains ".."`)
		}
	}
	if strings.ContainsRune(p, 0) {
		return "", errors.New("refused: the path contains a NUL byte")
	}
	return path.Clean(p), nil
}

// unwrapPath drops the *PathError's host path, which the caller replaces by
// the container path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}
