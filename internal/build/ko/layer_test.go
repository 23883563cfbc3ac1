package ko

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestBinaryLayerStreams: the layer of an executable much larger than the
// heap it may use is made from the file without reading it whole into
// memory, plain and gzipped, and holds the file's bytes; the same content
// again gives the cached layer.
func TestBinaryLayerStreams(t *testing.T) {
	// Not parallel: it counts the process's allocations and sets
	// GOMAXPROCS, on which gzipParallel's buffers depend.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const size = 48 << 20
	content := make([]byte, size)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < size; i += 8 {
		// Half random, half zeros: compressible, as executables are.
		if i%(1<<20) < 1<<19 {
			v := rng.Uint64()
			for k := range 8 {
				content[i+k] = byte(v >> (8 * k))
			}
		}
	}
	want := sha256.Sum256(content)
	file := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(file, content, 0o755); err != nil {
		t.Fatal(err)
	}
	content = nil
	runtime.GC()

	for _, gzipped := range []bool{false, true} {
		var b Builder
		c := &compiled{file: file, name: "app"}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		l, err := b.binaryLayer("slot", &spec{gzip: gzipped}, c)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		// The old code held the executable and its tar stream: twice the
		// size. A few chunks and buffers are allowed.
		if got := after.TotalAlloc - before.TotalAlloc; got > size/4 {
			t.Errorf("gzip %t: making the layer of a %d MB executable allocated %d MB: it is read into memory", gzipped, size>>20, got>>20)
		}
		if n, _ := l.Size(); gzipped && n >= size {
			t.Errorf("gzip %t: blob of %d bytes for %d of half zeros: not compressed", gzipped, n, size)
		}
		r, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(r)
		found := false
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("gzip %t: reading the layer: %v", gzipped, err)
			}
			if hdr.Name != "ko-app/app" {
				continue
			}
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("gzip %t: ko-app/app in the layer differs from the executable", gzipped)
			}
			found = true
		}
		r.Close()
		if !found {
			t.Errorf("gzip %t: no ko-app/app in the layer", gzipped)
		}
		again, err := b.binaryLayer("slot", &spec{gzip: gzipped}, c)
		if err != nil {
			t.Fatal(err)
		}
		if again != l {
			t.Errorf("gzip %t: the same executable again made a new layer, want the cached one", gzipped)
		}
	}
}
