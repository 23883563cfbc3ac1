package build

import (
	"context"
	"errors"
	"fmt"

	"skiff.dev/skiff/internal/image"
)

// ImagePublisher publishes through a registry client and, for images that
// stay local, the Docker daemon.
type ImagePublisher struct {
	Registry *image.Registry
	// Daemon is the local Docker Engine; it may be nil when every image is
	// pushed and no builder needs it.
	Daemon image.Daemon
	// PushOptions configure pushes from the daemon (credentials, the
	// docker config file errors name).
	PushOptions []image.Option
}

var errNoDaemon = errors.New("the Docker Engine is needed to keep images local; start dockerd, or push to a registry (--push, --default-repo)")

// Publish implements Publisher.
func (p *ImagePublisher) Publish(ctx context.Context, ref string, b Built, push bool) (Published, error) {
	switch {
	case b.Index != nil && push:
		d, err := p.Registry.PushIndex(ctx, ref, b.Index)
		return Published{Digest: d}, err
	case b.Index != nil:
		return Published{}, fmt.Errorf("a multi-platform image cannot be loaded into the local Docker daemon; push it (--push, --default-repo) or build one platform")
	case b.Image != nil && push:
		d, err := p.Registry.Push(ctx, ref, b.Image)
		return Published{Digest: d}, err
	case b.Image != nil:
		if p.Daemon == nil {
			return Published{}, errNoDaemon
		}
		id, err := image.Load(ctx, p.Daemon, ref, b.Image)
		return Published{ImageID: id}, err
	case b.DaemonID != "" && push:
		d, err := image.PushFromDaemon(ctx, p.Daemon, ref, p.PushOptions...)
		return Published{Digest: d}, err
	case b.DaemonID != "":
		return Published{ImageID: b.DaemonID}, nil
	case b.External && push:
		d, ok, err := p.Registry.Digest(ctx, ref)
		if err == nil && !ok {
			err = fmt.Errorf("the build command succeeded but %s is not in the registry; it must push $IMAGE when $PUSH_IMAGE is true", ref)
		}
		return Published{Digest: d}, err
	case b.External:
		if p.Daemon == nil {
			return Published{}, errNoDaemon
		}
		id, ok, err := image.ImageID(ctx, p.Daemon, ref)
		if err == nil && !ok {
			err = fmt.Errorf("the build command succeeded but %s is not in the local Docker daemon; it must build and tag $IMAGE", ref)
		}
		return Published{ImageID: id}, err
	}
	return Published{}, fmt.Errorf("the builder produced no image")
}

// Reuse implements Publisher: a pushed image is found by digest and given
// the new tag in its registry; a local one by ID and tagged in the daemon.
func (p *ImagePublisher) Reuse(ctx context.Context, ref string, e CacheEntry, push bool) (Published, bool, error) {
	if push {
		if e.Digest == "" {
			return Published{}, false, nil
		}
		repo := ref[:len(ref)-len(tagOf(ref))-1]
		digestRef := repo + "@" + e.Digest
		if _, ok, err := p.Registry.Digest(ctx, digestRef); err != nil || !ok {
			return Published{}, false, err
		}
		if e.Ref != ref {
			if err := p.Registry.Tag(ctx, digestRef, ref); err != nil {
				return Published{}, false, err
			}
		}
		return Published{Digest: e.Digest}, true, nil
	}
	if e.ImageID == "" || p.Daemon == nil {
		return Published{}, false, nil
	}
	id, ok, err := image.ImageID(ctx, p.Daemon, e.ImageID)
	if err != nil || !ok {
		return Published{}, false, err
	}
	if e.Ref != ref {
		if err := image.TagInDaemon(ctx, p.Daemon, e.ImageID, ref); err != nil {
			return Published{}, false, err
		}
	}
	return Published{ImageID: id}, true, nil
}

// tagOf returns the tag of repository:tag (the part after the last colon
// that is not part of a registry host:port).
func tagOf(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return ref[i+1:]
		case '/':
			return ""
		}
	}
	return ""
}
