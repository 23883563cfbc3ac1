package agent

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/sync/agentproto"
)

type op struct {
	f       agentproto.Frame
	content string
}

func write(p string, mode fs.FileMode, content string) op {
	return op{agentproto.Frame{Kind: agentproto.KindWrite, Path: p, Mode: mode, Size: int64(len(content))}, content}
}

func other(k agentproto.Kind, p string, mode fs.FileMode) op {
	return op{f: agentproto.Frame{Kind: k, Path: p, Mode: mode}}
}

func encode(t testing.TB, ops ...op) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := agentproto.NewEncoder(&buf)
	for _, o := range ops {
		if err := enc.Encode(o.f, strings.NewReader(o.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type result struct{ kind, path, msg string }

func results(t *testing.T, out []byte) []result {
	t.Helper()
	var rs []result
	dec := agentproto.NewDecoder(bytes.NewReader(out))
	for {
		f, payload, err := dec.Next()
		if err == io.EOF {
			return rs
		}
		if err != nil {
			t.Fatalf("decoding results: %v", err)
		}
		msg, _ := io.ReadAll(payload)
		rs = append(rs, result{f.Kind.String(), f.Path, string(msg)})
	}
}

// run runs "skiff-agent apply" in process with the temp dir root as "/".
func run(t *testing.T, root string, in []byte, allow ...string) (int, []result, string) {
	t.Helper()
	args := []string{"apply", "--root", root}
	for _, a := range allow {
		args = append(args, "--allow", a)
	}
	var out, errOut bytes.Buffer
	code := Run(args, bytes.NewReader(in), &out, &errOut)
	return code, results(t, out.Bytes()), errOut.String()
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApply(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "app/old.txt"), "old")
	mustWrite(t, filepath.Join(root, "app/tree/a/b.txt"), "b")
	mustWrite(t, filepath.Join(root, "app/chmod.sh"), "echo")
	mustWrite(t, filepath.Join(root, "etc/config.yaml"), "old config")

	in := encode(t,
		write("/app/old.txt", 0o644, "new"),
		write("/app/new/deep/file.sh", 0o755, "#!/bin/sh"),
		other(agentproto.KindMkdir, "/app/empty/dir", 0o700),
		other(agentproto.KindDelete, "/app/tree", 0),
		other(agentproto.KindDelete, "/app/missing", 0),
		other(agentproto.KindChmod, "/app/chmod.sh", 0o750),
		write("/etc/config.yaml", 0o600, "new config"),
		other(agentproto.KindEnd, "", 0),
	)
	code, rs, stderr := run(t, root, in, "/app", "/etc/config.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s %v", code, stderr, rs)
	}
	want := []result{
		{"ok", "/app/old.txt", ""},
		{"ok", "/app/new/deep/file.sh", ""},
		{"ok", "/app/empty/dir", ""},
		{"ok", "/app/tree", ""},
		{"ok", "/app/missing", ""},
		{"ok", "/app/chmod.sh", ""},
		{"ok", "/etc/config.yaml", ""},
		{"end", "", ""},
	}
	if fmt.Sprint(rs) != fmt.Sprint(want) {
		t.Errorf("results = %v\nwant %v", rs, want)
	}
	if got := readFile(t, filepath.Join(root, "app/old.txt")); got != "new" {
		t.Errorf("old.txt = %q", got)
	}
	if got := readFile(t, filepath.Join(root, "etc/config.yaml")); got != "new config" {
		t.Errorf("config.yaml = %q", got)
	}
	modes := map[string]fs.FileMode{
		"app/new/deep/file.sh": 0o755,
		"app/empty/dir":        fs.ModeDir | 0o700,
		"app/chmod.sh":         0o750,
		"etc/config.yaml":      0o600,
	}
	for p, want := range modes {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Error(err)
		} else if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "app/tree")); !os.IsNotExist(err) {
		t.Errorf("app/tree was not deleted: %v", err)
	}
	assertNoTemp(t, root)
}

func TestApplyRefused(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/passwd"), "root")
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symbolic link inside the destination that leads out of it.
	if err := os.Symlink("../etc", filepath.Join(root, "app/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(root, "app/abslink")); err != nil {
		t.Fatal(err)
	}
	in := encode(t,
		write("/etc/passwd", 0o644, "pwned"),
		write("/app/../etc/passwd", 0o644, "pwned"),
		write("app/relative", 0o644, "x"),
		write("/app/link/passwd", 0o644, "pwned"),
		write("/app/abslink/passwd", 0o644, "pwned"),
		other(agentproto.KindDelete, "/app/link/passwd", 0),
		other(agentproto.KindDelete, "/", 0),
		write("/app/ok.txt", 0o644, "fine"),
	)
	code, rs, _ := run(t, root, in, "/app")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if len(rs) != 8 {
		t.Fatalf("results = %v, want 8", rs)
	}
	for _, r := range rs[:7] {
		if r.kind != "failed" {
			t.Errorf("%s: %s, want failed", r.path, r.kind)
		}
	}
	if !strings.Contains(rs[0].msg, "outside the allowed destinations /app") || !strings.Contains(rs[1].msg, `contains ".."`) {
		t.Errorf("messages do not say why: %q, %q", rs[0].msg, rs[1].msg)
	}
	if rs[7].kind != "ok" {
		t.Errorf("the operation after refused ones: %v", rs[7])
	}
	if got := readFile(t, filepath.Join(root, "etc/passwd")); got != "root" {
		t.Errorf("etc/passwd = %q: written through a refused path", got)
	}
}

func TestApplyPartialWrite(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "app/main.js"), "old content")
	in := encode(t,
		write("/app/first.js", 0o644, "complete"),
		write("/app/main.js", 0o644, "new content that is cut off"),
	)
	in = in[:len(in)-10]
	code, rs, stderr := run(t, root, in, "/app")
	if code != 1 || !strings.Contains(stderr, "old file is intact") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if len(rs) != 2 || rs[0].kind != "ok" || rs[1].kind != "failed" || rs[1].path != "/app/main.js" {
		t.Errorf("results = %v", rs)
	}
	if got := readFile(t, filepath.Join(root, "app/main.js")); got != "old content" {
		t.Errorf("main.js = %q after a partial write", got)
	}
	if got := readFile(t, filepath.Join(root, "app/first.js")); got != "complete" {
		t.Errorf("first.js = %q", got)
	}
	assertNoTemp(t, root)
}

// TestApplyDeleteDestination checks that the agent never removes an
// allowed destination itself, nor "/", and says why.
func TestApplyDeleteDestination(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "app/static/a.css"), "a")
	mustWrite(t, filepath.Join(root, "keep.txt"), "k")
	in := encode(t,
		write("/app/static/b.css", 0o644, "b"), // opens /app/static
		other(agentproto.KindDelete, "/app/static", 0),
		other(agentproto.KindDelete, "/", 0),
		other(agentproto.KindEnd, "", 0),
	)
	code, rs, _ := run(t, root, in, "/app/static", "/")
	if code != 1 || len(rs) != 4 {
		t.Fatalf("exit %d, results %v; want 1 and 4 results", code, rs)
	}
	for _, r := range rs[1:3] {
		if r.kind != "failed" || !strings.Contains(r.msg, "refused: it is the allowed destination "+r.path+" itself") {
			t.Errorf("%s: %s %q, want a refusal saying why", r.path, r.kind, r.msg)
		}
	}
	for _, p := range []string{"app/static/a.css", "app/static/b.css", "keep.txt"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestApplyModes checks that the agent sets permission bits only, never
// setuid, setgid or sticky, even when a frame asks for them.
func TestApplyModes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// The encoder drops the bits; write frames that have them by hand.
	frame := []byte(agentproto.Magic)
	frame = append(frame, agentproto.Version)
	for _, f := range []struct {
		kind agentproto.Kind
		path string
		mode fs.FileMode
	}{
		{agentproto.KindWrite, "/app/suid", 0o755 | fs.ModeSetuid | fs.ModeSetgid},
		{agentproto.KindMkdir, "/app/dir", 0o755 | fs.ModeSticky | fs.ModeSetgid},
	} {
		frame = append(frame, byte(f.kind), byte(len(f.path)))
		frame = append(frame, f.path...)
		frame = binary.AppendUvarint(frame, uint64(f.mode))
		frame = append(frame, 0)
	}
	if code, rs, stderr := run(t, root, frame, "/app"); code != 0 {
		t.Fatalf("exit %d: %s %v", code, stderr, rs)
	}
	for p, want := range map[string]fs.FileMode{"app/suid": 0o755, "app/dir": 0o755 | fs.ModeDir} {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, st.Mode(), err, want)
		}
	}
}

// TestApplyLongName checks that a file whose name is 255 bytes, the
// usual limit, can be written: the temporary name must not be longer.
func TestApplyLongName(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	name := "/app/" + strings.Repeat("n", 255)
	in := encode(t, write(name, 0o644, "long"), other(agentproto.KindEnd, "", 0))
	if code, rs, stderr := run(t, root, in, "/app"); code != 0 {
		t.Fatalf("exit %d: %s %v", code, stderr, rs)
	}
	if got := readFile(t, filepath.Join(root, name)); got != "long" {
		t.Errorf("content %q", got)
	}
	assertNoTemp(t, root)
}

// TestApplySymlink checks that the agent makes relative links that stay
// in their destination, replacing what was there, and refuses others.
func TestApplySymlink(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "app/home.html"), "old file")
	link := func(p, target string) op {
		return op{agentproto.Frame{Kind: agentproto.KindLink, Path: p, Size: int64(len(target))}, target}
	}
	in := encode(t,
		link("/app/home.html", "index.html"),
		link("/app/sub/b.txt", "../b.txt"),
		link("/app/abs", "/etc/passwd"),
		link("/app/up", "../etc/passwd"),
		link("/app/sub/up", "../../etc"),
		link("/cfg/app.yaml", "other.yaml"), // a file destination: the target is beside it, outside
		other(agentproto.KindEnd, "", 0),
	)
	code, rs, _ := run(t, root, in, "/app", "/cfg/app.yaml")
	if code != 1 || len(rs) != 7 {
		t.Fatalf("exit %d, results %v", code, rs)
	}
	for i, r := range rs[:6] {
		if wantOK := i < 2; (r.kind == "ok") != wantOK || !wantOK && !strings.Contains(r.msg, "refused") {
			t.Errorf("%s: %s %q", r.path, r.kind, r.msg)
		}
	}
	for p, want := range map[string]string{"app/home.html": "index.html", "app/sub/b.txt": "../b.txt"} {
		if got, err := os.Readlink(filepath.Join(root, p)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"app/abs", "app/up", "app/sub/up", "cfg/app.yaml"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("%s was made: %v", p, err)
		}
	}
	assertNoTemp(t, root)
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"frobnicate"}, {"apply"}, {"apply", "--allow", "relative"}, {"install"}, {"install", "a", "b"}} {
		var out, errOut bytes.Buffer
		if code := Run(args, strings.NewReader(""), &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("Run(%q) = %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
	var out bytes.Buffer
	if code := Run([]string{"version"}, nil, &out, io.Discard); code != 0 || !strings.Contains(out.String(), fmt.Sprintf("protocol %d", agentproto.Version)) {
		t.Errorf("version: %d %q", code, out.String())
	}
}

func assertNoTemp(t *testing.T, root string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".skiff-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// BenchmarkApply20 encodes a batch of 20 files of 4 KiB and applies it.
func BenchmarkApply20(b *testing.B) {
	root := b.TempDir()
	content := strings.Repeat("x", 4096)
	var ops []op
	for i := range 20 {
		ops = append(ops, write(fmt.Sprintf("/app/dir%d/file%d.js", i%4, i), 0o644, content))
	}
	ops = append(ops, other(agentproto.KindEnd, "", 0))
	b.ReportAllocs()
	b.SetBytes(20 * 4096)
	for b.Loop() {
		in := encode(b, ops...)
		a, err := New(root, []string{"/app"})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Serve(bytes.NewReader(in), io.Discard); err != nil || a.failed {
			b.Fatal(err)
		}
		a.Close()
	}
}

// TestApplyAllowFrame checks that a KindAllow frame allows one more
// destination for the rest of the session, as --allow does at its start,
// and that a path it names must be absolute and free of "..".
func TestApplyAllowFrame(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	in := encode(t,
		write("/app/a.txt", 0o644, "a"),
		write("/srv/b.txt", 0o644, "refused"),
		other(agentproto.KindEnd, "", 0),
		other(agentproto.KindAllow, "/srv", 0),
		other(agentproto.KindAllow, "/srv/../etc", 0),
		other(agentproto.KindAllow, "relative", 0),
		write("/srv/b.txt", 0o644, "b"),
		write("/etc/c.txt", 0o644, "refused"),
		other(agentproto.KindEnd, "", 0),
	)
	code, rs, _ := run(t, root, in, "/app")
	want := []result{
		{"ok", "/app/a.txt", ""},
		{"failed", "/srv/b.txt", ""},
		{"end", "", ""},
		{"ok", "/srv", ""},
		{"failed", "/srv/../etc", ""},
		{"failed", "relative", ""},
		{"ok", "/srv/b.txt", ""},
		{"failed", "/etc/c.txt", ""},
		{"end", "", ""},
	}
	if code != 1 || len(rs) != len(want) {
		t.Fatalf("exit %d, results %v; want exit 1 and %d results", code, rs, len(want))
	}
	for i, w := range want {
		if rs[i].kind != w.kind || rs[i].path != w.path {
			t.Errorf("result %d = %s %s (%s), want %s %s", i, rs[i].kind, rs[i].path, rs[i].msg, w.kind, w.path)
		}
	}
	if !strings.Contains(rs[4].msg, `".."`) || !strings.Contains(rs[7].msg, "outside the allowed destinations /app, /srv") {
		t.Errorf("messages do not say why: %q, %q", rs[4].msg, rs[7].msg)
	}
	if got := readFile(t, filepath.Join(root, "srv/b.txt")); got != "b" {
		t.Errorf("srv/b.txt = %q, want b", got)
	}
	if _, err := os.Stat(filepath.Join(root, "etc")); !os.IsNotExist(err) {
		t.Errorf("etc was created: %v", err)
	}
}
