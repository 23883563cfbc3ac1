//go:build !lean

package runner

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/deploy/helm"
	"skiff.dev/skiff/internal/render"
)

// helmInstall prepares deploy.helm's releases for a deploy with images
// (helmInstalls) and returns the step that installs or upgrades them
// after the apply, nil when there are none.
func (r *Runner) helmInstall(images []artifact.Image) (func(context.Context) ([]*unstructured.Unstructured, error), error) {
	rels, err := r.helmInstalls(images)
	if err != nil || len(rels) == 0 {
		return nil, err
	}
	return func(ctx context.Context) ([]*unstructured.Unstructured, error) {
		return r.installReleases(ctx, rels, images)
	}, nil
}

// helmInstalls prepares deploy.helm's releases with images, building
// local charts' dependencies from chart repositories (unless
// skipBuildDependencies), before anything is applied, so that a chart that
// does not load fails the deploy before it changes the cluster.
func (r *Runner) helmInstalls(images []artifact.Image) ([]render.HelmInstall, error) {
	opts := r.renderOptions(images)
	if _, err := r.kubeConfig(); err != nil {
		return nil, err
	}
	opts.DefaultNamespace = r.namespace()
	return render.HelmInstalls(r.opts.Project.Configs, opts, helm.BuildDependencies)
}

// installReleases installs or upgrades the releases, their manifests
// given images and skiff's labels by a post-renderer, and returns their
// objects for the status check.
func (r *Runner) installReleases(ctx context.Context, rels []render.HelmInstall, images []artifact.Image) ([]*unstructured.Unstructured, error) {
	kc, err := r.kubeConfig()
	if err != nil {
		return nil, err
	}
	d, err := helm.New(kc, helm.Options{
		Out: r.opts.ErrOut,
		PostRender: func(data []byte) ([]byte, error) {
			return r.postRender(ctx, data, images)
		},
	})
	if err != nil {
		return nil, err
	}
	return d.Deploy(ctx, rels)
}

// postRender is what skiff does to a release's rendered manifests: what
// render does to the others (images replaced, skiff's labels and -l's
// added; -n is the release's namespace already), skiff-agent delivered,
// and debug's rewrite under skiff debug.
func (r *Runner) postRender(ctx context.Context, data []byte, images []artifact.Image) ([]byte, error) {
	ms, err := render.Parse("helm release manifest", data)
	if err != nil {
		return nil, err
	}
	opts := r.renderOptions(images)
	opts.Namespace = ""
	if err := render.Transform(ms, r.opts.Project.Configs, opts); err != nil {
		return nil, err
	}
	if err := r.injectAgent(ctx, ms, images); err != nil {
		return nil, err
	}
	if r.opts.Debug != nil {
		if err := r.debugTransform(ctx, ms, images, false); err != nil {
			return nil, err
		}
	}
	return render.YAML(ms)
}

// uninstallReleases uninstalls deploy.helm's releases, waiting up to wait
// (0: 2 minutes) for each release's objects to go.
func (r *Runner) uninstallReleases(ctx context.Context, wait time.Duration, background bool) error {
	if !r.hasHelmDeploy() {
		return nil
	}
	kc, err := r.kubeConfig()
	if err != nil {
		return err
	}
	opts := r.renderOptions(nil)
	opts.DefaultNamespace = r.namespace()
	rels, err := render.HelmReleaseNames(r.opts.Project.Configs, opts)
	if err != nil {
		return fmt.Errorf("naming the Helm releases to uninstall: %w", err)
	}
	d, err := helm.New(kc, helm.Options{Out: r.opts.ErrOut, Timeout: wait, Background: background, DryRun: r.opts.DeleteDryRun})
	if err != nil {
		return err
	}
	return d.Delete(ctx, rels)
}

// hasHelmDeploy reports whether a config installs Helm releases.
func (r *Runner) hasHelmDeploy() bool {
	for _, c := range r.opts.Project.Configs {
		if c.Deploy.HelmDeploy != nil && len(c.Deploy.HelmDeploy.Releases) > 0 {
			return true
		}
	}
	return false
}
