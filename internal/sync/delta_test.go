package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// randomBytes returns n bytes of a fixed pseudo-random sequence.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// indexOf indexes base.
func indexOf(t *testing.T, base []byte) *deltaIndex {
	t.Helper()
	x, err := newDeltaIndex(bytes.NewReader(base), int64(len(base)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// applyDelta applies the patch appendDelta makes from base to nw, as the
// agent does, and returns what it makes and the share of nw it copied.
func applyDelta(t *testing.T, base, nw []byte) ([]byte, float64) {
	t.Helper()
	payload := agentproto.AppendPatchHeader(nil, agentproto.PatchHeader{Size: int64(len(nw))})
	payload, copied := appendDelta(payload, mapping{data: base}, indexOf(t, base), mapping{data: nw})
	pr, err := agentproto.NewPatchReader(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pr.Apply(&out, base); err != nil {
		t.Fatal(err)
	}
	if len(nw) == 0 {
		return out.Bytes(), 1
	}
	return out.Bytes(), float64(copied) / float64(len(nw))
}

// TestDelta checks that the patch makes the new content from the base,
// and that it copies what did not change, also where it moved.
func TestDelta(t *testing.T) {
	t.Parallel()
	base := randomBytes(1, 1<<20)
	mid := len(base) / 2
	scattered := slices.Clone(base)
	for i := 1000; i < len(scattered); i += 50_000 {
		scattered[i] ^= 0xff
	}
	for _, tc := range []struct {
		name      string
		base, nw  []byte
		minCopied float64
		maxCopied float64
	}{
		{"same", base, base, 1, 1},
		{"bytes inserted in the middle", base, slices.Concat(base[:mid], []byte("new code"), base[mid:]), 0.999, 1},
		{"bytes removed in the middle", base, slices.Concat(base[:mid], base[mid+333:]), 0.999, 1},
		{"a block moved to the start", base, slices.Concat(base[mid:mid+4096], base[:mid], base[mid+4096:]), 0.999, 1},
		{"bytes changed here and there", base, scattered, 0.999, 1},
		{"all new", base, randomBytes(2, 1<<16), 0, 0.01},
		{"empty", base, nil, 1, 1},
		{"from nothing", nil, randomBytes(3, 100), 0, 0},
		{"shorter than a block", base[:10], base[:9], 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, copied := applyDelta(t, tc.base, tc.nw)
			if !bytes.Equal(got, tc.nw) {
				t.Fatalf("the patch makes %d bytes that differ from the %d new ones", len(got), len(tc.nw))
			}
			if copied < tc.minCopied || copied > tc.maxCopied {
				t.Errorf("copied %.4f of the new content from the base, want %.3f to %.3f", copied, tc.minCopied, tc.maxCopied)
			}
		})
	}
}

// deltaOp writes content to a new file, renames it to the local file exe
// under dir, as a hot swap replaces its executable, and returns the Write
// of it to /skiff/app/exe, with a Delta.
func deltaOp(t *testing.T, dir string, content []byte) Op {
	t.Helper()
	p := filepath.Join(dir, "exe")
	if err := os.WriteFile(p+".new", content, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	return Op{Kind: Write, Local: p, Base: dir, Dest: "/skiff/app/exe", Root: "/skiff/app", Delta: &Sent{}}
}

func wantContent(t *testing.T, p string, want []byte) {
	t.Helper()
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes (%v), want the %d bytes sent", p, len(got), err, len(want))
	}
}

// TestAgentTransportSendsADelta checks that a Write with a Delta goes
// whole the first time and as a patch against it the next, into two
// containers, the patch made once for both; and that what it makes is
// the file.
func TestAgentTransportSendsADelta(t *testing.T) {
	t.Parallel()
	dir, root1, root2 := t.TempDir(), t.TempDir(), t.TempDir()
	roots := map[Target]string{target: root1, target2: root2}
	tr := &AgentTransport{Exec: agentExecs(roots)}
	defer tr.Close()
	v1 := randomBytes(1, 1<<20)
	op := deltaOp(t, dir, v1)
	for tg := range roots {
		if err := tr.Sync(t.Context(), tg, []Op{op}); err != nil {
			t.Fatal(err)
		}
	}
	if n, p := op.Delta.Files.Load(), op.Delta.Patched.Load(); n != 2 || p != 0 {
		t.Errorf("first sync: %d files, %d patches; want 2 whole", n, p)
	}
	v2 := slices.Concat(v1[:1000], []byte("a change"), v1[1000:])
	op = deltaOp(t, dir, v2)
	for tg := range roots {
		if err := tr.Sync(t.Context(), tg, []Op{op}); err != nil {
			t.Fatal(err)
		}
	}
	if n, p := op.Delta.Files.Load(), op.Delta.Patched.Load(); n != 2 || p != 2 {
		t.Errorf("second sync: %d files, %d patches; want 2 patches", n, p)
	}
	if b := op.Delta.Bytes.Load(); b > 1000 || op.Delta.Size.Load() != 2*int64(len(v2)) {
		t.Errorf("second sync sent %d bytes for %d; want under 1000", b, op.Delta.Size.Load())
	}
	for _, r := range roots {
		wantContent(t, filepath.Join(r, "skiff/app/exe"), v2)
	}
	sum := sha256.Sum256(v2)
	if b := tr.bases[op.Local]; b == nil || b.sum != sum || len(tr.bases) != 1 {
		t.Errorf("the transport keeps %d bases, want only the latest content of %s", len(tr.bases), op.Local)
	}
}

// TestAgentTransportSendsWholeWhenThePatchIsRefused checks that when the
// file in the container is not the one skiff wrote there, the agent's
// refusal of the patch makes skiff send the file whole, and the operations
// after it again, and that the sync succeeds.
func TestAgentTransportSendsWholeWhenThePatchIsRefused(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	tr := &AgentTransport{Exec: agentExec(root)}
	defer tr.Close()
	v1 := randomBytes(1, 1<<18)
	if err := tr.Sync(t.Context(), target, []Op{deltaOp(t, dir, v1)}); err != nil {
		t.Fatal(err)
	}
	// Something else changed the file in the container.
	changed := slices.Clone(v1)
	changed[7] ^= 1
	if err := os.WriteFile(filepath.Join(root, "skiff/app/exe"), changed, 0o755); err != nil {
		t.Fatal(err)
	}
	v2 := slices.Concat(v1[:1000], []byte("a change"), v1[1000:])
	op := deltaOp(t, dir, v2)
	after := writeOp(t, dir, "after.txt", "after", "/skiff/app")
	if err := tr.Sync(t.Context(), target, []Op{op, after}); err != nil {
		t.Fatalf("sync after the file changed in the container: %v", err)
	}
	if n, p := op.Delta.Files.Load(), op.Delta.Patched.Load(); n != 2 || p != 1 {
		t.Errorf("%d files sent, %d patches; want a patch, then the whole file", n, p)
	}
	wantContent(t, filepath.Join(root, "skiff/app/exe"), v2)
	wantFile(t, root, "skiff/app/after.txt", "after")
	// The next change goes as a patch again, against the whole file.
	v3 := slices.Concat(v2[:2000], []byte("another"), v2[2000:])
	op = deltaOp(t, dir, v3)
	if err := tr.Sync(t.Context(), target, []Op{op}); err != nil {
		t.Fatal(err)
	}
	if p := op.Delta.Patched.Load(); p != 1 {
		t.Errorf("the change after a whole file: %d patches, want 1", p)
	}
	wantContent(t, filepath.Join(root, "skiff/app/exe"), v3)
}

// agentExecs runs skiff-agent in process in each target, with its root
// standing for that container's "/".
type agentExecs map[Target]string

func (e agentExecs) Exec(ctx context.Context, t Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return agentExec(e[t]).Exec(ctx, t, cmd, stdin, stdout, stderr)
}

// TestAgentTransportSendsWholeWhenAPatchWouldNotPay checks that a file
// that changed all over goes whole, not as a patch of literals.
func TestAgentTransportSendsWholeWhenAPatchWouldNotPay(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	tr := &AgentTransport{Exec: agentExec(root)}
	defer tr.Close()
	if err := tr.Sync(t.Context(), target, []Op{deltaOp(t, dir, randomBytes(1, 1<<16))}); err != nil {
		t.Fatal(err)
	}
	v2 := randomBytes(2, 1<<16)
	op := deltaOp(t, dir, v2)
	if err := tr.Sync(t.Context(), target, []Op{op}); err != nil {
		t.Fatal(err)
	}
	if n, p := op.Delta.Files.Load(), op.Delta.Patched.Load(); n != 1 || p != 0 {
		t.Errorf("%d files sent, %d patches; want the file whole", n, p)
	}
	wantContent(t, filepath.Join(root, "skiff/app/exe"), v2)
}

// TestAgentTransportSendsWholeAFileRewrittenInPlace checks that when the
// local file is rewritten in place rather than replaced, so that the
// transport's base is gone, the next Write goes whole and arrives intact.
func TestAgentTransportSendsWholeAFileRewrittenInPlace(t *testing.T) {
	t.Parallel()
	dir, root := t.TempDir(), t.TempDir()
	tr := &AgentTransport{Exec: agentExec(root)}
	defer tr.Close()
	v1 := randomBytes(1, 1<<18)
	op := deltaOp(t, dir, v1)
	if err := tr.Sync(t.Context(), target, []Op{op}); err != nil {
		t.Fatal(err)
	}
	v2 := slices.Concat(v1[:1000], []byte("a change"), v1[1000:])
	if err := os.WriteFile(op.Local, v2, 0o755); err != nil {
		t.Fatal(err)
	}
	op.Delta = &Sent{}
	if err := tr.Sync(t.Context(), target, []Op{op}); err != nil {
		t.Fatal(err)
	}
	if n, p := op.Delta.Files.Load(), op.Delta.Patched.Load(); n != 1 || p != 0 {
		t.Errorf("%d files sent, %d patches; want the file whole", n, p)
	}
	wantContent(t, filepath.Join(root, "skiff/app/exe"), v2)
}

// TestDeltaIndexOfAShortFile checks that indexing a file shorter than
// its size says so, rather than indexing what it read: the diff would
// then copy from bytes the container does not have.
func TestDeltaIndexOfAShortFile(t *testing.T) {
	t.Parallel()
	base := randomBytes(1, 100<<10)
	if _, err := newDeltaIndex(bytes.NewReader(base), int64(len(base))+1, nil); err != io.ErrUnexpectedEOF {
		t.Errorf("indexing %d bytes as %d: %v, want %v", len(base), len(base)+1, err, io.ErrUnexpectedEOF)
	}
}
