package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C stops a command in the middle of a step that takes no context:
// here a render whose rawYaml path runs a template command that sleeps.
func TestCancelStopsASlowRender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	file := writeConfig(t, `apiVersion: skaffold/v4beta11
kind: Config
manifests:
  rawYaml:
  - '{{cmd "sh" "-c" "echo $$ > `+started+`; exec sleep 300"}}k8s/*.yaml'
`)
	t.Cleanup(func() {
		// The template's command is the config package's to run; end it.
		if b, err := os.ReadFile(started); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Run(ctx, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, []string{"render", "--offline", "--digest-source=none", "-f", file}, WithEnviron(nil))
	}()
	deadline := time.After(time.Minute)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("render ended (%v) before its template command ran", err)
		case <-deadline:
			t.Fatal("the template command did not run within a minute")
		case <-time.After(20 * time.Millisecond):
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("render after the cancellation: %v, want context.Canceled", err)
		}
		t.Logf("render returned %s after the cancellation", time.Since(start))
	case <-time.After(time.Minute):
		t.Fatal("render did not return within a minute of the cancellation (its step sleeps 300s)")
	}
}

// interruptible returns a step's result when it comes first, and the
// context's error when the step outlasts the context and the grace.
func TestInterruptible(t *testing.T) {
	t.Parallel()
	v, err := interruptible(t.Context(), func() (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Errorf("a step that finished: %d, %v", v, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	v, err = interruptible(ctx, func() (int, error) { return 8, nil })
	if v != 8 || err != nil {
		t.Errorf("a step that finished within the grace: %d, %v", v, err)
	}
	release := make(chan struct{})
	defer close(release)
	err = interruptibleErr(ctx, func() error { <-release; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a step that does not stop: %v, want context.Canceled", err)
	}
}

// Ctrl-C stops `skiff apply -` while it waits for its input.
func TestCancelStopsApplyReadingStdin(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "apiVersion: skaffold/v4beta11\nkind: Config\nmanifests:\n  rawYaml: [k8s/*.yaml]\n")
	in, w := io.Pipe() // a writer that never writes
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Run(ctx, IOStreams{In: in, Out: &out, ErrOut: &errOut}, []string{"apply", "-", "-f", file}, WithEnviron(nil))
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("apply after the cancellation: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("apply did not return within a minute of the cancellation")
	}
}
