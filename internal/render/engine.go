package render

import "skiff.dev/skiff/internal/config"

// FullEngineFeature names the first part of configs that only an engine
// with Helm linked renders or deploys (manifests.helm, deploy.helm), with
// its file, or "" when they have none. skiff-engine, built with the lean
// tag, leaves Helm out, and hands such a project to skiff-engine-full
// (internal/cli).
func FullEngineFeature(configs []*config.Config) string {
	for _, c := range configs {
		// A section without releases goes too: the full engine still
		// checks its helm flags.
		switch {
		case c.Render.Helm != nil:
			return c.File + ": manifests.helm"
		case c.Deploy.HelmDeploy != nil:
			return c.File + ": deploy.helm"
		}
	}
	return ""
}
