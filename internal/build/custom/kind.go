package custom

import (
	"context"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/build/dockerbuild"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// Kind registers the custom builder. An artifact's sources are what its
// dependencies say: a Dockerfile's copies, a command's output, or paths
// less ignore; with no dependencies, no file keys its cache, and dev
// treats every file of its context as a source.
var Kind = build.Kind{
	Name: "custom",
	Sources: func(a *schema.Artifact, dir string, env build.Env) (build.Sources, error) {
		d := a.CustomArtifact.Dependencies
		switch {
		case d == nil:
			return build.Sources{List: func(context.Context) ([]string, error) { return nil, nil }}, nil
		case d.Dockerfile != nil:
			s, err := dockerbuild.DockerfileSources(dir, d.Dockerfile.Path)
			if err != nil {
				return s, err
			}
			s.List = func(context.Context) ([]string, error) {
				args, err := config.ExpandBuildArgs(d.Dockerfile.BuildArgs, env.Vars)
				if err != nil {
					return nil, err
				}
				return deps.Dockerfile(dir, d.Dockerfile.Path, "", args, deps.WithLookupEnv(env.Vars.Lookup))
			}
			return s, nil
		case d.Command != "":
			// The command's list is only known by running it: for the
			// watcher, every file of the context counts.
			return build.Sources{List: func(ctx context.Context) ([]string, error) {
				return deps.Command(ctx, dir, d.Command, env.Environ)
			}}, nil
		default:
			return build.Sources{Paths: d.Paths, Ignore: d.Ignore}, nil
		}
	},
	New: func(build.Services) (build.Builder, error) { return New(), nil },
}
