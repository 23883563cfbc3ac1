package custom

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/testutil"
)

// Cancelling a build command ends everything it started, children that
// ignore SIGINT (as a shell's background jobs do) or left the output
// pipe included: when Build returns, none of them runs.
func TestCancelledBuildLeavesNoProcess(t *testing.T) {
	t.Parallel()
	a := artifact(t, `sleep 300 >/dev/null 2>&1 & (sleep 301; echo never) & echo started; wait`)
	marker := "SKIFF_TEST_MARKER=" + a.Workspace
	ours := func(p testutil.Process) bool { return slices.Contains(p.Environ, marker) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testutil.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := New().Build(ctx, a, build.Request{Tag: "app:1", Out: &out, Env: config.Env{
			"PATH":              os.Getenv("PATH"),
			"SKIFF_TEST_MARKER": a.Workspace,
		}})
		done <- err
	}()
	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), "started") || len(testutil.Processes(t, ours)) < 3 {
		select {
		case err := <-done:
			t.Fatalf("the build ended (%v) before its children started; output %q", err, out.String())
		case <-deadline:
			t.Fatalf("the build's children did not start within a minute; output %q", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the cancelled build did not return within a minute")
	}
	for _, p := range testutil.Processes(t, ours) {
		t.Errorf("process %d %v outlived the cancelled build", p.Pid, p.Cmdline)
	}
}
