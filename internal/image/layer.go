package image

import (
	"bytes"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SingleLayer assembles an OCI image of one layer, the tar archive
// layerTar, on an empty base. The layer is recorded with history, the
// config is created at history.Created, and configure fills in the rest of
// the config (platform, environment, entrypoint). The same inputs give the
// same digest.
func SingleLayer(layerTar []byte, history v1.History, configure func(*v1.ConfigFile)) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		// Hide the tarball layer's descriptor, whose empty annotations map
		// would make the in-memory manifest differ from the serialized one.
		Layer:     plainLayer{layer},
		MediaType: types.OCILayer,
		History:   history,
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = history.Created
	configure(cf)
	return mutate.ConfigFile(img, cf)
}

// plainLayer exposes only the v1.Layer methods of the layer it wraps.
type plainLayer struct{ v1.Layer }
