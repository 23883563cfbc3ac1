package ko

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layer is a layer held in memory whose digests were computed once, when
// it was made: pushing or loading it reads bytes, it never compresses or
// hashes again. Its blob is gzipped, or the plain tar stream when it only
// goes to the Docker daemon or a registry on this machine.
type layer struct {
	diffID    v1.Hash
	digest    v1.Hash
	blob      []byte
	gzipped   bool
	mediaType types.MediaType
}

var _ v1.Layer = (*layer)(nil)

// newLayer makes a layer of the tar stream tarball. When gzipped, it is
// compressed at the fastest level on all cores while it is hashed: the
// binary layer is remade on every change, and compressing harder costs
// more time than it saves in transfer. Otherwise the blob is tarball
// itself, and its digest is its diff ID.
func newLayer(tarball []byte, gzipped bool) (*layer, error) {
	if !gzipped {
		h := sha256.New()
		h.Write(tarball)
		d := sum(h)
		return &layer{diffID: d, digest: d, blob: tarball, mediaType: types.DockerUncompressedLayer}, nil
	}
	diffCh := make(chan v1.Hash, 1)
	go func() {
		h := sha256.New()
		h.Write(tarball)
		diffCh <- sum(h)
	}()
	compressed, err := gzipParallel(tarball)
	diffID := <-diffCh
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(compressed)
	return &layer{diffID: diffID, digest: sum(h), blob: compressed, gzipped: true, mediaType: types.DockerLayer}, nil
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
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}

// Uncompressed implements v1.Layer.
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	if !l.gzipped {
		return io.NopCloser(bytes.NewReader(l.blob)), nil
	}
	return gzip.NewReader(bytes.NewReader(l.blob))
}

// Size implements v1.Layer.
func (l *layer) Size() (int64, error) { return int64(len(l.blob)), nil }

// MediaType implements v1.Layer.
func (l *layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// layerCache keeps the last layer made in each slot (an artifact, a
// platform and a kind of layer) with the content it was made from, so a
// rebuild whose binary or kodata directory did not change reuses the
// compressed layer: comparing bytes costs far less than compressing them.
type layerCache struct {
	mu    sync.Mutex
	slots map[string]cached
}

type cached struct {
	content []byte
	layer   *layer
}

// get returns the layer of content, from slot when content is the same as
// last time; otherwise tarball makes the layer's tar stream. The cache
// keeps content: the caller must not change it afterwards.
func (c *layerCache) get(slot string, content []byte, gzipped bool, tarball func() ([]byte, error)) (*layer, error) {
	if gzipped {
		slot += "\x00gzip"
	}
	c.mu.Lock()
	prev, ok := c.slots[slot]
	c.mu.Unlock()
	if ok && bytes.Equal(prev.content, content) {
		return prev.layer, nil
	}
	t, err := tarball()
	if err != nil {
		return nil, err
	}
	l, err := newLayer(t, gzipped)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.slots == nil {
		c.slots = map[string]cached{}
	}
	c.slots[slot] = cached{content, l}
	c.mu.Unlock()
	return l, nil
}
