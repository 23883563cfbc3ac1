package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"skiff.dev/skiff/internal/artifact"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/output"
)

// Verify runs every config's verify tests (verify[]) to completion, one
// after the other, as Skaffold does: on the local Docker Engine (the local
// execution mode), or as a Kubernetes Job called after the test in the
// deploy namespace (executionMode.kubernetesCluster, see clusterJob). A
// container whose image names an artifact runs the image in imgs; on
// Docker, any other image is the daemon's or one pulled. Each test's
// output goes to ErrOut prefixed with its name; every test runs, and
// those that exit non-zero or outlive their timeout fail the stage
// together.
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
			ct := tc.Container
			var timeout time.Duration
			if t := tc.Config.Timeout; t != nil && *t > 0 {
				timeout = time.Duration(*t) * time.Second
			}
			var run func(w io.Writer) error
			if k := tc.ExecutionMode.KubernetesClusterExecutionMode; k != nil {
				ns, err := r.clusterNamespace()
				if err != nil {
					return fmt.Errorf("%s: verify[%d] (%s) runs as a Kubernetes Job: %w", c.Name(), i, tc.Name, err)
				}
				job, err := r.clusterJob(c, tc.Name, ns, ct, k, refs)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: verify[%d] (%s): %w", c.Name(), i, tc.Name, err))
					continue
				}
				fmt.Fprintf(r.opts.ErrOut, "Verifying %s (%s) as Job %s/%s\n", tc.Name, job.Spec.Template.Spec.Containers[0].Image, job.Namespace, job.Name)
				run = func(w io.Writer) error { return r.runClusterJob(ctx, job, timeout, w) }
			} else {
				if d == nil {
					var closeDeployer func()
					var err error
					if d, closeDeployer, err = r.dockerDeployer(nil); err != nil {
						return err
					}
					defer closeDeployer()
				}
				im := artifact.Image{Name: ct.Image, Ref: ct.Image}
				if ref, ok := refs[ct.Image]; ok {
					im.Ref = ref
				}
				job := dockerdeploy.Job{Name: tc.Name, Image: im, Command: ct.Command, Args: ct.Args, Timeout: timeout}
				for _, e := range ct.Env {
					job.Env = append(job.Env, e.Name+"="+e.Value)
				}
				fmt.Fprintf(r.opts.ErrOut, "Verifying %s (%s)\n", tc.Name, im.Ref)
				run = func(w io.Writer) error { return d.RunToCompletion(ctx, job, w) }
			}
			w := lines.Prefixed("[verify " + tc.Name + "] ")
			err := run(w)
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
