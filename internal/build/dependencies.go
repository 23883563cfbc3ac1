// Package build is the build stage: it turns artifacts into images. This
// file lists each artifact's source dependencies, the input of the cache
// key and of the dev watcher.
package build

import (
	"context"
	"fmt"
	"os"

	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// Dependencies lists the files artifact a is built from, relative to its
// context directory, as its builder sees them.
func Dependencies(ctx context.Context, a *schema.Artifact, env config.Env) ([]string, error) {
	ws := a.Workspace
	if st, err := os.Stat(ws); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("artifact %q: context %s is not a directory; fix build.artifacts[].context", a.ImageName, ws)
	}
	switch t := a.BuilderType(); t {
	case "docker":
		d := a.DockerArtifact
		args, err := BuildArgs(d.BuildArgs, env)
		if err != nil {
			return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
		}
		return deps.Dockerfile(ws, d.DockerfilePath, d.Target, args)
	case "buildpacks":
		paths, ignore := []string{"."}, []string(nil)
		if d := a.BuildpackArtifact.Dependencies; d != nil {
			if len(d.Paths) > 0 {
				paths = d.Paths
			}
			ignore = d.Ignore
		}
		return deps.Paths(ws, paths, ignore)
	case "ko":
		return deps.GoPackage(ctx, ws, a.KoArtifact.Main, a.KoArtifact.Env)
	case "custom":
		d := a.CustomArtifact.Dependencies
		switch {
		case d == nil:
			return nil, nil
		case d.Dockerfile != nil:
			args, err := BuildArgs(d.Dockerfile.BuildArgs, env)
			if err != nil {
				return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
			}
			return deps.Dockerfile(ws, d.Dockerfile.Path, "", args)
		case d.Command != "":
			return deps.Command(ctx, ws, d.Command, os.Environ())
		default:
			return deps.Paths(ws, d.Paths, d.Ignore)
		}
	default:
		return nil, fmt.Errorf("artifact %q: the %s builder is not supported by skiff yet", a.ImageName, t)
	}
}

// BuildArgs expands the templated values of Docker build args; a nil value
// (an arg named without a value) stays nil and is taken from the
// environment by the build.
func BuildArgs(args map[string]*string, env config.Env) (map[string]*string, error) {
	out := make(map[string]*string, len(args))
	for k, v := range args {
		if v == nil {
			out[k] = nil
			continue
		}
		s, err := config.Expand(*v, env)
		if err != nil {
			return nil, fmt.Errorf("build arg %s: %w", k, err)
		}
		out[k] = &s
	}
	return out, nil
}
