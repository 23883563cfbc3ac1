//go:build e2e

package sync_test

import (
	"archive/tar"
	"bytes"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"skiff.dev/skiff/internal/image"
)

// pushImage pushes a one-layer image for linux on the host's architecture
// to repo:tag and returns it as repo@digest: write fills the layer,
// configure sets the entrypoint, command or environment.
func pushImage(t *testing.T, reg *image.Registry, repo, tag string, write func(tw *tar.Writer) error, configure func(*v1.Config)) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := write(tw); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	configure(&cf.Config)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	digest, err := reg.Push(t.Context(), repo+":"+tag, img)
	if err != nil {
		t.Fatalf("pushing %s:%s: %v", repo, tag, err)
	}
	return repo + "@" + digest
}
