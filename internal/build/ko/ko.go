// Package ko is skiff's ko builder: it builds a Go program into a container
// image without a Dockerfile or a daemon, as ko and Skaffold's ko builder
// do. It runs `go build` for each target platform and puts two layers on a
// base image: the main package's kodata/ directory at /var/run/ko and the
// binary at /ko-app/<name>, which becomes the entrypoint.
package ko

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
)

// BaseFunc returns the base image for one platform. ref is the artifact's
// fromImage (the built reference of a required artifact when fromImage
// names its alias), or "" for skiff's default base.
type BaseFunc func(ctx context.Context, ref string, platform v1.Platform) (v1.Image, error)

// Builder builds ko artifacts; it implements build.Builder. It remembers
// the layers of its last build of each artifact and platform, so a
// rebuild does not compress an unchanged binary or kodata directory
// again. A Builder is safe for concurrent use.
type Builder struct {
	base   BaseFunc
	opts   options
	layers layerCache
}

var _ build.Builder = (*Builder)(nil)

type options struct {
	environ []string
}

// Option configures a Builder.
type Option func(*options) error

// WithEnviron sets the environment (KEY=value entries) `go build` starts
// from, before the target platform and the artifact's env are added: the
// environment skiff was started in. It should keep GOCACHE (or HOME) so
// that rebuilds are incremental; without it `go build` sees only the
// variables the builder sets.
func WithEnviron(environ []string) Option {
	return func(o *options) error {
		o.environ = environ
		return nil
	}
}

// New returns a Builder that takes its base images from base.
func New(base BaseFunc, opts ...Option) (*Builder, error) {
	if base == nil {
		return nil, fmt.Errorf("the ko builder needs a source of base images")
	}
	o := options{}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Builder{base: base, opts: o}, nil
}

// Build builds artifact a for the platforms of req (the host's
// architecture on linux when req names none) and returns the image, or an
// image index for several platforms; the caller publishes it.
func (b *Builder) Build(ctx context.Context, a *schema.Artifact, req build.Request) (build.Built, error) {
	platforms, err := parsePlatforms(req.Platforms)
	if err != nil {
		return build.Built{}, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	if len(platforms) > 1 {
		idx, err := b.Index(ctx, a, req)
		if err != nil {
			return build.Built{}, err
		}
		return build.Built{Index: idx}, nil
	}
	s, err := b.resolve(ctx, a, req, platforms[0])
	if err != nil {
		return build.Built{}, err
	}
	img, err := b.image(ctx, s, platforms[0], out(req))
	if err != nil {
		return build.Built{}, err
	}
	return build.Built{Image: img}, nil
}

// Executable builds artifact a's executable alone, as Build would put it
// in the image (the same go build flags, environment and platform), for
// a hot swap, and writes it to file. The compiler's messages go to
// req.Out.
func (b *Builder) Executable(ctx context.Context, a *schema.Artifact, req build.Request, file string) (build.Executable, error) {
	platforms, err := parsePlatforms(req.Platforms)
	if err != nil {
		return build.Executable{}, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	if len(platforms) > 1 {
		return build.Executable{}, fmt.Errorf("artifact %q: one executable is built for one platform, not %d", a.ImageName, len(platforms))
	}
	s, err := b.resolve(ctx, a, req, platforms[0])
	if err != nil {
		return build.Executable{}, err
	}
	c, err := b.compile(ctx, s, platforms[0], out(req), file)
	if err != nil {
		return build.Executable{}, err
	}
	return build.Executable{Name: c.name}, nil
}

// Index builds artifact a for every platform of req at once and returns
// an image index of the images, each with its platform, in the order of
// req.Platforms. The index is an OCI one unless the images are Docker
// ones (their base's manifest type decides).
func (b *Builder) Index(ctx context.Context, a *schema.Artifact, req build.Request) (v1.ImageIndex, error) {
	platforms, err := parsePlatforms(req.Platforms)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	s, err := b.resolve(ctx, a, req, platforms[0])
	if err != nil {
		return nil, err
	}
	imgs := make([]v1.Image, len(platforms))
	g, gctx := errgroup.WithContext(ctx)
	w := &syncWriter{w: out(req)}
	for i, p := range platforms {
		g.Go(func() error {
			img, err := b.image(gctx, s, p, w)
			imgs[i] = img
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var idx v1.ImageIndex = empty.Index
	mt, err := imgs[0].MediaType()
	if err != nil {
		return nil, err
	}
	if mt == types.DockerManifestSchema2 {
		idx = mutate.IndexMediaType(idx, types.DockerManifestList)
	}
	for i, img := range imgs {
		p := platforms[i]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx, nil
}

func out(req build.Request) io.Writer {
	if req.Out == nil {
		return io.Discard
	}
	return req.Out
}

// parsePlatforms parses os/arch[/variant] platforms; none means linux on
// the host's architecture.
func parsePlatforms(specs []string) ([]v1.Platform, error) {
	if len(specs) == 0 {
		return []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}}, nil
	}
	var out []v1.Platform
	seen := map[string]bool{}
	for _, s := range specs {
		if s == "all" {
			return nil, fmt.Errorf("platform \"all\" (every platform of the base image) is not supported by skiff yet; list the platforms, e.g. linux/amd64,linux/arm64")
		}
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q is not os/arch[/variant], e.g. linux/amd64 or linux/arm/v7", s)
		}
		if !seen[p.String()] {
			seen[p.String()] = true
			out = append(out, *p)
		}
	}
	return out, nil
}

// syncWriter serializes the output of builds running at once.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
