package ko

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/testutil"
)

// Cancelling a ko build (Ctrl-C) ends go build and the compilers it
// started, and leaves no temporary directory behind (issue 11, item 13).
func TestCancelledBuildLeavesNoProcessesOrTempFiles(t *testing.T) {
	// An empty build cache makes go build compile the standard library:
	// long enough to cancel it while the compilers run. The cache's path
	// in their environment tells this build's processes from others.
	cache := t.TempDir()
	app := copyApp(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	marker := "GOCACHE=" + cache
	b := newBuilder(t, (&baseRecorder{img: testBase(t)}).base, WithEnviron(append(os.Environ(), marker, "GOPROXY=off")))
	ours := func(p testutil.Process) bool { return slices.Contains(p.Environ, marker) }

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	out := &testutil.Buffer{}
	go func() {
		_, err := b.Build(ctx, koArtifact(app, schema.KoArtifact{}), build.Request{Tag: "reg/app:v1", Out: out})
		done <- err
	}()
	deadline := time.After(2 * time.Minute)
	for len(testutil.Processes(t, func(p testutil.Process) bool {
		return ours(p) && len(p.Cmdline) > 0 && filepath.Base(p.Cmdline[0]) == "compile"
	})) == 0 {
		select {
		case err := <-done:
			t.Fatalf("the build ended (%v) before a compiler was seen; output:\n%s", err, out)
		case <-deadline:
			t.Fatalf("no compiler ran within 2 minutes; output:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Build: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the cancelled build did not return within a minute")
	}
	t.Logf("the cancelled build returned in %s", time.Since(start))
	if left := testutil.Processes(t, ours); len(left) > 0 {
		for _, p := range left {
			t.Errorf("process %d %v outlived the cancelled build", p.Pid, p.Cmdline)
		}
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the cancelled build left %s in the temporary directory", filepath.Join(tmp, e.Name()))
	}
}
