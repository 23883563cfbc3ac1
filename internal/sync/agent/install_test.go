package agent

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunInstall copies the running executable over an existing file and
// into a fresh path, leaving mode 0755 and no temporary file.
func TestRunInstall(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{filepath.Join(dir, "skiff-agent"), old} {
		var errOut bytes.Buffer
		if code := Run([]string{"install", dest}, nil, io.Discard, &errOut); code != 0 {
			t.Fatalf("install %s: exit %d: %s", dest, code, errOut.String())
		}
		got, err := os.ReadFile(dest)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want a copy of %s (%d bytes)", dest, len(got), err, self, len(want))
		}
		if st, err := os.Stat(dest); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, %v; want 0755", dest, st.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left in %s: %v; want skiff-agent and old", dir, entries)
	}
}

// TestRunInstallFails names the destination when its directory is missing.
func TestRunInstallFails(t *testing.T) {
	t.Parallel()
	dest := filepath.Join(t.TempDir(), "missing", "skiff-agent")
	var errOut bytes.Buffer
	if code := Run([]string{"install", dest}, nil, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "install "+dest) {
		t.Errorf("exit %d, %q; want 1 and a message naming %s", code, errOut.String(), dest)
	}
}
