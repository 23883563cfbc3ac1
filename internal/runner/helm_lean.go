//go:build lean

package runner

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/render"
)

// An engine built with the lean tag does not link Helm: the CLI hands a
// project with deploy.helm to skiff-engine-full before it
// builds or deploys anything (render.FullEngineFeature).

func (r *Runner) helmInstall([]artifact.Image) (func(context.Context) ([]*unstructured.Unstructured, error), error) {
	return nil, render.NeedsFullEngine(r.opts.Project.Configs)
}

func (r *Runner) uninstallReleases(context.Context, time.Duration, bool) error {
	return render.NeedsFullEngine(r.opts.Project.Configs)
}
