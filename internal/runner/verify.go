package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"skiff.dev/skiff/internal/artifact"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/output"
)

// Verify runs every config's verify tests (verify[]) to completion on the
// local Docker Engine, as Skaffold's local execution mode does: a
// container whose image names an artifact runs the image in imgs, any
// other image the daemon's or one pulled. Each test's output goes to
// ErrOut prefixed with its name; every test runs, and those that exit
// non-zero or outlive their timeout fail the stage together. The
// kubernetesCluster execution mode is refused earlier, by
// Check("verify").
func (r *Runner) Verify(ctx context.Context, imgs []artifact.Image) error {
	if err := r.Check("verify"); err != nil {
		return err
	}
	refs := map[string]string{}
	for _, im := range imgs {
		refs[im.Name] = im.Ref
	}
	var d *dockerdeploy.Deployer
	lines := output.NewLines(r.opts.ErrOut)
	var errs []error
	for _, c := range r.opts.Project.Configs {
		for i, tc := range c.Verify {
			if tc == nil {
				continue
			}
			if d == nil {
				var closeDeployer func()
				var err error
				if d, closeDeployer, err = r.dockerDeployer(nil); err != nil {
					return err
				}
				defer closeDeployer()
			}
			ct := tc.Container
			im := artifact.Image{Name: ct.Image, Ref: ct.Image}
			if ref, ok := refs[ct.Image]; ok {
				im.Ref = ref
			}
			job := dockerdeploy.Job{Name: tc.Name, Image: im, Command: ct.Command, Args: ct.Args}
			for _, e := range ct.Env {
				job.Env = append(job.Env, e.Name+"="+e.Value)
			}
			if t := tc.Config.Timeout; t != nil && *t > 0 {
				job.Timeout = time.Duration(*t) * time.Second
			}
			fmt.Fprintf(r.opts.ErrOut, "Verifying %s (%s)\n", tc.Name, im.Ref)
			w := lines.Prefixed("[verify " + tc.Name + "] ")
			err := d.RunToCompletion(ctx, job, w)
			w.Flush()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: verify[%d] (%s): %w", c.Name(), i, tc.Name, err))
			} else {
				fmt.Fprintf(r.opts.ErrOut, "Verify test %s passed\n", tc.Name)
			}
		}
	}
	return errors.Join(errs...)
}
