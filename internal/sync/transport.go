package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
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
	// Sync applies ops in order. A Write whose local file no longer exists
	// is skipped: the file was removed after it was planned, and the
	// removal comes in a later batch.
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
	// ErrNoTar means the container has no tar (or rm) to sync through:
	// use AgentTransport.
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

// localFile is a Write's source as it is now.
type localFile struct {
	f    *os.File // nil for a directory
	mode fs.FileMode
	size int64
	dir  bool
}

// openLocal opens the source of a Write; a nil file and nil error mean it
// no longer exists. The caller closes f.
func openLocal(p string) (*localFile, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s to sync it: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s to sync it: %w", p, err)
	}
	mode := st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if st.IsDir() {
		f.Close()
		return &localFile{mode: mode, dir: true}, nil
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file or directory; it cannot be synced: exclude it from the sync rules", p)
	}
	return &localFile{f: f, mode: mode, size: st.Size()}, nil
}

// limitedBuffer keeps the first 4 KiB written to it, for error messages.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

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
