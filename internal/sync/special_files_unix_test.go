//go:build unix

package sync

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTarTransportSpecialFiles checks what the tar transport sends for
// modes, symbolic links and special files: permission bits only; relative
// links inside the synced tree as links; nothing read outside the context,
// and no FIFO opened (opening one blocks).
func TestTarTransportSpecialFiles(t *testing.T) {
	t.Parallel()
	outside := localFiles(t, map[string]string{"secret": "host secret"})
	dir := localFiles(t, map[string]string{"kodata/index.html": "hi", "kodata/suid": "x", "kodata/sub/b.txt": "b"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Chmod(filepath.Join(dir, "kodata/suid"), 0o6755))
	must(os.Symlink("index.html", filepath.Join(dir, "kodata/home.html")))
	must(os.Symlink("sub/b.txt", filepath.Join(dir, "kodata/b.txt")))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "kodata/abs")))
	must(os.Symlink("../../"+filepath.Base(outside)+"/secret", filepath.Join(dir, "kodata/rel-out")))
	must(os.Symlink("../go.mod", filepath.Join(dir, "kodata/up"))) // in the context, but out of /app
	must(os.Symlink(outside, filepath.Join(dir, "kodata/outdir")))
	must(syscall.Mkfifo(filepath.Join(dir, "kodata/pipe"), 0o644))
	at := func(rel string) Op {
		return Op{Kind: Write, Local: filepath.Join(dir, rel), Base: dir, Dest: "/app/" + strings.TrimPrefix(rel, "kodata/"), Root: "/app"}
	}
	ops := []Op{at("kodata/index.html"), at("kodata/suid"), at("kodata/home.html"), at("kodata/b.txt"),
		at("kodata/abs"), at("kodata/rel-out"), at("kodata/up"), at("kodata/outdir/secret"), at("kodata/pipe")}

	keep, skipped := Screen(ops)
	var kept, why []string
	for _, op := range keep {
		kept = append(kept, op.Dest)
	}
	for _, s := range skipped {
		why = append(why, filepath.Base(s.Local)+": "+s.Reason)
	}
	wantKept := []string{"/app/index.html", "/app/suid", "/app/home.html", "/app/b.txt"}
	if fmt.Sprint(kept) != fmt.Sprint(wantKept) {
		t.Errorf("Screen kept %q, want %q", kept, wantKept)
	}
	for i, want := range []string{"abs: a symbolic link to the absolute path", "rel-out: a symbolic link to ../../", "up: a symbolic link to ../go.mod, which in the container leads out of the sync destination /app",
		"secret: reached through a symbolic link that leads out of the artifact context", "pipe: a FIFO"} {
		if i >= len(why) || !strings.HasPrefix(why[i], want) {
			t.Errorf("Screen skipped %q, want %q at %d", why, want, i)
		}
	}

	// The transport gets every op, as if each had changed type after
	// Screen: it must skip the same ones without opening them.
	fe := shellExec(nil)
	if err := (&TarTransport{Exec: fe}).Sync(context.Background(), target, ops); err != nil {
		t.Fatal(err)
	}
	got := tarMembers(t, fe.stdins[0])
	want := []string{"app/index.html 644 0 hi", "app/suid 755 0 x", "app/home.html 777 2 index.html", "app/b.txt 777 2 sub/b.txt"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tar = %q, want %q", got, want)
	}
	if bytes.Contains(fe.stdins[0], []byte("host secret")) {
		t.Error("the tar archive holds a file from outside the context")
	}
}
