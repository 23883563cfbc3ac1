package build

import (
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// Builder builds one kind of artifact (docker, ko, custom, ...). It only
// builds: publishing what it produced is the scheduler's job, so every
// builder pushes and loads the same way.
type Builder interface {
	Build(ctx context.Context, a *schema.Artifact, req Request) (Built, error)
}

// ExecutableBuilder is a Builder that can also build an artifact's
// executable alone, as its image would hold it, for skiff dev's hot swap
// (the ko builder: go build with the image's flags and platform).
type ExecutableBuilder interface {
	Builder
	// Executable builds a's executable for the one platform of req (the
	// host's architecture on linux when it names none) and writes it to
	// file, without holding it in memory. After an error file may hold
	// anything: callers write to a temporary name and rename.
	Executable(ctx context.Context, a *schema.Artifact, req Request, file string) (Executable, error)
}

// Executable is what ExecutableBuilder built: the file name the image
// gives the executable.
type Executable struct {
	Name string
}

// Request is what a builder is asked to produce.
type Request struct {
	// Tag is the reference to build, repository:tag, with the default
	// repo already applied.
	Tag string
	// Push says the image will go to a registry; otherwise it goes into
	// the local Docker daemon. Builders that publish themselves (custom)
	// need it; the others leave publishing to the scheduler.
	Push bool
	// Platforms are the target platforms (os/arch[/variant]); empty means
	// the host's.
	Platforms []string
	// Requires are the artifacts a requires, already built.
	Requires []Required
	// Env is what templated fields see.
	Env config.Env
	// Out receives the build's output, already prefixed with the
	// artifact's name by the scheduler.
	Out io.Writer
	// InsecureRegistries may be reached over plain HTTP (loopback
	// registries always may).
	InsecureRegistries []string
	// Debug builds for a debugger (skiff debug): Go without optimizations
	// or inlining; each builder says how it passes that on.
	Debug bool
	// DevMode builds for skiff dev's file sync (Options.DevMode, for an
	// artifact with sync.auto): the builder makes an image that rebuilds
	// or reloads synced sources itself and declares the sync rules (the
	// buildpacks builder's development mode).
	DevMode bool
}

// Required is a built artifact another artifact depends on; its reference
// reaches the dependent build under Alias (a Docker build arg, an
// environment variable of a custom build).
type Required struct {
	ImageName string
	Alias     string
	// Ref is the built image's reference, name:tag@sha256:... when pushed.
	Ref string
}

// Built is what a builder produced, in one of four forms.
type Built struct {
	// Image is an image in memory (ko): the scheduler pushes it, layers
	// the registry lacks only, or loads it into the daemon.
	Image v1.Image
	// Index is a multi-platform image in memory (ko with several
	// platforms): the scheduler pushes it; it cannot be loaded.
	Index v1.ImageIndex
	// DaemonID is the ID of an image in the local Docker daemon, tagged as
	// Request.Tag (docker): the scheduler pushes it from there if needed.
	DaemonID string
	// External means the builder itself already pushed (or loaded, when
	// Request.Push is false) Request.Tag (custom).
	External bool
}
