package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/image"
)

// ensureImage returns the ID of the daemon's image ref, pulling it first
// when the daemon does not have it.
func (d *Deployer) ensureImage(ctx context.Context, im artifact.Image, ref string) (string, error) {
	id, ok, err := d.imageID(ctx, ref)
	if err != nil || ok {
		return id, err
	}
	d.printf(" - pulling %s\n", ref)
	auth, err := d.registryAuth(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("pulling %s: reading the registry's credentials: %w", ref, err)
	}
	res, err := d.cli.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err == nil {
		err = res.Wait(ctx)
		res.Close()
	}
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			return "", daemonError(d.cli, "pulling "+ref, err)
		}
		return "", fmt.Errorf("running %s: the Docker daemon has no image %s and could not pull it: %w; build it with `skiff build` (which loads it into the daemon when not pushing), or check that its registry has it", im.Name, ref, err)
	}
	id, ok, err = d.imageID(ctx, ref)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("running %s: the Docker daemon pulled %s but has no image of that name", im.Name, ref)
	}
	return id, nil
}

// imageID returns the ID of the daemon's image ref, or ok=false when the
// daemon has no such image.
func (d *Deployer) imageID(ctx context.Context, ref string) (id string, ok bool, err error) {
	res, err := d.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, daemonError(d.cli, "looking up image "+ref, err)
	}
	return res.ID, true, nil
}

// daemonRef is the reference to give the daemon for ref: repo:tag, or
// repo@digest for a pushed repo:tag@digest, which the daemon does not
// find by both.
func daemonRef(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	dg, digested := n.(reference.Digested)
	if _, tagged := n.(reference.Tagged); !digested || !tagged {
		return ref
	}
	c, err := reference.WithDigest(reference.TrimNamed(n), dg.Digest())
	if err != nil {
		return ref
	}
	return reference.FamiliarString(c)
}

// registryAuth encodes the keychain's credentials for ref's registry as
// the Engine API's X-Registry-Auth header.
func (d *Deployer) registryAuth(ctx context.Context, ref string) (string, error) {
	n, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid image reference: %w", ref, err)
	}
	return image.RegistryAuth(ctx, d.keychain, n.Context().Registry)
}

// LocalImage makes sure the Docker daemon has im, pulling it when it does
// not (a pushed image), and returns the reference the daemon knows it by:
// what programs that read images from the daemon are given.
func (d *Deployer) LocalImage(ctx context.Context, im artifact.Image) (string, error) {
	ref := daemonRef(im.Ref)
	if _, err := d.ensureImage(ctx, im, ref); err != nil {
		return "", err
	}
	return ref, nil
}
