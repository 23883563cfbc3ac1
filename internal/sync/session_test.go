package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"skiff.dev/skiff/internal/sync/agent"
	"skiff.dev/skiff/internal/sync/agentproto"
)

// writeOp writes content to the local file name under dir and returns the
// Op that syncs it to /app/name (root /app, or root if given).
func writeOp(t *testing.T, dir, name, content string, root ...string) Op {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r := "/app"
	if len(root) > 0 {
		r = root[0]
	}
	return Op{Kind: Write, Local: p, Base: dir, Dest: r + "/" + name, Root: r}
}

func wantFile(t *testing.T, root, p, want string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != want {
		t.Errorf("%s = %q, %v; want %q", p, b, err, want)
	}
}

// TestAgentSessionReused checks that syncs into one container share one
// exec of the agent, that a root the session did not allow at its start
// is allowed by a frame, that another container gets its own session, and
// that Close ends them all.
func TestAgentSessionReused(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	fe := agentExec(root)
	tr := &AgentTransport{Exec: fe}
	for i := range 5 {
		if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", fmt.Sprint("v", i))}); err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
		wantFile(t, root, "app/a.txt", fmt.Sprint("v", i))
	}
	if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "b.txt", "b", "/srv")}); err != nil {
		t.Fatalf("sync to a new root: %v", err)
	}
	wantFile(t, root, "srv/b.txt", "b")
	if ran, running := fe.execs(); ran != 1 || running != 1 {
		t.Errorf("6 syncs into one container: %d execs, %d running; want 1 exec, still running", ran, running)
	}
	if err := tr.Sync(t.Context(), target2, []Op{writeOp(t, dir, "c.txt", "c")}); err != nil {
		t.Fatalf("sync to another pod: %v", err)
	}
	if ran, running := fe.execs(); ran != 2 || running != 2 {
		t.Errorf("a second container: %d execs, %d running; want 2, 2", ran, running)
	}
	tr.Close()
	if _, running := fe.execs(); running != 0 {
		t.Errorf("after Close, %d execs still run", running)
	}
	if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "late")}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Sync after Close = %v, want an error saying the transport was closed", err)
	}
	if ran, _ := fe.execs(); ran != 2 {
		t.Errorf("Sync after Close ran an exec")
	}
}

// dyingAgentExec runs skiff-agent in process with root as "/", except
// that its first exec answers one batch and then ends as a container's
// does when it restarts, before answering the next; later execs run
// then, or the agent if it is nil.
func dyingAgentExec(root string, then func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) error) *fakeExec {
	var mu gosync.Mutex
	n := 0
	if then == nil {
		then = agentExec(root).run
	}
	return &fakeExec{stream: true, run: func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if !first {
			return then(cmd, stdin, stdout, stderr)
		}
		a, err := agent.New(root, []string{cmd[3]})
		if err != nil {
			return err
		}
		defer a.Close()
		dec, enc := agentproto.NewDecoder(stdin), agentproto.NewEncoder(stdout)
		for batches := 0; ; {
			f, payload, err := dec.Next()
			switch {
			case err != nil:
				return err
			case batches == 1:
				io.WriteString(stderr, "killed")
				return &ExitError{Code: 137}
			case f.Kind == agentproto.KindEnd:
				batches++
				if err := enc.Encode(f, nil); err != nil {
					return err
				}
				continue
			}
			if err := a.Apply(f, payload); err != nil {
				return err
			}
			if err := enc.Encode(agentproto.Frame{Kind: agentproto.KindOK, Path: f.Path}, nil); err != nil {
				return err
			}
		}
	}}
}

// TestAgentSessionReopened checks that a batch whose session ends under
// it (the container restarted) is sent again on a new session, once.
func TestAgentSessionReopened(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	fe := dyingAgentExec(root, nil)
	tr := &AgentTransport{Exec: fe}
	defer tr.Close()
	if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "one")}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "two")}); err != nil {
		t.Fatalf("sync after the agent died: %v", err)
	}
	wantFile(t, root, "app/a.txt", "two")
	if ran, running := fe.execs(); ran != 2 || running != 1 {
		t.Errorf("%d execs, %d running; want 2 (the first died), 1", ran, running)
	}
	if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "three")}); err != nil {
		t.Fatal(err)
	}
	if ran, _ := fe.execs(); ran != 2 {
		t.Errorf("%d execs after a third sync; want the new session reused", ran)
	}
}

// TestAgentSessionRetriesOnce checks that a batch whose reused session
// breaks is sent once more on a new session, and that when that one fails
// too (the pod went away) the error says what the new exec said.
func TestAgentSessionRetriesOnce(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	fe := dyingAgentExec(root, func([]string, io.Reader, io.Writer, io.Writer) error {
		return fmt.Errorf("%w: the pod does not exist", ErrUnavailable)
	})
	tr := &AgentTransport{Exec: fe}
	defer tr.Close()
	if err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "one")}); err != nil {
		t.Fatal(err)
	}
	err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "two")})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "the pod does not exist") {
		t.Errorf("Sync() = %v, want ErrUnavailable", err)
	}
	if ran, _ := fe.execs(); ran != 2 {
		t.Errorf("%d execs; want 2: the session that broke, and one retry", ran)
	}
	err = tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "three")})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Sync() = %v, want ErrUnavailable", err)
	}
	if ran, _ := fe.execs(); ran != 3 {
		t.Errorf("%d execs; want 3: a session that fails to open is not retried", ran)
	}
}

// TestAgentSessionCancel checks that a sync whose context ends while the
// agent has not answered returns, and ends the session's exec.
func TestAgentSessionCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got := make(chan struct{})
	fe := &fakeExec{stream: true, run: func(_ []string, stdin io.Reader, _, _ io.Writer) error {
		// Read the batch, never answer.
		b := make([]byte, 1)
		if _, err := stdin.Read(b); err != nil {
			return err
		}
		close(got)
		_, err := io.Copy(io.Discard, stdin)
		return err
	}}
	tr := &AgentTransport{Exec: fe}
	defer tr.Close()
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-got; cancel() }()
	err := tr.Sync(ctx, target, []Op{writeOp(t, dir, "a.txt", "one")})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "pod dev/web-7d9f") {
		t.Errorf("Sync() = %v, want context.Canceled naming the pod", err)
	}
	if _, running := fe.execs(); running != 0 {
		t.Errorf("%d execs still run after the sync was canceled", running)
	}
}

// TestAgentSessionVersion checks that an agent that speaks another
// protocol version is named as such.
func TestAgentSessionVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fe := &fakeExec{stream: true, run: func(_ []string, _ io.Reader, stdout, stderr io.Writer) error {
		io.WriteString(stdout, agentproto.Magic+"\x02")
		io.WriteString(stderr, "skiff-agent: protocol version 3 is not supported (this side speaks 2)")
		return &ExitError{Code: 1}
	}}
	tr := &AgentTransport{Exec: fe}
	defer tr.Close()
	err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "one")})
	want := fmt.Sprintf("speaks agent protocol 2 and this skiff %d", agentproto.Version)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "redeploy") {
		t.Errorf("Sync() = %v, want an error saying %q", err, want)
	}
}

// TestAgentSessionRuntimeMessage checks that a runtime that writes its
// failure to start the agent on stdout (as the Docker Engine does) and
// exits 127 is read as a missing agent, not as a broken answer.
func TestAgentSessionRuntimeMessage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fe := &fakeExec{stream: true, run: func(_ []string, _ io.Reader, stdout, _ io.Writer) error {
		io.WriteString(stdout, `OCI runtime exec failed: exec failed: unable to start container process: exec: "/skiff/skiff-agent": stat /skiff/skiff-agent: no such file or directory: unknown`)
		return &ExitError{Code: 127}
	}}
	tr := &AgentTransport{Exec: fe}
	defer tr.Close()
	err := tr.Sync(t.Context(), target, []Op{writeOp(t, dir, "a.txt", "one")})
	if !errors.Is(err, ErrNoAgent) {
		t.Errorf("Sync() = %v, want ErrNoAgent", err)
	}
}

// TestAgentSessionOpen checks that Open starts the session a later Sync
// uses, before any Sync, allowing the roots given; that a session that
// cannot start is silent and leaves the next Sync to open one and report
// as without Open; and that Open does nothing without roots or after
// Close.
func TestAgentSessionOpen(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	fe := agentExec(root)
	started := make(chan []string, 4)
	run := fe.run
	fe.run = func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		started <- cmd
		return run(cmd, stdin, stdout, stderr)
	}
	tr := &AgentTransport{Exec: fe}
	tr.Open(t.Context(), target, nil)
	tr.Open(t.Context(), target, []string{"/app", "/srv"})
	tr.Open(t.Context(), target, []string{"/app"}) // open already
	if cmd := <-started; strings.Join(cmd, " ") != DefaultAgentPath+" apply --allow /app --allow /srv" {
		t.Errorf("Open ran %q, want the agent allowing /app and /srv", cmd)
	}
	for _, op := range []Op{writeOp(t, dir, "a.txt", "a"), writeOp(t, dir, "b.txt", "b", "/srv"), writeOp(t, dir, "c.txt", "c", "/data")} {
		if err := tr.Sync(t.Context(), target, []Op{op}); err != nil {
			t.Fatalf("sync to %s: %v", op.Dest, err)
		}
	}
	wantFile(t, root, "data/c.txt", "c")
	if ran, running := fe.execs(); ran != 1 || running != 1 {
		t.Errorf("Open and 3 syncs: %d execs, %d running; want the one Open started", ran, running)
	}

	// No agent in target2: Open says nothing, Sync reports as ever.
	tr.Path = "/nowhere/skiff-agent"
	tr.Open(t.Context(), target2, []string{"/app"})
	<-started
	err := tr.Sync(t.Context(), target2, []Op{writeOp(t, dir, "a.txt", "a")})
	if !errors.Is(err, ErrNoAgent) {
		t.Errorf("Sync after a failed Open = %v, want ErrNoAgent", err)
	}
	tr.Close()
	before, _ := fe.execs()
	tr.Open(t.Context(), target, []string{"/app"})
	if ran, running := fe.execs(); ran != before || running != 0 {
		t.Errorf("Open after Close: %d execs, %d running; want %d, none running", ran, running, before)
	}
}
