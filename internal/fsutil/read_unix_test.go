//go:build unix

package fsutil

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRegularRefusesFIFOWithoutOpeningIt(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// Opening a FIFO with no writer blocks; this returns only because the
	// type is checked first.
	_, err := ReadRegular(p, 1<<20)
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("got %v, want a named-pipe refusal", err)
	}
}

func TestReadRegularRefusesDirectoryAndDevice(t *testing.T) {
	t.Parallel()
	for _, p := range []string{t.TempDir(), "/dev/zero"} {
		if _, err := ReadRegular(p, 1<<20); !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: got %v, want ErrNotRegular", p, err)
		}
	}
}
