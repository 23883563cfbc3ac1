//go:build e2e

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// skiffProcess is the skiff binary running as a user runs it, so that
// signals reach it as they do from a terminal.
type skiffProcess struct {
	cmd    *exec.Cmd
	errOut *testutil.Buffer
	done   chan error
}

// startSkiff runs bin with args; the process is killed when the test ends.
func startSkiff(t *testing.T, bin string, args ...string) *skiffProcess {
	t.Helper()
	return startSkiffEnv(t, bin, nil, args...)
}

// startSkiffEnv is startSkiff with the variables extra added to the
// test's environment.
func startSkiffEnv(t *testing.T, bin string, extra []string, args ...string) *skiffProcess {
	t.Helper()
	p := &skiffProcess{cmd: exec.Command(bin, args...), errOut: &testutil.Buffer{}, done: make(chan error, 1)}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, deliver.EnvBinary+"=") {
			env = append(env, kv) // the agent is found next to skiff
		}
	}
	p.cmd.Env = append(env, extra...)
	p.cmd.Stderr = p.errOut
	// A process group of its own, as a shell gives a foreground job: a
	// terminal's Ctrl-C reaches the whole group (see ctrlC).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// ctrlC sends SIGINT to skiff's process group, as Ctrl-C in a terminal
// does; what skiff started in groups of their own does not get it.
func (p *skiffProcess) ctrlC(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until skiff's stderr matches re.
func (p *skiffProcess) waitFor(t *testing.T, timeout time.Duration, re *regexp.Regexp) {
	t.Helper()
	deadline := time.After(timeout)
	for !re.MatchString(p.errOut.String()) {
		select {
		case err := <-p.done:
			p.done <- err
			// It may have printed it and ended since the last look.
			if re.MatchString(p.errOut.String()) {
				return
			}
			t.Fatalf("skiff ended (%v) before printing %q\nstderr:\n%s", err, re, p.errOut)
		case <-deadline:
			t.Fatalf("skiff did not print %q within %s\nstderr:\n%s", re, timeout, p.errOut)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wait waits for skiff to exit.
func (p *skiffProcess) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(timeout):
		t.Fatalf("skiff did not exit within %s\nstderr:\n%s", timeout, p.errOut)
		return nil
	}
}

// The skiff binary ends skiff dev on SIGTERM as on Ctrl-C, deleting what
// it deployed, and a second Ctrl-C during that cleanup ends it at once.
func TestDevSignals(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	bin := skiffBinary(t)
	project := filepath.Join(syncExample(t), "skaffold.yaml")

	p := startSkiff(t, bin, "dev", "-n", ns, "-f", project)
	p.waitFor(t, devStartTimeout, watchingLine)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("skiff dev after SIGTERM: %v\nstderr:\n%s", err, p.errOut)
	}
	if !strings.Contains(p.errOut.String(), "Cleanup complete") {
		t.Errorf("no cleanup after SIGTERM:\nstderr:\n%s", p.errOut)
	}
	c.expectCleanedUp(t, ns, "skiff dev after SIGTERM")

	// A ConfigMap held by a finalizer keeps the cleanup waiting (it takes
	// ~0.1 s otherwise, issue 16) for the second Ctrl-C to interrupt.
	dir := syncExample(t, "held/*.yaml")
	writeTree(t, dir, map[string]string{"held/held.yaml": heldConfigMap})
	t.Cleanup(func() { c.releaseHeld(ns) })
	p = startSkiff(t, bin, "dev", "-n", ns, "-f", filepath.Join(dir, "skaffold.yaml"))
	p.waitFor(t, devStartTimeout, watchingLine)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, time.Minute, regexp.MustCompile(`Cleaning up: .* waiting up to 15s`))
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := p.wait(t, 5*time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("after a second Ctrl-C: %v, want skiff killed by SIGINT\nstderr:\n%s", err, p.errOut)
	}
}
