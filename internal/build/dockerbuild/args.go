package dockerbuild

import (
	"bytes"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// buildArgs computes a build's arguments as Skaffold does: each required
// artifact's reference under its alias, kept only when the Dockerfile
// declares that ARG (so the daemon has no unused argument to warn about),
// then the artifact's buildArgs, which win. Their values are templates
// that see env plus IMAGE_REPO, IMAGE_NAME and IMAGE_TAG of the image being
// built. A value-less argument takes the variable from env, as `docker build
// --build-arg NAME` takes it from the environment, and stays without value
// (the ARG keeps its default) when env lacks it.
func buildArgs(d *schema.DockerArtifact, req build.Request, dockerfile []byte) (map[string]*string, error) {
	declared := declaredArgs(dockerfile)
	args := map[string]*string{}
	for _, r := range req.Requires {
		if declared[r.Alias] {
			args[r.Alias] = &r.Ref
		}
	}
	user, err := config.ExpandBuildArgs(d.BuildArgs, req.Env.With(config.ImageEnv(req.Tag)))
	if err != nil {
		return nil, err
	}
	for k, v := range user {
		if v == nil {
			if ev, ok := req.Env.Lookup(k); ok {
				v = &ev
			}
		}
		args[k] = v
	}
	if req.Debug {
		for k, v := range debugArgs {
			if _, set := args[k]; !set && declared[k] {
				args[k] = &v
			}
		}
	}
	return args, nil
}

// debugArgs are the build args of a build for a debugger, as Skaffold
// passes them, each only to Dockerfiles that declare it: the Go compiler
// flags for `go build -gcflags="${SKAFFOLD_GO_GCFLAGS}"`, and the run mode.
var debugArgs = map[string]string{
	"SKAFFOLD_GO_GCFLAGS": "all=-N -l",
	"SKAFFOLD_RUN_MODE":   "debug",
}

// declaredArgs returns the names the Dockerfile's ARG instructions declare.
// A Dockerfile that does not parse declares nothing: the build reports the
// syntax error.
func declaredArgs(dockerfile []byte) map[string]bool {
	names := map[string]bool{}
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return names
	}
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "arg") {
			continue
		}
		for a := n.Next; a != nil; a = a.Next {
			name, _, _ := strings.Cut(a.Value, "=")
			names[name] = true
		}
	}
	return names
}
