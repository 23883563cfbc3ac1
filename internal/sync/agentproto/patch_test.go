package agentproto

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestPatchRoundTrip(t *testing.T) {
	t.Parallel()
	base := []byte("hello, old world")
	want := []byte("hello, new world!")
	h := PatchHeader{Base: sha256.Sum256(base), Result: sha256.Sum256(want), Size: int64(len(want))}
	p := AppendPatchHeader(nil, h)
	p = AppendPatchCopy(p, 0, 7)
	p = AppendPatchLiteral(p, []byte("new"))
	p = AppendPatchCopy(p, 10, 6)
	p = AppendPatchLiteral(p, []byte("!"))
	pr, err := NewPatchReader(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Header() != h {
		t.Errorf("header = %+v, want %+v", pr.Header(), h)
	}
	var out bytes.Buffer
	if err := pr.Apply(&out, base); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("patched = %q, want %q", out.String(), want)
	}
}

// TestPatchMalformed checks that a patch that copies outside its base,
// makes more or fewer bytes than it says, ends inside an op or has an
// unknown op is refused with ErrPatch.
func TestPatchMalformed(t *testing.T) {
	t.Parallel()
	base := []byte("0123456789")
	head := func(size int64) []byte { return AppendPatchHeader(nil, PatchHeader{Size: size}) }
	for _, tc := range []struct {
		name  string
		patch []byte
		want  string
	}{
		{"copy past the base", AppendPatchCopy(head(4), 8, 4), "outside the base"},
		{"copy at a huge offset", AppendPatchCopy(head(4), 1<<62, 4), "outside the base"},
		{"more than its size", AppendPatchLiteral(head(2), []byte("abc")), "more than the 2 bytes"},
		{"fewer than its size", AppendPatchCopy(head(5), 0, 4), "make 4 bytes, its header says 5"},
		{"no header", nil, "patch header"},
		{"op cut short", append(head(5), 'L', 5, 'a'), "ends inside an op"},
		{"unknown op", append(head(1), 'X', 1), "unknown op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr, err := NewPatchReader(bytes.NewReader(tc.patch))
			if err == nil {
				err = pr.Apply(&bytes.Buffer{}, base)
			}
			if !errors.Is(err, ErrPatch) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrPatch saying %q", err, tc.want)
			}
		})
	}
}

// FuzzPatch applies arbitrary patches to a small base: no panic, and
// what is written never exceeds the size the header says.
func FuzzPatch(f *testing.F) {
	p := AppendPatchHeader(nil, PatchHeader{Size: 6})
	p = AppendPatchCopy(p, 2, 3)
	p = AppendPatchLiteral(p, []byte("xyz"))
	f.Add(p)
	f.Add(AppendPatchCopy(AppendPatchHeader(nil, PatchHeader{Size: 1 << 40}), 0, 1<<40))
	f.Add([]byte{})
	base := []byte("0123456789")
	f.Fuzz(func(t *testing.T, b []byte) {
		pr, err := NewPatchReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		err = pr.Apply(&out, base)
		if int64(out.Len()) > pr.Header().Size {
			t.Fatalf("wrote %d bytes, the header says %d", out.Len(), pr.Header().Size)
		}
		if err == nil && int64(out.Len()) != pr.Header().Size {
			t.Fatalf("wrote %d bytes without an error, the header says %d", out.Len(), pr.Header().Size)
		}
	})
}
