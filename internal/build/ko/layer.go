package ko

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/gzip"

	"skiff.dev/skiff/internal/fsutil"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layer is a layer kept in a file whose digests were computed once, when
// it was made: pushing or loading it reads the file, it never compresses
// or hashes again. Its blob is gzipped, or the plain tar stream when it
// only goes to the Docker daemon or a registry on this machine. The file
// was removed from its directory when it was made: it goes away when the
// layer is no longer referenced (os.File's finalizer closes it) or the
// process ends, and a layer of a service's executable costs the heap
// nothing.
type layer struct {
	diffID    v1.Hash
	digest    v1.Hash
	blob      *os.File
	size      int64
	gzipped   bool
	mediaType types.MediaType
}

var _ v1.Layer = (*layer)(nil)

// tarFile is an uncompressed layer made by writing its tar stream to an
// unnamed temporary file, hashed on the way.
type tarFile struct {
	f      *os.File
	size   int64
	diffID v1.Hash
}

// newTarFile writes the tar stream that write makes to a temporary file,
// removed from its directory at once (see layer), and hashes it.
func newTarFile(write func(io.Writer) error) (*tarFile, error) {
	f, err := fsutil.UnnamedTemp("skiff-ko-layer-*", "an image layer")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	w := &fsutil.CountingWriter{W: io.MultiWriter(f, h)}
	if err := write(w); err != nil {
		f.Close()
		return nil, err
	}
	return &tarFile{f: f, size: w.N, diffID: sum(h)}, nil
}

// newLayer makes a layer of the tar stream t. When gzipped, it is
// compressed at the fastest level on all cores while it is hashed: the
// binary layer is remade on every change, and compressing harder costs
// more time than it saves in transfer. Otherwise the blob is t itself, and
// its digest is its diff ID.
func newLayer(t *tarFile, gzipped bool) (*layer, error) {
	if !gzipped {
		return &layer{diffID: t.diffID, digest: t.diffID, blob: t.f, size: t.size, mediaType: types.DockerUncompressedLayer}, nil
	}
	defer t.f.Close()
	f, err := fsutil.UnnamedTemp("skiff-ko-layer-*", "an image layer")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	w := &fsutil.CountingWriter{W: io.MultiWriter(f, h)}
	if err := gzipParallel(w, t.f, t.size); err != nil {
		f.Close()
		return nil, fmt.Errorf("compressing an image layer: %w", err)
	}
	return &layer{diffID: t.diffID, digest: sum(h), blob: f, size: w.N, gzipped: true, mediaType: types.DockerLayer}, nil
}

// withMediaType returns l typed to match a base image's manifest, OCI or
// Docker: some registries reject manifests that mix the two.
func (l *layer) withMediaType(oci bool) *layer {
	mt := types.DockerLayer
	switch {
	case oci && l.gzipped:
		mt = types.OCILayer
	case oci:
		mt = types.OCIUncompressedLayer
	case !l.gzipped:
		mt = types.DockerUncompressedLayer
	}
	if l.mediaType == mt {
		return l
	}
	c := *l
	c.mediaType = mt
	return &c
}

// Digest implements v1.Layer.
func (l *layer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements v1.Layer.
func (l *layer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Compressed implements v1.Layer: the blob as it is pushed.
func (l *layer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(l.blob, 0, l.size)), nil
}

// Uncompressed implements v1.Layer.
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	if !l.gzipped {
		return io.NopCloser(io.NewSectionReader(l.blob, 0, l.size)), nil
	}
	return gzip.NewReader(io.NewSectionReader(l.blob, 0, l.size))
}

// Size implements v1.Layer.
func (l *layer) Size() (int64, error) { return l.size, nil }

// MediaType implements v1.Layer.
func (l *layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// layerCache keeps the last layer made in each slot (an artifact, a
// platform and a kind of layer), so a rebuild whose binary or kodata
// directory did not change reuses the compressed layer: hashing the tar
// stream costs far less than compressing it.
type layerCache struct {
	mu    sync.Mutex
	slots map[string]*layer
}

// get returns the layer of the tar stream write makes: the one in slot
// when the stream is the same as last time, else a new one.
func (c *layerCache) get(slot string, gzipped bool, write func(io.Writer) error) (*layer, error) {
	if gzipped {
		slot += "\x00gzip"
	}
	t, err := newTarFile(write)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	prev, ok := c.slots[slot]
	c.mu.Unlock()
	if ok && prev.diffID == t.diffID {
		t.f.Close()
		return prev, nil
	}
	l, err := newLayer(t, gzipped)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.slots == nil {
		c.slots = map[string]*layer{}
	}
	c.slots[slot] = l
	c.mu.Unlock()
	return l, nil
}
