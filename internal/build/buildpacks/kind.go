package buildpacks

import (
	"context"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
)

// TrustedBuilders are the builders trusted without trustBuilder: skiff's
// own offline builder (make builder), as pack trusts the builders it
// suggests. A trusted builder runs all phases in one container.
var TrustedBuilders = []string{"127.0.0.1:5001/skiff/builder"}

// Kind registers the buildpacks builder. An artifact's sources are what
// dependencies.paths selects (default the whole context) less
// dependencies.ignore, less what its project descriptor leaves out of the
// application (see Dependencies).
var Kind = build.Kind{
	Name: "buildpacks",
	Sources: func(a *schema.Artifact, dir string, env build.Env) (build.Sources, error) {
		s := build.Sources{Paths: []string{"."}}
		if d := a.BuildpackArtifact.Dependencies; d != nil {
			if len(d.Paths) > 0 {
				s.Paths = d.Paths
			}
			s.Ignore = d.Ignore
		}
		s.List = func(context.Context) ([]string, error) { return Dependencies(a) }
		return s, nil
	},
	New: func(s build.Services) (build.Builder, error) {
		return New(s.Docker, WithDockerConfig(s.DockerConfig), WithTrustedBuilders(TrustedBuilders...))
	},
	Validate: Validate,
}
