package agentproto

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzDecoder decodes arbitrary bytes: it must not panic, must return
// frames whose fields are within the protocol's bounds, and must not
// allocate more than a path's worth per frame, whatever sizes the input
// claims.
func FuzzDecoder(f *testing.F) {
	var valid bytes.Buffer
	enc := NewEncoder(&valid)
	_ = enc.Encode(Frame{Kind: KindWrite, Path: "/app/a.txt", Mode: 0o644, Size: 5}, strings.NewReader("hello"))
	_ = enc.Encode(Frame{Kind: KindLink, Path: "/app/l", Size: 5}, strings.NewReader("a.txt"))
	_ = enc.Encode(Frame{Kind: KindDelete, Path: "/app/old"}, nil)
	patch := AppendPatchLiteral(AppendPatchHeader(nil, PatchHeader{Size: 2}), []byte("hi"))
	_ = enc.Encode(Frame{Kind: KindPatch, Path: "/app/exe", Mode: 0o755, Size: int64(len(patch))}, bytes.NewReader(patch))
	_ = enc.Encode(Frame{Kind: KindEnd}, nil)
	f.Add(valid.Bytes())
	f.Add([]byte(Magic))
	f.Add(append([]byte(Magic), 2, 'W', 0xff, 0xff, 0xff, 0xff, 0x0f))
	f.Add(append([]byte(Magic), 2, 'W', 1, '/', 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))
	f.Add([]byte("not a stream"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dec := NewDecoder(bytes.NewReader(b))
		for range len(b) + 2 {
			fr, payload, err := dec.Next()
			if err != nil {
				return
			}
			if len(fr.Path) > MaxPath || fr.Size < 0 || fr.Mode&^modeBits != 0 {
				t.Fatalf("frame out of bounds: %+v", fr)
			}
			if fr.Kind == KindPatch {
				// A patch's payload, read as the agent reads it, against
				// no base.
				if pr, err := NewPatchReader(payload); err == nil {
					var out bytes.Buffer
					if pr.Apply(&out, nil) == nil && int64(out.Len()) != pr.Header().Size {
						t.Fatalf("patch made %d bytes, its header says %d", out.Len(), pr.Header().Size)
					}
				}
				continue
			}
			n, err := io.Copy(io.Discard, payload)
			if err == nil && n != fr.Size {
				t.Fatalf("payload %d bytes, frame says %d", n, fr.Size)
			}
		}
		t.Fatalf("more frames than input bytes")
	})
}
