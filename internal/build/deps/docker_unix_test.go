//go:build unix

package deps

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDockerfileRefusesFIFOs checks that a Dockerfile or .dockerignore
// that is a FIFO is refused; opening it first hung diagnose and dev.
func TestDockerfileRefusesFIFOs(t *testing.T) {
	t.Parallel()
	for _, fifo := range []string{"Dockerfile", ".dockerignore"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, fifo))
		if err := syscall.Mkfifo(filepath.Join(dir, fifo), 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		_, err := Dockerfile(dir, "Dockerfile", "", nil)
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("%s is a FIFO: error %v, want a refusal", fifo, err)
		}
	}
}
