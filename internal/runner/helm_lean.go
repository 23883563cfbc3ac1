//go:build lean

package runner

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/render"
)

// An engine built with the lean tag does not link Helm: the CLI hands a
// project with deploy.helm releases to skiff-engine-full before it
// builds or deploys anything (render.FullEngineFeature).

func (r *Runner) helmInstall([]artifact.Image) (func(context.Context) ([]*unstructured.Unstructured, error), error) {
	return nil, r.needsFullEngine()
}

func (r *Runner) uninstallReleases(context.Context, time.Duration, bool) error {
	return r.needsFullEngine()
}

// needsFullEngine is the error for a project that only skiff-engine-full
// deploys, nil for the others.
func (r *Runner) needsFullEngine() error {
	if what := render.FullEngineFeature(r.opts.Project.Configs); what != "" {
		return fmt.Errorf("%s: this skiff engine is built without Helm; skiff-engine-full, next to it, deploys this project (run skiff through the skiff command, or reinstall with make build)", what)
	}
	return nil
}
