package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestDevRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--trigger=sometimes"}, `--trigger=sometimes: use notify, polling or manual`},
		{[]string{"dev", "--watch-poll-interval=0"}, `--watch-poll-interval=0: it must be a positive number`},
	} {
		_, _, err := run(t, nil, tc.args...)
		var usage *UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("skiff %s: got %v, want a usage error containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestDevReadsFlagsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, []string{"SKAFFOLD_TRIGGER=sometimes"}, "dev")
	if err == nil || !strings.Contains(err.Error(), "--trigger=sometimes") {
		t.Fatalf("SKAFFOLD_TRIGGER=sometimes: got %v, want the trigger rejected", err)
	}
}

// The --port-forward help of dev, debug and run names the debug mode,
// and debug's shows its default.
func TestPortForwardHelpNamesDebug(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"dev", "debug", "run"} {
		out, _, err := run(t, nil, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		var line string
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "--port-forward") {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("skiff %s --help has no --port-forward flag:\n%s", cmd, out)
		}
		if !strings.Contains(line, "debug (skiff debug's debug ports)") || !strings.Contains(line, "next free one") {
			t.Errorf("skiff %s --help: %q; want the debug mode and the next free port named", cmd, line)
		}
		if cmd == "debug" && !strings.Contains(line, "(default [user,debug])") {
			t.Errorf("skiff debug --help: %q; want the default user,debug", line)
		}
	}
}

// signalWriter collects what is written and closes seen once it holds
// want.
type signalWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// With --keep-running-on-failure, a config dev cannot use at the start is
// reported and dev waits for a fix (until Ctrl-C) instead of exiting.
func TestDevKeepRunningOnFailure(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "apiVersion: skaffold/v4beta14\nkind: Config\ndeploy:\n  cloudrun: {}\n")
	_, _, err := run(t, nil, "dev", "-f", file)
	if err == nil || !strings.Contains(err.Error(), "Cloud Run") {
		t.Fatalf("without the flag: %v, want the failure", err)
	}
	errOut := &signalWriter{want: "Fix the file and save it again", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: errOut}, []string{"dev", "-f", file, "--keep-running-on-failure"}, WithEnviron(nil))
	}()
	select {
	case <-errOut.seen:
	case err := <-done:
		t.Fatalf("dev --keep-running-on-failure ended: %v\n%s", err, errOut)
	}
	cancel() // Ctrl-C
	if err := <-done; err != nil {
		t.Errorf("after Ctrl-C: %v", err)
	}
	if !strings.Contains(errOut.String(), "Cloud Run") {
		t.Errorf("the failure was not reported:\n%s", errOut)
	}
}
