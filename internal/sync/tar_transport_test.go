package sync

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// shellExec plays sh: each command must be "sh -c SCRIPT ...", and when
// play (nil: always) says so, it prints the word the script ends with, as
// its final "echo TOKEN" does; it returns play's error.
func shellExec(play func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) (echo bool, err error)) *fakeExec {
	return &fakeExec{run: func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		if cmd[0] != "sh" {
			return fmt.Errorf("%w: exec: %q: executable file not found in $PATH", ErrNotFound, cmd[0])
		}
		echo, err := true, error(nil)
		if play != nil {
			echo, err = play(cmd, stdin, stdout, stderr)
		}
		if echo {
			words := strings.Fields(cmd[2])
			fmt.Fprintln(stdout, words[len(words)-1])
		}
		return err
	}}
}

// isProbe reports whether cmd is the transport's check for sh, tar and rm.
func isProbe(cmd []string) bool { return strings.Contains(cmd[2], "command -v") }

// TestTarTransportUnconfirmed checks that a sync is reported done only
// when the container printed the confirmation: an exec that "succeeds"
// without running anything (client-go does, sometimes, for a missing tar
// and a large stdin) is an error, wrapping ErrNoTar when the probe finds
// no tar, no rm or no sh.
func TestTarTransportUnconfirmed(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "x"})
	write := Op{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"}
	del := Op{Kind: Delete, Local: filepath.Join(dir, "old.js"), Base: dir, Dest: "/app/old.js", Root: "/app"}
	for _, tt := range []struct {
		name    string
		ops     []Op
		play    func(cmd []string, stdin io.Reader, stdout, stderr io.Writer) (bool, error)
		noTar   bool   // the error wraps ErrNoTar
		want    string // in the error
		nowhere bool   // every exec succeeds without output, even the probe
	}{
		{
			name: "exec succeeds without running anything; no tar",
			ops:  []Op{del, write},
			play: func(cmd []string, _ io.Reader, stdout, _ io.Writer) (bool, error) {
				if isProbe(cmd) {
					fmt.Fprintln(stdout, "missing tar")
					return true, nil
				}
				return false, nil
			},
			noTar: true,
			want:  "no tar in $PATH",
		},
		{
			name: "exec succeeds without running anything; tar exists",
			ops:  []Op{write},
			play: func(cmd []string, _ io.Reader, _, _ io.Writer) (bool, error) {
				return isProbe(cmd), nil
			},
			want: "did not confirm it, although sh, tar and rm exist",
		},
		{
			name: "deletions are confirmed too",
			ops:  []Op{del},
			play: func(cmd []string, _ io.Reader, stdout, _ io.Writer) (bool, error) {
				if isProbe(cmd) {
					fmt.Fprintln(stdout, "missing rm")
					return true, nil
				}
				return false, nil
			},
			noTar: true,
			want:  "no rm in $PATH",
		},
		{
			name: "the shell says not found",
			ops:  []Op{del, write},
			play: func(cmd []string, _ io.Reader, stdout, _ io.Writer) (bool, error) {
				if isProbe(cmd) {
					fmt.Fprintln(stdout, "missing tar")
					fmt.Fprintln(stdout, "missing rm")
					return true, nil
				}
				return false, &ExitError{Code: 127}
			},
			noTar: true,
			want:  "no tar nor rm in $PATH",
		},
		{
			name:    "nothing runs at all",
			ops:     []Op{write},
			nowhere: true,
			noTar:   true,
			want:    "no sh in $PATH",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := shellExec(tt.play)
			if tt.nowhere {
				fe = &fakeExec{}
			}
			err := (&TarTransport{Exec: fe}).Sync(context.Background(), target, tt.ops)
			if err == nil {
				t.Fatal("Sync() = nil for a sync the container did not confirm")
			}
			if errors.Is(err, ErrNoTar) != tt.noTar || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Sync() = %v; want an error saying %q (wrapping ErrNoTar: %v)", err, tt.want, tt.noTar)
			}
			if len(fe.cmds) != 2 || fe.stdins[1] != nil {
				t.Errorf("commands %q: want the sync and one probe without stdin", fe.cmds)
			}
		})
	}
}

// TestTarTransportWithoutShell checks that an image without sh gets
// ErrNoTar naming sh, so that the agent takes over.
func TestTarTransportWithoutShell(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "x"})
	ops := []Op{{Kind: Write, Local: filepath.Join(dir, "a.js"), Base: dir, Dest: "/app/a.js", Root: "/app"}}
	fe := &fakeExec{run: func(cmd []string, _ io.Reader, _, _ io.Writer) error {
		return fmt.Errorf("%w: exec: %q: executable file not found in $PATH", ErrNotFound, cmd[0])
	}}
	err := (&TarTransport{Exec: fe}).Sync(context.Background(), target, ops)
	if !errors.Is(err, ErrNoTar) || !strings.Contains(err.Error(), "no sh in $PATH") {
		t.Errorf("Sync() = %v, want ErrNoTar saying there is no sh", err)
	}
}

// TestTransportsRefuseDeletingRoots checks that neither transport runs
// anything for a Delete of its rule destination itself, of "/", or
// outside the destination, nor for a Write outside it, and that the error
// names the path, the destination and why.
func TestTransportsRefuseDeletingRoots(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"data/keep.txt": "k"})
	ok := Op{Kind: Delete, Local: filepath.Join(dir, "data/keep.txt"), Base: dir, Dest: "/keep.txt", Root: "/"}
	for _, tt := range []struct {
		bad  Op
		want string
	}{
		{Op{Kind: Delete, Local: filepath.Join(dir, "data"), Base: dir, Dest: "/", Root: "/"}, "refusing to delete / (for the removed " + filepath.Join(dir, "data") + "): a deletion must be strictly inside its rule destination /"},
		{Op{Kind: Delete, Local: filepath.Join(dir, "data"), Base: dir, Dest: "/app", Root: "/app"}, "refusing to delete /app"},
		{Op{Kind: Delete, Local: filepath.Join(dir, "x"), Base: dir, Dest: "/etc", Root: "/app"}, "strictly inside its rule destination /app"},
		{Op{Kind: Delete, Local: filepath.Join(dir, "x"), Base: dir, Dest: "/app/../", Root: "/app"}, "not a clean absolute path"},
		{Op{Kind: Write, Local: filepath.Join(dir, "data/keep.txt"), Base: dir, Dest: "/etc/passwd", Root: "/app"}, "outside its rule destination /app"},
	} {
		for name, tr := range map[string]func(Executor) Transport{
			"tar":   func(e Executor) Transport { return &TarTransport{Exec: e} },
			"agent": func(e Executor) Transport { return &AgentTransport{Exec: e} },
		} {
			fe := shellExec(nil)
			err := tr(fe).Sync(context.Background(), target, []Op{ok, tt.bad})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: Sync(%v) = %v, want an error saying %q", name, tt.bad, err, tt.want)
			}
			if len(fe.cmds) != 0 {
				t.Errorf("%s: Sync(%v) ran %q", name, tt.bad, fe.cmds)
			}
		}
	}
}

// tarMembers lists the archive as "name mode type [linkname|content]".
func tarMembers(t *testing.T, b []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		c, _ := io.ReadAll(tr)
		got = append(got, fmt.Sprintf("%s %o %c %s%s", h.Name, h.Mode, h.Typeflag, h.Linkname, c))
	}
}

// TestLimitedBufferCopy checks that io.Copy, which uses a ReaderFrom when
// there is one, keeps to the limit.
func TestLimitedBufferCopy(t *testing.T) {
	t.Parallel()
	var b limitedBuffer
	n, err := io.Copy(&b, strings.NewReader(strings.Repeat("x", 1_400_000)))
	if err != nil || n != 1_400_000 {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	if len(b.String()) != maxOutput {
		t.Errorf("kept %d bytes, want %d", len(b.String()), maxOutput)
	}
}
