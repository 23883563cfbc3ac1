package deps

import (
	"context"
	"fmt"
	"os"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// ForArtifact lists the files artifact a is built from, relative to its
// context directory, as its builder sees them. env is what templated fields
// and build args without a value see (as the build sees them); environ
// (KEY=value entries, the environment skiff was started in) is the
// environment of the commands it runs: go list for ko, a custom artifact's
// dependencies.command.
func ForArtifact(ctx context.Context, a *schema.Artifact, env config.Env, environ []string) ([]string, error) {
	ws := a.Workspace
	if st, err := os.Stat(ws); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("artifact %q: context %s is not a directory; fix build.artifacts[].context", a.ImageName, ws)
	}
	switch t := a.BuilderType(); t {
	case "docker":
		d := a.DockerArtifact
		args, err := config.ExpandBuildArgs(d.BuildArgs, env)
		if err != nil {
			return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
		}
		return Dockerfile(ws, d.DockerfilePath, d.Target, withRequiredArgs(args, a), WithLookupEnv(env.Lookup))
	case "buildpacks":
		paths, ignore := []string{"."}, []string(nil)
		if d := a.BuildpackArtifact.Dependencies; d != nil {
			if len(d.Paths) > 0 {
				paths = d.Paths
			}
			ignore = d.Ignore
		}
		return Paths(ws, paths, ignore)
	case "ko":
		if d := a.KoArtifact.Dependencies; d != nil && len(d.Paths) > 0 {
			return Paths(ws, d.Paths, d.Ignore)
		}
		return GoPackage(ctx, ws, a.KoArtifact.Main, environ, a.KoArtifact.Env)
	case "custom":
		d := a.CustomArtifact.Dependencies
		switch {
		case d == nil:
			return nil, nil
		case d.Dockerfile != nil:
			args, err := config.ExpandBuildArgs(d.Dockerfile.BuildArgs, env)
			if err != nil {
				return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
			}
			return Dockerfile(ws, d.Dockerfile.Path, "", args, WithLookupEnv(env.Lookup))
		case d.Command != "":
			return Command(ctx, ws, d.Command, environ)
		default:
			return Paths(ws, d.Paths, d.Ignore)
		}
	default:
		return nil, fmt.Errorf("artifact %q: the %s builder is not supported by skiff yet", a.ImageName, t)
	}
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
