package helm

import (
	"context"
	"fmt"

	"helm.sh/helm/v3/pkg/action"

	"skiff.dev/skiff/internal/render"
)

// Delete uninstalls the releases, in the reverse of their order, as `helm
// uninstall --wait` does: the release's objects and its record go, and
// Delete waits (up to Options.Timeout per release) for the objects to be
// gone (with Options.Background it does not wait). A release that is not installed is skipped with a line saying so.
func (d *Deployer) Delete(ctx context.Context, rels []render.HelmInstall) error {
	for i := len(rels) - 1; i >= 0; i-- {
		in := rels[i]
		if err := d.uninstall(ctx, in); err != nil {
			return fmt.Errorf("%s: uninstalling release %s (namespace %s): %w", in.Where, in.Name, in.Namespace, err)
		}
	}
	return nil
}

func (d *Deployer) uninstall(ctx context.Context, in render.HelmInstall) error {
	cfg, err := d.configure(in.Namespace)
	if err != nil {
		return err
	}
	last, err := lastRelease(cfg, in.Name)
	if err != nil {
		return err
	}
	if last == nil {
		d.printf(" - helm release %s (namespace %s): not installed, nothing to uninstall\n", in.Name, in.Namespace)
		return nil
	}
	if d.opts.DryRun {
		d.printf(" - helm release %s (namespace %s) revision %d would be uninstalled (dry run)\n", in.Name, in.Namespace, last.Version)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	u := action.NewUninstall(cfg)
	u.Wait = !d.opts.Background
	u.Timeout = d.opts.Timeout
	u.DeletionPropagation = "foreground"
	if d.opts.Background {
		u.DeletionPropagation = "background"
	}
	res, err := u.Run(in.Name)
	if err != nil {
		return fmt.Errorf("%w; run skiff delete again, or helm uninstall %s -n %s", err, in.Name, in.Namespace)
	}
	d.printf(" - helm release %s (namespace %s) uninstalled\n", in.Name, in.Namespace)
	if res != nil && res.Info != "" {
		d.printf("   %s\n", res.Info)
	}
	return nil
}
