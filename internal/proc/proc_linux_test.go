//go:build linux

package proc

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"skiff.dev/skiff/internal/testutil"
)

// startedGroup runs script with sh -c through Command, cancels it once it
// printed "ready", and returns the group id, the output and Run's error.
func startedGroup(t *testing.T, script string, sig syscall.Signal) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := Command(ctx, "sh", "-c", script)
	c.Signal = sig
	out := &testutil.Buffer{}
	c.Stdout = out
	done := make(chan error, 1)
	go func() { done <- c.Run() }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "ready") {
		select {
		case err := <-done:
			t.Fatalf("the command ended (%v) before it was ready; output %q", err, out.String())
		case <-deadline:
			t.Fatalf("the command was not ready within 30s; output %q", out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		return c.Process.Pid, out.String(), err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of the cancellation")
		return 0, "", nil
	}
}

// A cancelled command's group is gone when Run returns, children that
// ignore the signal and hold the output pipe included.
func TestCancelEndsTheWholeGroup(t *testing.T) {
	t.Parallel()
	for name, script := range map[string]string{
		"children that exit on the signal": `sleep 300 & sleep 300 & echo ready; wait`,
		"a child that ignores it":          `(trap '' TERM INT; sleep 300; sleep 300) & echo ready; wait`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pgid, _, err := startedGroup(t, script, syscall.SIGTERM)
			if err == nil {
				t.Error("Run returned no error after the cancellation")
			}
			if alive := testutil.GroupMembers(t, pgid); len(alive) > 0 {
				t.Errorf("after Run returned, processes %v of group %d live on", alive, pgid)
			}
		})
	}
}

// The first signal is Cmd.Signal, so a command can clean up.
func TestCancelSendsTheSignalFirst(t *testing.T) {
	t.Parallel()
	pgid, out, err := startedGroup(t, `trap 'echo got INT; exit 3' INT; echo ready; sleep 300 & wait`, syscall.SIGINT)
	if !strings.Contains(out, "got INT") {
		t.Errorf("output %q: the command did not get SIGINT", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("Run: %v, want the command's exit code 3", err)
	}
	if alive := testutil.GroupMembers(t, pgid); len(alive) > 0 {
		t.Errorf("processes %v live on", alive)
	}
}
