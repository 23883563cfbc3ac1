package fsutil

import (
	"errors"
	"os"
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

func TestReadRegularSizeLimit(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadRegular(p, 10); err != nil || string(data) != "0123456789" {
		t.Fatalf("at the limit: %q, %v", data, err)
	}
	_, err := ReadRegular(p, 9)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "10 B") || !strings.Contains(err.Error(), "9 B") {
		t.Fatalf("over the limit: got %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100)
	for _, c := range []struct{ in, want string }{
		{"one line", "one line"},
		{"\n  root:x:0:0  \ndaemon:x:1:1\n", "root:x:0:0..."},
		{long, strings.Repeat("é", 40) + "..."},
	} {
		if got := Excerpt(c.in); got != c.want {
			t.Errorf("Excerpt(%.20q) = %q, want %q", c.in, got, c.want)
		}
	}
}
