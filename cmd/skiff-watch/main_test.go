package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the watcher and the application
// writing at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until b holds want; the test's own deadline bounds it.
func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	for !strings.Contains(b.String(), want) {
		if t.Context().Err() != nil {
			t.Fatalf("never saw %q in:\n%s", want, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchRebuildsAndRestarts: a change to a matching file rebuilds the
// application and restarts it with the new build; a deletion too, and a
// build that fails leaves the running application alone.
func TestWatchRebuildsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", "v1\n")
	write("built", "v1\n")
	t.Chdir(dir)
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dir", dir, "-match", "*.go", "-interval", "20ms",
			"-build", "cp", "-build", "main.go", "-build", "built.next", "-install", "built.next=built",
			"--", "sh", "-c", "cat built; exec sleep 1000"}, &out, &errOut)
	}()
	waitFor(t, &out, "v1\n")
	write("main.go", "v2\n")
	waitFor(t, &out, "v2\n")
	waitFor(t, &errOut, "restarted sh")
	// A deletion is a change: the build (cp) fails, and v2 keeps running.
	if err := os.Remove(filepath.Join(dir, "main.go")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &errOut, "cp main.go built.next failed")
	write("main.go", "v3\n")
	waitFor(t, &out, "v3\n")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Count(errOut.String(), "restarted") != 2 {
		t.Errorf("restarts: want 2 (v2, v3), the failed build restarts nothing:\n%s", errOut.String())
	}
}

func TestWatchFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-match", "[", "--", "app"}, {"-install", "x", "--", "app"}} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) accepted it", args)
		}
	}
}
