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

// layer is a gzipped layer held in memory whose digests were computed
// once, when it was made: pushing or loading it reads bytes, it never
// compresses or hashes again.
type layer struct {
	diffID     v1.Hash
	digest     v1.Hash
	compressed []byte
	mediaType  types.MediaType
}

var _ v1.Layer = (*layer)(nil)

// newLayer compresses the tar stream tarball at the fastest gzip level: the
// binary layer is rebuilt on every change, and on a loopback or local
// registry compressing harder costs more time than it saves in transfer.
func newLayer(tarball []byte, diffID v1.Hash) (*layer, error) {
	var buf bytes.Buffer
	buf.Grow(len(tarball)/2 + 512)
	h := sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(&buf, h), gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarball); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &layer{diffID: diffID, digest: sum(h), compressed: buf.Bytes(), mediaType: types.DockerLayer}, nil
}

// withMediaType returns l typed to match a base image's manifest: some
// registries reject manifests that mix Docker and OCI layer types.
func (l *layer) withMediaType(mt types.MediaType) *layer {
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

// Compressed implements v1.Layer.
func (l *layer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}

// Uncompressed implements v1.Layer.
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.compressed))
}

// Size implements v1.Layer.
func (l *layer) Size() (int64, error) { return int64(len(l.compressed)), nil }

// MediaType implements v1.Layer.
func (l *layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// layerCache keeps the last layer made in each slot (an artifact, a
// platform and a kind of layer), so a rebuild whose binary or kodata
// directory did not change reuses the compressed layer: hashing the tar
// stream is several times cheaper than compressing it.
type layerCache struct {
	mu    sync.Mutex
	slots map[string]*layer
}

// get returns the layer for tarball, from slot when its content is the
// same as last time.
func (c *layerCache) get(slot string, tarball []byte) (*layer, error) {
	h := sha256.New()
	h.Write(tarball)
	diffID := sum(h)
	c.mu.Lock()
	l := c.slots[slot]
	c.mu.Unlock()
	if l != nil && l.diffID == diffID {
		return l, nil
	}
	l, err := newLayer(tarball, diffID)
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
