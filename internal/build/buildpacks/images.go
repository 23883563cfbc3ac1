package buildpacks

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"skiff.dev/skiff/internal/image"
)

// ensureImage makes sure ref is in the Docker daemon, as fresh as its
// registry has it: it pulls when the daemon lacks it or the registry's
// digest differs from the daemon's; with the registry unreachable, or for
// an image made locally, the daemon's copy is used. what names the image
// in errors ("builder").
func (b *Builder) ensureImage(ctx context.Context, reg *image.Registry, ref, what string, platform *ocispec.Platform) (client.ImageInspectResult, error) {
	local, err := b.client.ImageInspect(ctx, ref)
	found := err == nil
	if err != nil && !cerrdefs.IsNotFound(err) {
		return local, fmt.Errorf("looking for the %s image %s in the Docker Engine at %s: %w", what, ref, b.client.DaemonHost(), err)
	}
	n, perr := name.ParseReference(ref)
	if perr != nil {
		return local, fmt.Errorf("the %s image %q is not an image reference: %w", what, ref, perr)
	}
	otherPlatform := found && platform != nil && (local.Os != platform.OS || local.Architecture != platform.Architecture)
	if otherPlatform {
		// The daemon has another platform's image under ref: pull the one
		// asked for, if the registry has it.
		found = false
	}
	if found {
		// An image pinned by digest cannot be stale, and one with no repo
		// digest was built or loaded locally, not pulled.
		if _, isDigest := n.(name.Digest); isDigest || len(local.RepoDigests) == 0 {
			return local, nil
		}
		digest, ok, err := reg.Digest(ctx, ref)
		if err != nil || !ok || slices.ContainsFunc(local.RepoDigests, func(d string) bool { return strings.HasSuffix(d, "@"+digest) }) {
			// Offline, or a local-only image, or up to date.
			return local, nil
		}
	}
	pull := client.ImagePullOptions{}
	if platform != nil {
		pull.Platforms = []ocispec.Platform{*platform}
	}
	if auth, err := image.RegistryAuth(ctx, b.opts.keychain, n.Context().Registry); err == nil {
		pull.RegistryAuth = auth
	}
	err = func() error {
		resp, err := b.client.ImagePull(ctx, ref, pull)
		if err != nil {
			return err
		}
		defer resp.Close()
		return resp.Wait(ctx)
	}()
	if err != nil {
		if found || otherPlatform {
			// The caller says what the daemon's image lacks.
			return local, nil
		}
		return local, &PullError{What: what, Ref: ref, Err: err}
	}
	local, err = b.client.ImageInspect(ctx, ref)
	if err != nil {
		return local, &PullError{What: what, Ref: ref, Err: fmt.Errorf("pulled, but the daemon does not find it: %w", err)}
	}
	return local, nil
}

// lifecycleImage returns an image holding only the builder's lifecycle
// (/cnb/lifecycle on skiff's static base, with CA certificates), made
// once per builder image and kept in the daemon under a tag naming the
// builder's image ID; the phases that see credentials run from it.
func (b *Builder) lifecycleImage(ctx context.Context, builderID string, platform v1.Platform) (string, error) {
	tag := "skiff-cnb-lifecycle:" + shortID(builderID)
	if _, err := b.client.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("looking for the lifecycle image %s: %w", tag, err)
	}
	layerTar, err := b.copyLifecycle(ctx, builderID)
	if err != nil {
		return "", err
	}
	base, err := image.StaticBase(platform)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return "", err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: fixedTime}, CreatedBy: "skiff: /cnb/lifecycle of builder " + builderID,
	}})
	if err != nil {
		return "", err
	}
	if _, err := image.Load(ctx, b.client, tag, img); err != nil {
		return "", fmt.Errorf("making the lifecycle image for an untrusted builder: %w", err)
	}
	return tag, nil
}

// copyLifecycle reads /cnb/lifecycle and /cnb/run.toml (the run image,
// with its mirrors, which the analyzer, restorer and exporter read) out
// of the builder image, as a layer with the paths cnb/...
func (b *Builder) copyLifecycle(ctx context.Context, builderID string) ([]byte, error) {
	res, err := b.client.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: builderID, Cmd: []string{"/cnb/lifecycle/lifecycle"}, Entrypoint: []string{}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the builder's lifecycle: creating a container: %w", err)
	}
	lc := &lifecycleContainer{c: b.client, id: res.ID}
	defer lc.remove(ctx)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := addParents(tw, "cnb"); err != nil {
		return nil, err
	}
	for _, p := range []string{"/cnb/lifecycle", "/cnb/run.toml"} {
		cp, err := b.client.CopyFromContainer(ctx, res.ID, client.CopyFromContainerOptions{SourcePath: p})
		if p == "/cnb/run.toml" && cerrdefs.IsNotFound(err) {
			// A builder may leave it out; the run image is a flag.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the builder's %s: %w", p, err)
		}
		err = copyUnder(tw, cp.Content, "cnb/")
		cp.Content.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the builder's %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// copyUnder copies the entries of a tar stream into tw, under prefix,
// with fixed times.
func copyUnder(tw *tar.Writer, r io.Reader, prefix string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		h.Name = prefix + strings.TrimPrefix(h.Name, "/")
		h.ModTime, h.AccessTime, h.ChangeTime = fixedTime, fixedTime, fixedTime
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// shortID is the first 16 hex digits of an image ID.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 16 {
		id = id[:16]
	}
	return id
}
