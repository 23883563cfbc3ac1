package ko

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"testing"
)

func TestGzipParallel(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3*chunkSize+chunkSize/2)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// Text that repeats with a period that does not divide chunkSize, so
	// matches cross chunk boundaries.
	var text []byte
	for len(text) < 3*chunkSize+12345 {
		text = append(text, "the quick brown fox jumps over the lazy dog 0123456789\n"...)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{42}},
		{"chunk-1", text[:chunkSize-1]},
		{"chunk", text[:chunkSize]},
		{"chunk+1", text[:chunkSize+1]},
		{"text", text},
		{"random", random},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := gzipBytes(t, tc.data)
			// One gzip member, read by the standard library's decoder.
			br := bytes.NewReader(z)
			zr, err := gzip.NewReader(br)
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("decompressing: %v", err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Fatalf("round trip gave %d bytes, want the %d compressed", len(got), len(tc.data))
			}
			if br.Len() != 0 {
				t.Errorf("%d bytes after the first gzip member, want one member", br.Len())
			}
			again := gzipBytes(t, tc.data)
			if !bytes.Equal(z, again) {
				t.Error("compressing twice gave different bytes")
			}
			if len(tc.data) == len(text) && len(z) > len(text)/10 {
				t.Errorf("repetitive text compressed to %d of %d bytes: the dictionary is not reaching across chunks", len(z), len(text))
			}
		})
	}
}

// gzipBytes is gzipParallel of data.
func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	if err := gzipParallel(&z, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}
