package sync

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	gosync "sync"
	"testing"

	utilexec "k8s.io/client-go/util/exec"

	"skiff.dev/skiff/internal/sync/agent"
	"skiff.dev/skiff/internal/sync/agentproto"
)

var (
	target  = Target{Namespace: "dev", Pod: "web-7d9f", Container: "app"}
	target2 = Target{Namespace: "dev", Pod: "web-5c2a", Container: "app"}
)

// fakeExec records the commands it runs and their stdin; run, if set,
// plays the command. With stream set, run reads stdin as it comes (as
// skiff-agent's sessions need: their stdin stays open), and stdins holds
// what it read once the command returned; otherwise run gets all of stdin
// once it has ended.
type fakeExec struct {
	stream bool
	run    func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) error

	mu      gosync.Mutex
	cmds    [][]string
	stdins  [][]byte
	running int // commands running now
}

func (f *fakeExec) Exec(_ context.Context, t Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if t != target && t != target2 {
		return fmt.Errorf("exec in %v, want %v", t, target)
	}
	if f.stream {
		f.mu.Lock()
		f.cmds = append(f.cmds, cmd)
		f.running++
		f.mu.Unlock()
		var in bytes.Buffer
		err := f.run(cmd, io.TeeReader(stdin, &in), stdout, stderr)
		f.mu.Lock()
		f.stdins = append(f.stdins, in.Bytes())
		f.running--
		f.mu.Unlock()
		return err
	}
	var in []byte
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		in = b
	}
	f.mu.Lock()
	f.cmds = append(f.cmds, cmd)
	f.stdins = append(f.stdins, in)
	f.mu.Unlock()
	if f.run != nil {
		return f.run(cmd, bytes.NewReader(in), stdout, stderr)
	}
	return nil
}

// execs returns how many commands ran and how many run now.
func (f *fakeExec) execs() (ran, running int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cmds), f.running
}

func localFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTarTransport(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "alert(1)", "bin/run.sh": "#!/bin/sh"})
	if err := os.Chmod(filepath.Join(dir, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	ops := []Op{
		{Kind: Delete, Local: filepath.Join(dir, "old.js"), Base: dir, Dest: "/app/old.js", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "bin/run.sh"), Base: dir, Dest: "/app/bin/run.sh", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "vanished.js"), Base: dir, Dest: "/app/vanished.js", Root: "/app"},
	}
	fe := shellExec(nil)
	if err := (&TarTransport{Exec: fe}).Sync(context.Background(), target, ops); err != nil {
		t.Fatal(err)
	}
	if len(fe.cmds) != 1 || len(fe.cmds[0]) != 5 || !strings.HasPrefix(fe.cmds[0][2], `rm -rf -- "$@" && tar xmf - -C / && echo skiff-synced-`) || fe.cmds[0][4] != "/app/old.js" {
		t.Fatalf("commands = %q, want one sh -c 'rm ... && tar ... && echo TOKEN' sh /app/old.js", fe.cmds)
	}
	tr := tar.NewReader(bytes.NewReader(fe.stdins[0]))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got = append(got, fmt.Sprintf("%s %o %s", h.Name, h.Mode, b))
	}
	want := []string{"app/a.js 644 alert(1)", "app/bin/run.sh 755 #!/bin/sh"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tar = %q, want %q", got, want)
	}
}

func TestTarTransportErrors(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "x"})
	ops := []Op{{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"}}
	tests := map[string]struct {
		err    error
		stderr string
		is     error
		want   []string
	}{
		"shell says not found, but the probe finds tar and rm": {
			err:  &ExitError{Code: 127},
			want: []string{"did not confirm", "sync again"},
		},
		"tar fails": {
			err:    &ExitError{Code: 2},
			stderr: "tar: app/a.js: Cannot open: Permission denied",
			want:   []string{"pod dev/web-7d9f, container app", "Permission denied", "may write the destination"},
		},
		"huge stderr is cut": {
			err:    &ExitError{Code: 2},
			stderr: strings.Repeat("tar: error\n", 200_000),
			want:   []string{"may write the destination"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fe := shellExec(func(cmd []string, _ io.Reader, _, stderr io.Writer) (bool, error) {
				if strings.Contains(cmd[2], "command -v") { // the probe
					return true, nil
				}
				io.WriteString(stderr, tt.stderr)
				return false, tt.err
			})
			err := (&TarTransport{Exec: fe}).Sync(context.Background(), target, ops)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Sync() = %v, want an error wrapping %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if len(err.Error()) > 2*maxOutput {
				t.Errorf("error is %d bytes long, want at most about %d", len(err.Error()), maxOutput)
			}
		})
	}
}

// agentExec runs skiff-agent in process, with root standing for the
// container's "/".
func agentExec(root string) *fakeExec {
	return &fakeExec{stream: true, run: func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		if cmd[0] != DefaultAgentPath {
			return fmt.Errorf("%w: %s", ErrNotFound, cmd[0])
		}
		args := append([]string{cmd[1], "--root", root}, cmd[2:]...)
		if code := agent.Run(args, stdin, stdout, stderr); code != 0 {
			return &ExitError{Code: code}
		}
		return nil
	}}
}

func TestAgentTransport(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "new", "static/img/logo.svg": "<svg/>", "conf.yaml": "k: v"})
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "app/old.js"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ops := []Op{
		{Kind: Delete, Local: filepath.Join(dir, "old.js"), Base: dir, Dest: "/app/old.js", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "static"), Base: dir, Dest: "/app/static", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "static/img/logo.svg"), Base: dir, Dest: "/app/static/img/logo.svg", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "gone.js"), Base: dir, Dest: "/app/gone.js", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "conf.yaml"), Base: dir, Dest: "/etc/conf.yaml", Root: "/etc/conf.yaml"},
	}
	fe := agentExec(root)
	if err := (&AgentTransport{Exec: fe}).Sync(context.Background(), target, ops); err != nil {
		t.Fatal(err)
	}
	wantCmd := []string{DefaultAgentPath, "apply", "--allow", "/app", "--allow", "/etc/conf.yaml"}
	if !reflect.DeepEqual(fe.cmds[0], wantCmd) {
		t.Errorf("command = %q, want %q", fe.cmds[0], wantCmd)
	}
	for p, want := range map[string]string{"app/a.js": "new", "app/static/img/logo.svg": "<svg/>", "etc/conf.yaml": "k: v"} {
		if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "app/old.js")); !os.IsNotExist(err) {
		t.Errorf("app/old.js was not deleted: %v", err)
	}
}

func TestAgentTransportErrors(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "x"})
	root := t.TempDir()
	t.Run("refused path", func(t *testing.T) {
		t.Parallel()
		ops := []Op{{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/etc/passwd", Root: "/app"}}
		fe := agentExec(root)
		err := (&AgentTransport{Exec: fe}).Sync(context.Background(), target, ops)
		if err == nil || !strings.Contains(err.Error(), "container app") || !strings.Contains(err.Error(), "outside its rule destination /app") || len(fe.cmds) != 0 {
			t.Errorf("Sync() = %v", err)
		}
	})
	t.Run("no agent", func(t *testing.T) {
		t.Parallel()
		ops := []Op{{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"}}
		err := (&AgentTransport{Exec: agentExec(root), Path: "/nope/skiff-agent"}).Sync(context.Background(), target, ops)
		if !errors.Is(err, ErrNoAgent) || !strings.Contains(err.Error(), "pod dev/web-7d9f") || !strings.Contains(err.Error(), "init container") {
			t.Errorf("Sync() = %v", err)
		}
	})
	t.Run("agent dies", func(t *testing.T) {
		t.Parallel()
		ops := []Op{{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"}}
		fe := &fakeExec{stream: true, run: func(_ []string, _ io.Reader, _, stderr io.Writer) error {
			io.WriteString(stderr, "killed")
			return &ExitError{Code: 137}
		}}
		err := (&AgentTransport{Exec: fe}).Sync(context.Background(), target, ops)
		if err == nil || !strings.Contains(err.Error(), "stopped before answering") || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Sync() = %v", err)
		}
	})
}

func TestExecError(t *testing.T) {
	t.Parallel()
	var ee *ExitError
	if err := execError(utilexec.CodeExitError{Err: errors.New("x"), Code: 3}); !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("exit code: %v", err)
	}
	runc := errors.New(`OCI runtime exec failed: exec failed: unable to start container process: exec: "tar": executable file not found in $PATH: unknown`)
	if err := execError(runc); !errors.Is(err, ErrNotFound) {
		t.Errorf("runc not found: %v", err)
	}
	if err := execError(errors.New("connection refused")); errors.Is(err, ErrNotFound) || errors.As(err, &ee) {
		t.Errorf("other: %v", err)
	}
}

// TestAgentTransportBoundsAnswers checks that the agent's answers are read
// with bounds: a failure message is cut, and an endless stream of answers
// is an error, not a buffer that grows with it.
func TestAgentTransportBoundsAnswers(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "x"})
	ops := []Op{{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"}}
	for name, tt := range map[string]struct {
		answer func(w io.Writer) error
		want   string
	}{
		"huge failure message": {
			answer: func(w io.Writer) error {
				enc := agentproto.NewEncoder(w)
				msg := strings.Repeat("m", 1<<20)
				if err := enc.Encode(agentproto.Frame{Kind: agentproto.KindFailed, Path: "/app/a.js", Size: int64(len(msg))}, strings.NewReader(msg)); err != nil {
					return err
				}
				return enc.Encode(agentproto.Frame{Kind: agentproto.KindEnd}, nil)
			},
			want: "not a skiff-agent answer",
		},
		"endless answers": {
			answer: func(w io.Writer) error {
				enc := agentproto.NewEncoder(w)
				for range 10_000 {
					if err := enc.Encode(agentproto.Frame{Kind: agentproto.KindOK, Path: "/app/" + strings.Repeat("a", 4000)}, nil); err != nil {
						return err
					}
				}
				return enc.Flush()
			},
			want: "more answers than the 1 operations sent",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fe := &fakeExec{stream: true, run: func(_ []string, _ io.Reader, stdout, _ io.Writer) error {
				return tt.answer(stdout)
			}}
			err := (&AgentTransport{Exec: fe}).Sync(context.Background(), target, ops)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Sync() = %v, want an error saying %q", err, tt.want)
			}
			if len(err.Error()) > 2*maxOutput {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

// TestAgentTransportSymlink checks that a relative link inside the synced
// tree reaches the container as a link, and that one leading out of the
// context is skipped without being read.
func TestAgentTransportSymlink(t *testing.T) {
	t.Parallel()
	outside := localFiles(t, map[string]string{"secret": "host secret"})
	dir := localFiles(t, map[string]string{"kodata/index.html": "hi"})
	if err := os.Symlink("index.html", filepath.Join(dir, "kodata/home.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "kodata/shadow")); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	at := func(name string) Op {
		return Op{Kind: Write, Local: filepath.Join(dir, "kodata", name), Base: dir, Dest: "/app/" + name, Root: "/app"}
	}
	fe := agentExec(root)
	tr := &AgentTransport{Exec: fe}
	if err := tr.Sync(context.Background(), target, []Op{at("index.html"), at("home.html"), at("shadow")}); err != nil {
		t.Fatal(err)
	}
	tr.Close() // the session's stdin is recorded once it ended
	if got, err := os.Readlink(filepath.Join(root, "app/home.html")); err != nil || got != "index.html" {
		t.Errorf("app/home.html -> %q, %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "app/shadow")); !os.IsNotExist(err) {
		t.Errorf("app/shadow was synced: %v", err)
	}
	if bytes.Contains(fe.stdins[0], []byte("host secret")) {
		t.Error("the agent was sent a file from outside the context")
	}
}
