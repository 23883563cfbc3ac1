package render

import "skiff.dev/skiff/internal/config"

// FullEngineFeature names the first part of configs that only an engine
// with Helm and kustomize linked renders or deploys (manifests.kustomize,
// manifests.helm, deploy.helm), with its file, or "" when they have none.
// skiff-engine, built with the lean tag, leaves Helm and kustomize out,
// and hands such a project to skiff-engine-full (internal/cli).
func FullEngineFeature(configs []*config.Config) string {
	for _, c := range configs {
		switch {
		case c.Render.Kustomize != nil:
			return c.File + ": manifests.kustomize"
		case c.Render.Helm != nil && len(c.Render.Helm.Releases) > 0:
			return c.File + ": manifests.helm"
		case c.Deploy.HelmDeploy != nil && len(c.Deploy.HelmDeploy.Releases) > 0:
			return c.File + ": deploy.helm"
		}
	}
	return ""
}
