package docker

import (
	"context"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/kube"
)

// Delete stops and removes every container of the project, whichever run
// created it, and then the project's network.
func (d *Deployer) Delete(ctx context.Context) error {
	if err := d.checkProject(); err != nil {
		return err
	}
	cs, err := d.list(ctx, "")
	if err != nil {
		return err
	}
	for _, c := range cs {
		name := summaryName(c)
		if d.opts.DryRun {
			d.printf(" - container %s would be deleted (dry run)\n", name)
			continue
		}
		if err := d.remove(ctx, c.ID, name); err != nil {
			return err
		}
		d.printf(" - container %s deleted\n", name)
	}
	res, err := d.cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", kube.ProjectLabel+"="+d.opts.Project)})
	if err != nil {
		return daemonError(d.cli, "listing the networks of project "+d.opts.Project, err)
	}
	for _, n := range res.Items {
		if d.opts.DryRun {
			d.printf(" - network %s would be deleted (dry run)\n", n.Name)
			continue
		}
		if _, err := d.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return daemonError(d.cli, "removing network "+n.Name, err)
		}
		d.printf(" - network %s deleted\n", n.Name)
	}
	return nil
}
