package ko

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/image"
)

// defaultPaths are a ko artifact's sources for the watcher when it lists
// none: its Go code, module files and kodata.
var defaultPaths = []string{"**/*.go", "**/go.mod", "**/go.sum", "**/kodata/**"}

// Kind registers the ko builder: an artifact's sources are its main
// package's Go files and those of the packages it imports from its module
// (as go list says), unless dependencies.paths lists them. Base images
// come from their registry; no base means skiff's static base.
var Kind = build.Kind{
	Name: "ko",
	Sources: func(a *schema.Artifact, dir string, env build.Env) (build.Sources, error) {
		k := a.KoArtifact
		s := build.Sources{Paths: defaultPaths}
		if d := k.Dependencies; d != nil {
			if len(d.Paths) > 0 {
				s.Paths = d.Paths
				s.Ignore = d.Ignore
				return s, nil
			}
			s.Ignore = d.Ignore
		}
		s.List = func(ctx context.Context) ([]string, error) {
			return deps.GoPackage(ctx, dir, k.Main, env.Environ, k.Env, env.GoListCache)
		}
		return s, nil
	},
	New: func(s build.Services) (build.Builder, error) {
		return New(func(ctx context.Context, ref string, platform v1.Platform) (v1.Image, error) {
			if ref == "" {
				return image.StaticBase(platform)
			}
			return s.Registry.Image(ctx, ref, &platform)
		}, WithEnviron(s.Env.Environ))
	},
	Runtime: "go",
}
