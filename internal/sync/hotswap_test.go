//go:build unix

package sync

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/sync/agent"
	"skiff.dev/skiff/internal/sync/agentproto"
)

// TestAgentTransportHotSwap sends a new executable and a Restart through
// one agent session: the supervised process is replaced by the new one,
// with the same arguments; the tar transport refuses a Restart.
func TestAgentTransportHotSwap(t *testing.T) {
	root, err := os.MkdirTemp("", "sk") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	appDir := filepath.Join(root, filepath.FromSlash(agentproto.AppDir))
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(first, []byte("#!/bin/sh\necho \"first $1\"\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	signals := make(chan os.Signal, 1)
	s := &agent.Supervisor{Argv: []string{first, "arg"}, Stdin: strings.NewReader(""), Stdout: w, Stderr: os.Stderr, Signals: signals, Restarts: make(chan agent.RestartRequest)}
	l, err := s.Listen(filepath.Join(root, filepath.FromSlash(agentproto.ControlSocket)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code := make(chan int, 1)
	go func() { code <- s.Run() }()
	out := bufio.NewReader(r)
	line := func() string {
		l, err := out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(l)
	}
	if got := line(); got != "first arg" {
		t.Fatalf("supervised process said %q", got)
	}

	dir := t.TempDir()
	swap := writeOp(t, dir, "app", "#!/bin/sh\necho \"second $1\"\nexec sleep 1000\n", agentproto.AppDir)
	if err := os.Chmod(swap.Local, 0o755); err != nil {
		t.Fatal(err)
	}
	restart := Op{Kind: Restart, Local: swap.Local, Base: dir, Dest: swap.Dest, Root: agentproto.AppDir}
	tr := &AgentTransport{Exec: agentExec(root)}
	defer tr.Close()
	if err := tr.Sync(t.Context(), target, []Op{swap, restart}); err != nil {
		t.Fatalf("hot swap: %v", err)
	}
	if got := line(); got != "second arg" {
		t.Errorf("after the swap the process said %q, want the new executable's %q", got, "second arg")
	}
	// A Restart from outside its root is refused before anything is sent.
	bad := Op{Kind: Restart, Local: swap.Local, Base: dir, Dest: "/bin/sh", Root: agentproto.AppDir}
	if err := tr.Sync(t.Context(), target, []Op{bad}); err == nil || !strings.Contains(err.Error(), "outside its destination") {
		t.Errorf("restart from /bin/sh: %v", err)
	}
	if err := (&TarTransport{Exec: agentExec(root)}).Sync(t.Context(), target, []Op{restart}); err == nil || !strings.Contains(err.Error(), "needs skiff-agent") {
		t.Errorf("tar transport restart: %v, want it refused", err)
	}
	signals <- os.Kill
	<-code
}
