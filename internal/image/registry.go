package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Registry pushes to and reads from registries with Docker config
// credentials and credential helpers (authn.DefaultKeychain), over plain
// HTTP only for registries listed as insecure or on loopback (127.0.0.0/8,
// localhost, ::1). It keeps connections and tokens between calls and is
// safe for concurrent use.
type Registry struct {
	insecure map[string]bool
	// dockerConfig is the docker config file errors name.
	dockerConfig string
	pusher       *remote.Pusher
	puller       *remote.Puller
}

// Option configures a Registry (and the daemon functions that need
// credentials).
type Option func(*options)

type options struct {
	keychain     authn.Keychain
	transport    http.RoundTripper
	userAgent    string
	dockerConfig string
}

// DefaultDockerConfig is the docker config file errors name when
// WithDockerConfig sets none.
const DefaultDockerConfig = "~/.docker/config.json"

func makeOptions(opts []Option) options {
	o := options{keychain: authn.DefaultKeychain, userAgent: "skiff", dockerConfig: DefaultDockerConfig}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithKeychain sets where credentials come from (default
// authn.DefaultKeychain: ~/.docker/config.json and its credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) { o.keychain = k }
}

// WithDockerConfig names the docker config file the credentials come
// from (the keychain's: with the default one, $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json), for the errors that tell how to log in.
// "" keeps DefaultDockerConfig.
func WithDockerConfig(file string) Option {
	return func(o *options) {
		if file != "" {
			o.dockerConfig = file
		}
	}
}

// WithTransport sets the HTTP transport requests go through (default
// go-containerregistry's remote.DefaultTransport). The plain-HTTP rule
// still applies on top of it.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithUserAgent sets the User-Agent registries see (default "skiff").
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// NewRegistry returns a Registry that may reach the insecure registries
// (host[:port]) over plain HTTP and without verifying their certificates.
func NewRegistry(insecure []string, opts ...Option) *Registry {
	o := makeOptions(opts)
	set := insecureSet(insecure)
	ropts := []remote.Option{
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(newPolicyTransport(o.transport, set)),
		remote.WithUserAgent(o.userAgent),
	}
	// NewPusher and NewPuller fail only when both an authenticator and a
	// keychain are set, which these options never do.
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		panic(err)
	}
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		panic(err)
	}
	return &Registry{insecure: set, dockerConfig: o.dockerConfig, pusher: pusher, puller: puller}
}

// parse reads an image reference, marking registries the user listed as
// insecure so that they may be reached over plain HTTP.
func (r *Registry) parse(ref string) (name.Reference, error) {
	n, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid image reference: %w", ref, err)
	}
	if r.insecure[n.Context().RegistryStr()] {
		n, err = name.ParseReference(ref, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid image reference: %w", ref, err)
		}
	}
	return n, nil
}

// Push writes img as ref (repo:tag), uploading only the layers the
// registry lacks, and returns the manifest digest (sha256:...).
func (r *Registry) Push(ctx context.Context, ref string, img v1.Image) (string, error) {
	return r.push(ctx, ref, img)
}

// PushIndex writes a multi-platform image index as ref, uploading only the
// images and layers the registry lacks, and returns the index digest.
func (r *Registry) PushIndex(ctx context.Context, ref string, idx v1.ImageIndex) (string, error) {
	return r.push(ctx, ref, idx)
}

// pushable is an image or an index.
type pushable interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

func (r *Registry) push(ctx context.Context, ref string, t pushable) (string, error) {
	n, err := r.parse(ref)
	if err != nil {
		return "", err
	}
	d, err := t.Digest()
	if err != nil {
		return "", fmt.Errorf("pushing %s: computing the digest: %w", ref, err)
	}
	if err := r.pusher.Push(ctx, n, t); err != nil {
		return "", registryError(r.dockerConfig, "pushing", ref, n.Context().Registry, err)
	}
	return d.String(), nil
}

// Digest returns the digest ref has in its registry (a HEAD request), or
// ok=false when it does not exist.
func (r *Registry) Digest(ctx context.Context, ref string) (digest string, ok bool, err error) {
	n, err := r.parse(ref)
	if err != nil {
		return "", false, err
	}
	desc, err := r.puller.Head(ctx, n)
	if err != nil {
		if notFound(err) {
			return "", false, nil
		}
		return "", false, registryError(r.dockerConfig, "looking up", ref, n.Context().Registry, err)
	}
	return desc.Digest.String(), true, nil
}

// Tag adds the tag ref (repo:tag) to the image digestRef (repo@sha256:...)
// that is already in the registry, without pulling its layers: in the
// same repository it writes only the manifest; in another repository of
// the same registry the registry mounts the blobs.
func (r *Registry) Tag(ctx context.Context, digestRef, ref string) error {
	src, err := r.parse(digestRef)
	if err != nil {
		return err
	}
	dst, err := r.parse(ref)
	if err != nil {
		return err
	}
	tag, ok := dst.(name.Tag)
	if !ok {
		return fmt.Errorf("tagging %s as %s: %s is not a repository:tag reference", digestRef, ref, ref)
	}
	desc, err := r.puller.Get(ctx, src)
	if err != nil {
		return registryError(r.dockerConfig, "tagging", digestRef, src.Context().Registry, err)
	}
	if src.Context().String() == tag.Context().String() {
		err = r.pusher.Put(ctx, tag, desc)
	} else {
		err = r.pusher.Push(ctx, tag, desc)
	}
	if err != nil {
		return registryError(r.dockerConfig, "tagging", ref, tag.Context().Registry, err)
	}
	return nil
}

// Image reads a remote image (for example a base image). When ref names a
// multi-platform index, platform picks the image (nil: linux on this
// machine's architecture). Layers are fetched lazily as they are read.
func (r *Registry) Image(ctx context.Context, ref string, platform *v1.Platform) (v1.Image, error) {
	n, err := r.parse(ref)
	if err != nil {
		return nil, err
	}
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if platform != nil {
		p = *platform
	}
	img, err := remote.Image(n, remote.Reuse(r.puller), remote.WithPlatform(p), remote.WithContext(ctx))
	if err != nil {
		return nil, registryError(r.dockerConfig, "reading", ref, n.Context().Registry, err)
	}
	return img, nil
}

// notFound reports whether a registry answered that a manifest does not
// exist (404, which is all a HEAD response carries).
func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound || isNotFoundCode(err)
}
