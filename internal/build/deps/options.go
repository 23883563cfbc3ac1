package deps

import (
	"fmt"
	"runtime"
	"strings"
)

// Option changes how a Dockerfile is parsed and evaluated.
type Option func(*options) error

// ImageConfig is what a base image contributes to a stage that starts from
// it: its working directory, its environment (KEY=VALUE) and its ONBUILD
// triggers, as an image's config holds them.
type ImageConfig struct {
	WorkingDir string
	Env        []string
	OnBuild    []string
}

// ImageConfigFunc returns the config of a base image named in a FROM line
// (after ARG expansion). A nil config with a nil error means the image is
// unknown, which is treated as an empty config.
type ImageConfigFunc func(image string) (*ImageConfig, error)

type options struct {
	filename    string
	target      string
	platform    platform
	lookupEnv   func(string) (string, bool)
	imageConfig ImageConfigFunc
}

type platform struct {
	os, arch, variant string
}

func (p platform) String() string {
	s := p.os + "/" + p.arch
	if p.variant != "" {
		s += "/" + p.variant
	}
	return s
}

func newOptions(opts []Option) (*options, error) {
	o := &options{
		filename: "Dockerfile",
		platform: platform{os: "linux", arch: runtime.GOARCH},
	}
	if runtime.GOARCH == "arm" {
		o.platform.variant = "v7"
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithFilename names the Dockerfile in error messages (default "Dockerfile").
func WithFilename(name string) Option {
	return func(o *options) error {
		o.filename = name
		return nil
	}
}

// WithTarget selects the stage a build produces, as `docker build --target`
// does; without it, or with "", the last stage is the target.
func WithTarget(stage string) Option {
	return func(o *options) error {
		o.target = stage
		return nil
	}
}

// WithPlatform sets the target platform ("os/arch[/variant]") that the
// predefined TARGETPLATFORM, TARGETOS, TARGETARCH and TARGETVARIANT
// arguments hold. The default is linux on the host's architecture.
func WithPlatform(p string) Option {
	return func(o *options) error {
		parts := strings.Split(p, "/")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("invalid platform %q: want os/arch or os/arch/variant, e.g. linux/amd64", p)
		}
		o.platform = platform{os: parts[0], arch: parts[1]}
		if len(parts) == 3 {
			o.platform.variant = parts[2]
		}
		return nil
	}
}

// WithLookupEnv sets where a build argument given without a value (a nil
// pointer) takes its value from, as `docker build --build-arg NAME` takes it
// from the environment: callers pass the environment the build sees. A name
// the function does not find, or any name without this option, leaves the
// ARG at its default.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) error {
		o.lookupEnv = lookup
		return nil
	}
}

// WithImageConfig sets how the config of a base image is found, so that
// relative COPY destinations, ENV references and ONBUILD triggers of base
// images are resolved as the build resolves them. Without it, a base image
// is taken to have WORKDIR /, no environment and no ONBUILD triggers.
func WithImageConfig(f ImageConfigFunc) Option {
	return func(o *options) error {
		o.imageConfig = f
		return nil
	}
}
