package agent

import (
	"bytes"
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// patchOp is a KindPatch of p that makes want from base: the start of base
// up to its last 4 bytes, then the rest of want.
func patchOp(p string, mode fs.FileMode, base, want string) op {
	keep := len(base) - 4
	payload := agentproto.AppendPatchHeader(nil, agentproto.PatchHeader{Base: sha256.Sum256([]byte(base)), Result: sha256.Sum256([]byte(want)), Size: int64(len(want))})
	payload = agentproto.AppendPatchCopy(payload, 0, int64(keep))
	payload = agentproto.AppendPatchLiteral(payload, []byte(want[keep:]))
	return op{agentproto.Frame{Kind: agentproto.KindPatch, Path: p, Mode: mode, Size: int64(len(payload))}, string(payload)}
}

// TestApplyPatch checks that a patch against the file there makes the new
// file with the frame's mode, and that patches in a row apply, each to
// what the one before made.
func TestApplyPatch(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "skiff/app/server"), "executable v1")
	in := encode(t,
		patchOp("/skiff/app/server", 0o755, "executable v1", "executable version 2"),
		patchOp("/skiff/app/server", 0o750, "executable version 2", "executable version 3"),
		other(agentproto.KindEnd, "", 0),
	)
	code, rs, stderr := run(t, root, in, "/skiff/app")
	if code != 0 || len(rs) != 3 || rs[0].kind != "ok" || rs[1].kind != "ok" {
		t.Fatalf("exit %d: %s %v", code, stderr, rs)
	}
	if got := readFile(t, filepath.Join(root, "skiff/app/server")); got != "executable version 3" {
		t.Errorf("patched file = %q", got)
	}
	if st, err := os.Stat(filepath.Join(root, "skiff/app/server")); err != nil || st.Mode() != 0o750 {
		t.Errorf("patched file's mode = %v, %v; want 0750", st.Mode(), err)
	}
	assertNoTemp(t, root)
}

// TestApplyPatchRefused checks that a patch is refused, the file left as
// it was, when the file there is not its base (changed, missing), when
// what it makes is not what skiff has (its result hash), and when the
// file changed behind the agent after a patch of the session made it;
// the operations after it still apply.
func TestApplyPatchRefused(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "app/a"), "something else")
	mustWrite(t, filepath.Join(root, "app/b"), "executable v1")
	badResult := patchOp("/app/b", 0o755, "executable v1", "executable v2")
	badResult.content = strings.Replace(badResult.content, "e v2", "e v3", 1) // the literal, not the hash
	in := encode(t,
		patchOp("/app/a", 0o755, "executable v1", "executable v2"),
		patchOp("/app/missing", 0o755, "executable v1", "executable v2"),
		badResult,
		write("/app/ok.txt", 0o644, "fine"),
		other(agentproto.KindEnd, "", 0),
	)
	code, rs, _ := run(t, root, in, "/app")
	if code != 1 || len(rs) != 5 {
		t.Fatalf("exit %d, results %v; want 1 and 5 results", code, rs)
	}
	for i, want := range []string{"not the patch's base", "no file to patch", "SHA-256 is"} {
		if rs[i].kind != "failed" || !strings.Contains(rs[i].msg, want) {
			t.Errorf("result %d = %v, want failed saying %q", i, rs[i], want)
		}
	}
	if rs[3].kind != "ok" {
		t.Errorf("the write after the refused patches: %v", rs[3])
	}
	if got := readFile(t, filepath.Join(root, "app/a")); got != "something else" {
		t.Errorf("app/a = %q after a refused patch", got)
	}
	if got := readFile(t, filepath.Join(root, "app/b")); got != "executable v1" {
		t.Errorf("app/b = %q after a patch whose result did not match", got)
	}
	if _, err := os.Stat(filepath.Join(root, "app/missing")); !os.IsNotExist(err) {
		t.Errorf("app/missing was made by a patch without a base: %v", err)
	}
	assertNoTemp(t, root)
}

// TestApplyPatchAfterAChangeBehindTheAgent checks that the hash the agent
// keeps of a file a patch made is not trusted once the file changed
// there: the next patch, made against what the agent wrote, is refused.
func TestApplyPatchAfterAChangeBehindTheAgent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "app/b")
	mustWrite(t, p, "executable v1")
	a, err := New(root, []string{"/app"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	apply := func(o op) error {
		return a.Apply(o.f, strings.NewReader(o.content))
	}
	if err := apply(patchOp("/app/b", 0o755, "executable v1", "executable v2")); err != nil {
		t.Fatal(err)
	}
	// Same size, another content, through another file renamed over it.
	mustWrite(t, p+".new", "executable x2")
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	err = apply(patchOp("/app/b", 0o755, "executable v2", "executable v3"))
	if err == nil || !strings.Contains(err.Error(), "not the patch's base") {
		t.Errorf("patch after the file changed behind the agent: %v, want refused", err)
	}
	if got := readFile(t, p); got != "executable x2" {
		t.Errorf("app/b = %q", got)
	}
}

// TestApplyPatchStreamEnds checks that a stream that ends inside a
// patch's payload leaves the file as it was and stops the agent.
func TestApplyPatchStreamEnds(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "app/b"), "executable v1")
	in := encode(t, patchOp("/app/b", 0o755, "executable v1", "executable v2"))
	var out bytes.Buffer
	code := Run([]string{"apply", "--root", root, "--allow", "/app"}, bytes.NewReader(in[:len(in)-3]), &out, io.Discard)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := readFile(t, filepath.Join(root, "app/b")); got != "executable v1" {
		t.Errorf("app/b = %q after a cut patch", got)
	}
	assertNoTemp(t, root)
}
