package image

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func emptyIndex() v1.ImageIndex {
	return mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
}

// platformImage returns a random image whose config names os linux and arch.
func platformImage(t *testing.T, arch, variant string) v1.Image {
	t.Helper()
	img := randomImage(t, 1)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", arch, variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
