package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/output"
)

// Exec runs the custom action name (customActions[]) as Skaffold's exec
// does: the action's containers run at once, to completion, on the local
// Docker Engine (the local execution mode) or each as a Kubernetes Job
// called after the container in the deploy namespace
// (executionMode.kubernetesCluster, see clusterJob), each with its output
// prefixed with its name; a container whose image names an artifact runs
// the image in imgs. With failFast (the default) the first container that
// fails stops the others; the action's timeout bounds every container.
func (r *Runner) Exec(ctx context.Context, name string, imgs []artifact.Image) error {
	var action *schema.Action
	var owner *config.Config
	var names []string
	for _, c := range r.opts.Project.Configs {
		for i, a := range c.CustomActions {
			names = append(names, a.Name)
			if a.Name == name && action == nil {
				action, owner = &c.CustomActions[i], c
			}
		}
	}
	if action == nil {
		if len(names) == 0 {
			return fmt.Errorf("no custom action %q: the project defines no customActions", name)
		}
		return fmt.Errorf("no custom action %q; the project's actions are %s", name, strings.Join(names, ", "))
	}
	if err := r.Check("customActions"); err != nil {
		return err
	}
	refs := map[string]string{}
	for _, im := range imgs {
		refs[im.Name] = im.Ref
	}
	failFast := action.Config.IsFailFast == nil || *action.Config.IsFailFast
	var timeout time.Duration
	if t := action.Config.Timeout; t != nil && *t > 0 {
		timeout = time.Duration(*t) * time.Second
	}
	var run func(ctx context.Context, ct schema.VerifyContainer, w io.Writer) error
	if k := action.ExecutionModeConfig.KubernetesClusterExecutionMode; k != nil {
		ns, err := r.clusterNamespace()
		if err != nil {
			return fmt.Errorf("custom action %s runs as Kubernetes Jobs: %w", name, err)
		}
		jobs := map[string]*batchv1.Job{}
		for _, ct := range action.Containers {
			if jobs[ct.Name] != nil {
				return fmt.Errorf("custom action %s: two containers are called %s; each runs as a Kubernetes Job named after it: rename one", name, ct.Name)
			}
			job, err := r.clusterJob(owner, ct.Name, ns, ct, k, refs)
			if err != nil {
				return fmt.Errorf("custom action %s: container %s: %w", name, ct.Name, err)
			}
			jobs[ct.Name] = job
		}
		run = func(ctx context.Context, ct schema.VerifyContainer, w io.Writer) error {
			return r.runClusterJob(ctx, jobs[ct.Name], timeout, w)
		}
	} else {
		d, closeDeployer, err := r.dockerDeployer(nil)
		if err != nil {
			return err
		}
		defer closeDeployer()
		run = func(ctx context.Context, ct schema.VerifyContainer, w io.Writer) error {
			im := artifact.Image{Name: ct.Image, Ref: ct.Image}
			if ref, ok := refs[ct.Image]; ok {
				im.Ref = ref
			}
			job := dockerdeploy.Job{Name: ct.Name, Image: im, Command: ct.Command, Args: ct.Args, Timeout: timeout}
			for _, e := range ct.Env {
				job.Env = append(job.Env, e.Name+"="+e.Value)
			}
			return d.RunToCompletion(ctx, job, w)
		}
	}
	errStopped := errors.New("stopped: another container of the action failed (failFast)")
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	lines := output.NewLines(r.opts.ErrOut)
	errs := make([]error, len(action.Containers))
	var wg sync.WaitGroup
	for i, ct := range action.Containers {
		w := lines.Prefixed("[" + ct.Name + "] ")
		wg.Go(func() {
			defer w.Flush()
			if err := run(ctx, ct, w); err != nil {
				errs[i] = fmt.Errorf("custom action %s: container %s: %w", name, ct.Name, err)
				if failFast {
					stop(errStopped)
				}
			}
		})
	}
	wg.Wait()
	if errors.Is(context.Cause(ctx), errStopped) {
		// Report what failed, not the containers it stopped.
		errs = slices.DeleteFunc(errs, func(err error) bool {
			return errors.Is(err, errStopped) || errors.Is(err, context.Canceled)
		})
	}
	return errors.Join(errs...)
}
