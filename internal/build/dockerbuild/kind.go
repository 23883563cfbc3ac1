package dockerbuild

import (
	"context"
	"path/filepath"

	skbuild "skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// Kind registers the docker builder: an artifact's sources are the files
// its Dockerfile copies from the context (the watcher: every file of the
// context that .dockerignore leaves in, and the Dockerfile).
var Kind = skbuild.Kind{
	Name: "docker",
	Sources: func(a *schema.Artifact, dir string, env skbuild.Env) (skbuild.Sources, error) {
		d := a.DockerArtifact
		s, err := DockerfileSources(dir, d.DockerfilePath)
		if err != nil {
			return s, err
		}
		s.List = func(context.Context) ([]string, error) {
			// The tag is not known while sources are listed (a tag policy
			// may hash them), so build args see the image name with the
			// tag "latest", as config.ImageEnv splits an untagged name.
			args, err := config.ExpandBuildArgs(d.BuildArgs, env.Vars.With(config.ImageEnv(a.ImageName)))
			if err != nil {
				return nil, err
			}
			return deps.Dockerfile(dir, d.DockerfilePath, d.Target, withRequiredArgs(args, a), deps.WithLookupEnv(env.Vars.Lookup))
		}
		return s, nil
	},
	New: func(s skbuild.Services) (skbuild.Builder, error) {
		return New(s.Docker, WithBuildKit(s.BuildKit))
	},
}

// DockerfileSources are the sources of a build of the Dockerfile at path
// (relative to the context dir, default "Dockerfile"), without List:
// the Dockerfile and every file of the context that its .dockerignore
// leaves in.
func DockerfileSources(dir, path string) (skbuild.Sources, error) {
	if path == "" {
		path = "Dockerfile"
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	ignore, err := deps.Dockerignore(dir, path)
	if err != nil {
		return skbuild.Sources{}, err
	}
	return skbuild.Sources{File: filepath.Clean(path), Ignore: ignore}, nil
}

// withRequiredArgs adds a build arg for each required artifact's alias, as
// the build will pass one. Its value (the built image) is not known before
// the build; the image name stands in, which is enough to list files.
func withRequiredArgs(args map[string]*string, a *schema.Artifact) map[string]*string {
	for _, d := range a.Dependencies {
		if d == nil || d.Alias == "" {
			continue
		}
		if _, set := args[d.Alias]; !set {
			name := d.ImageName
			args[d.Alias] = &name
		}
	}
	return args
}
