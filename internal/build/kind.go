package build

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/image"
)

// Kind is one builder as its package registers it (see package
// builders): the key that selects it under build.artifacts[], the files
// an artifact of its kind is built from, and how to make the Builder.
type Kind struct {
	// Name is the builder's key in skaffold.yaml ("docker", "ko", ...), as
	// schema.Artifact.BuilderType names it.
	Name string
	// Sources says which files artifact a is built from. The same answer
	// keys the build cache, feeds the inputDigest tagger and tells dev's
	// watcher which changes concern a.
	// dir is a's context, absolute and known to be a directory.
	Sources func(a *schema.Artifact, dir string, env Env) (Sources, error)
	// New makes the builder for one build run.
	New func(s Services) (Builder, error)
	// Validate checks what can be checked of an artifact of the kind
	// before anything is built (nil: nothing to check).
	Validate func(a *schema.Artifact) error
	// Runtime is the language runtime of every image the builder makes,
	// when the builder implies one ("go" for ko), for skiff debug;
	// empty means it depends on the artifact.
	Runtime string
}

// Env is what builders see of the environment skiff runs in.
type Env struct {
	// Vars are what templated fields and build args without a value see
	// (the process environment and skaffold.env).
	Vars config.Env
	// Environ (KEY=value entries) is the environment of the commands
	// builders run: go list, a custom build's script.
	Environ []string
	// GoListCache is the file that keeps ko artifacts' go lists for the
	// next run (deps.GoPackage); "" keeps them in memory only.
	GoListCache string
}

// Services are what builders of one run share.
type Services struct {
	Env Env
	// Docker is the Docker Engine's client; it connects on first use.
	Docker *client.Client
	// Registry reads images from registries with the user's credentials.
	Registry *image.Registry
	// BuildKit is the project's useBuildkit setting; nil lets the Docker
	// Engine decide.
	BuildKit *bool
	// DockerConfig is the docker config file credentials come from, for
	// errors that say how to log in.
	DockerConfig string
}

// Kinds are the builders skiff has.
type Kinds []Kind

// Lookup returns the kind named name.
func (ks Kinds) Lookup(name string) (Kind, bool) {
	i := slices.IndexFunc(ks, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return ks[i], true
}

// Names are the kinds' names, in order.
func (ks Kinds) Names() []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}

// Sources are the sources of artifact a, as its kind says.
func (ks Kinds) Sources(a *schema.Artifact, env Env) (Sources, error) {
	k, err := ks.of(a)
	if err != nil {
		return Sources{}, err
	}
	dir, err := filepath.Abs(a.Workspace)
	if err != nil {
		return Sources{}, fmt.Errorf("artifact %q: context %s: %w", a.ImageName, a.Workspace, err)
	}
	s, err := k.Sources(a, dir, env)
	if err != nil {
		return Sources{}, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	s.Dir, s.artifact, s.context = dir, a.ImageName, a.Workspace
	return s, nil
}

// of returns the kind that builds a.
func (ks Kinds) of(a *schema.Artifact) (Kind, error) {
	k, ok := ks.Lookup(a.BuilderType())
	if !ok {
		return Kind{}, fmt.Errorf("artifact %q: the %s builder is not supported by skiff yet; skiff builds with %s", a.ImageName, a.BuilderType(), strings.Join(ks.Names(), ", "))
	}
	return k, nil
}

// Validate checks each artifact as its kind says.
func (ks Kinds) Validate(artifacts []*schema.Artifact) error {
	var errs []error
	for _, a := range artifacts {
		k, err := ks.of(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if k.Validate != nil {
			if err := k.Validate(a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Builders makes the builders that artifacts need, by kind name.
func (ks Kinds) Builders(artifacts []*schema.Artifact, s Services) (map[string]Builder, error) {
	out := map[string]Builder{}
	for _, a := range artifacts {
		name := a.BuilderType()
		if _, done := out[name]; done {
			continue
		}
		k, err := ks.of(a)
		if err != nil {
			return nil, err
		}
		b, err := k.New(s)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}
