package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Target is one container of a running pod.
type Target struct {
	Namespace, Pod, Container string
}

// String names the target for messages: "pod ns/name, container c".
func (t Target) String() string {
	if t.Pod == "" {
		return "container " + t.Container
	}
	return fmt.Sprintf("pod %s/%s, container %s", t.Namespace, t.Pod, t.Container)
}

// Transport applies planned operations to one container.
type Transport interface {
	// Sync applies ops in order, and returns nil only when the container
	// confirmed every one. A Write whose local file no longer exists is
	// skipped: the file was removed after it was planned, and the removal
	// comes in a later batch; so is one Screen would skip. An Op that
	// would leave its rule's destination, or delete it, is refused before
	// anything runs.
	Sync(ctx context.Context, target Target, ops []Op) error
}

// Executor runs a command in a container, streaming stdin to it and its
// output to stdout and stderr. It returns *ExitError when the command ran
// and failed, and an error containing ErrNotFound when the command does not
// exist in the container.
type Executor interface {
	Exec(ctx context.Context, target Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// ExitError is a command that ran in a container and exited non-zero.
type ExitError struct {
	Code int
}

// Error says the command failed with its exit code.
func (e *ExitError) Error() string { return fmt.Sprintf("command exited with code %d", e.Code) }

var (
	// ErrNotFound means the command to exec is not in the container.
	ErrNotFound = errors.New("executable not found in the container")
	// ErrNoTar means the container has no tar (or rm, or sh) to sync
	// through: use AgentTransport.
	ErrNoTar = errors.New("the container has no tar")
	// ErrNoAgent means the container has no skiff-agent at the expected
	// path: the agent was not delivered into the pod.
	ErrNoAgent = errors.New("the container has no skiff-agent")
)

// missing reports whether err says the executed program does not exist:
// ErrNotFound from the Executor, or the shell codes 126 and 127.
func missing(err error) bool {
	var ee *ExitError
	return errors.Is(err, ErrNotFound) || errors.As(err, &ee) && (ee.Code == 126 || ee.Code == 127)
}

// Skipped is a Write that Screen left out, and why.
type Skipped struct {
	// Local is the local path that is not synced.
	Local string
	// Reason says why, e.g. "a FIFO: only regular files, directories and
	// symbolic links inside the synced tree are synced".
	Reason string
}

// Screen splits ops into those to sync and the Writes of local files that
// are never synced: sockets, FIFOs, devices, and symbolic links that are
// absolute or lead out of the context (Base) or out of the rule's
// destination (Root). The caller warns about the skipped ones and syncs
// the rest. It only looks (lstat), never opens. A file that vanished is
// kept: the transport skips it, and its removal comes in a later batch;
// a file it cannot look at is kept too, so the transport's error says why.
// The transports check again when they apply an Op, since a file may
// change type in between: they skip such a file without opening it.
func Screen(ops []Op) (keep []Op, skipped []Skipped) {
	roots := rootCache{}
	defer roots.close()
	for _, op := range ops {
		if op.Kind == Write {
			if _, reason, err := roots.inspect(op); err == nil && reason != "" {
				skipped = append(skipped, Skipped{Local: op.Local, Reason: reason})
				continue
			}
		}
		keep = append(keep, op)
	}
	return keep, skipped
}

// rootCache holds the Bases opened while a batch is read.
type rootCache map[string]*os.Root

func (c rootCache) close() {
	for _, r := range c {
		r.Close()
	}
}

// rel opens op's Base (once per batch) and returns it with Local relative
// to it.
func (c rootCache) rel(op Op) (*os.Root, string, error) {
	if op.Base == "" || !filepath.IsAbs(op.Base) {
		return nil, "", fmt.Errorf("reading %s to sync it: its local base directory %q is not absolute; the Op must come from Rules.Plan", op.Local, op.Base)
	}
	rel, err := filepath.Rel(op.Base, op.Local)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, "", fmt.Errorf("refusing to read %s to sync it: it is not inside the artifact context %s", op.Local, op.Base)
	}
	r, ok := c[op.Base]
	if !ok {
		if r, err = os.OpenRoot(op.Base); err != nil {
			return nil, "", fmt.Errorf("opening the artifact context %s to sync %s: %w", op.Base, op.Local, err)
		}
		c[op.Base] = r
	}
	return r, rel, nil
}

// inspect looks at a Write's source without opening it: its file info
// (nil when it no longer exists), or the reason it is not synced.
func (c rootCache) inspect(op Op) (fs.FileInfo, string, error) {
	r, rel, err := c.rel(op)
	if err != nil {
		return nil, "", err
	}
	st, err := r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		if _, lerr := os.Lstat(op.Local); lerr == nil {
			// os.Root refused it, and the plain path exists: a symbolic
			// link in a parent directory leads out of the context.
			return st, fmt.Sprintf("reached through a symbolic link that leads out of the artifact context %s", op.Base), nil
		}
		return nil, "", fmt.Errorf("reading %s to sync it: %w", op.Local, err)
	}
	m := st.Mode()
	switch {
	case m.IsRegular() || m.IsDir():
		return st, "", nil
	case m&fs.ModeSymlink != 0:
		target, err := r.Readlink(rel)
		if err != nil {
			return nil, "", fmt.Errorf("reading the symbolic link %s to sync it: %w", op.Local, err)
		}
		return st, linkReason(op, rel, target), nil
	}
	what := "a special file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	return st, what + ": only regular files, directories and symbolic links inside the synced tree are synced", nil
}

// linkReason returns why the symbolic link at rel (relative to op.Base)
// with target is not synced, or "" when it is synced as a link: its target
// must be relative and stay inside the context locally and inside the
// rule's destination in the container.
func linkReason(op Op, rel, target string) string {
	switch {
	case target == "":
		return "a symbolic link with an empty target"
	case filepath.IsAbs(target) || strings.HasPrefix(target, "/"):
		return fmt.Sprintf("a symbolic link to the absolute path %s: only relative symbolic links that stay inside the synced tree are synced", target)
	case !filepath.IsLocal(filepath.Join(filepath.Dir(rel), target)):
		return fmt.Sprintf("a symbolic link to %s, outside the artifact context %s: only relative symbolic links that stay inside the synced tree are synced", target, op.Base)
	case !within(path.Join(path.Dir(op.Dest), filepath.ToSlash(target)), op.Root):
		return fmt.Sprintf("a symbolic link to %s, which in the container leads out of the sync destination %s: only relative symbolic links that stay inside the synced tree are synced", target, op.Root)
	}
	return ""
}

// localFile is a Write's source as it is now: a regular file (f is
// open), a directory or a symbolic link.
type localFile struct {
	f    *os.File // nil for a directory or a link
	mode fs.FileMode
	size int64
	dir  bool
	link string // the target of a symbolic link
}

// close closes the file, if one is open.
func (l *localFile) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// open opens the source of a Write through its Base, never following a
// symbolic link out of it, and never opening anything but a regular file.
// A nil file and nil error mean there is nothing to send: it no longer
// exists, or it is not synced (see Screen), as it may have become since
// it was planned. The mode is the permission bits alone: setuid, setgid
// and sticky are never synced. The caller closes the file.
func (c rootCache) open(op Op) (*localFile, error) {
	st, reason, err := c.inspect(op)
	if err != nil || st == nil || reason != "" {
		return nil, err
	}
	r, rel, _ := c.rel(op)
	switch m := st.Mode(); {
	case m.IsDir():
		return &localFile{mode: m.Perm(), dir: true}, nil
	case m&fs.ModeSymlink != 0:
		target, err := r.Readlink(rel)
		if err != nil {
			return nil, fmt.Errorf("reading the symbolic link %s to sync it: %w", op.Local, err)
		}
		if linkReason(op, rel, target) != "" {
			return nil, nil
		}
		return &localFile{link: filepath.ToSlash(target), mode: 0o777}, nil
	}
	f, err := r.OpenFile(rel, os.O_RDONLY|openFlags, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s to sync it: %w", op.Local, err)
	}
	fst, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s to sync it: %w", op.Local, err)
	}
	switch {
	case fst.IsDir():
		f.Close()
		return &localFile{mode: fst.Mode().Perm(), dir: true}, nil
	case !fst.Mode().IsRegular():
		f.Close()
		return nil, nil
	}
	return &localFile{f: f, mode: fst.Mode().Perm(), size: fst.Size()}, nil
}

// maxOutput is how much of a command's output is kept for messages.
const maxOutput = 4096

// limitedBuffer keeps the first maxOutput bytes written to it, for error
// messages, and discards the rest. It has no ReadFrom, so io.Copy goes
// through Write and its limit.
type limitedBuffer struct{ b []byte }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - len(b.b); room > 0 {
		b.b = append(b.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// String returns what was kept.
func (b *limitedBuffer) String() string { return string(b.b) }

// stderrSuffix is ": " and the command's trimmed stderr, or "" when it
// wrote none.
func stderrSuffix(stderr *limitedBuffer) string {
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return ": " + s
	}
	return ""
}

// withOutput appends the command's trimmed stderr to msg.
func withOutput(msg string, stderr *limitedBuffer) string {
	return msg + stderrSuffix(stderr)
}
