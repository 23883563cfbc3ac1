package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/output"
)

// Exec runs the custom action name (customActions[]) on the local Docker
// Engine, as Skaffold's exec does in its local execution mode: the
// action's containers run at once, to completion, each with its output
// prefixed with its name; a container whose image names an artifact runs
// the image in imgs. With failFast (the default) the first container that
// fails stops the others; the action's timeout bounds every container.
func (r *Runner) Exec(ctx context.Context, name string, imgs []artifact.Image) error {
	var action *schema.Action
	var names []string
	for _, c := range r.opts.Project.Configs {
		for i, a := range c.CustomActions {
			names = append(names, a.Name)
			if a.Name == name && action == nil {
				action = &c.CustomActions[i]
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
	d, closeDeployer, err := r.dockerDeployer(nil)
	if err != nil {
		return err
	}
	defer closeDeployer()
	failFast := action.Config.IsFailFast == nil || *action.Config.IsFailFast
	var timeout time.Duration
	if t := action.Config.Timeout; t != nil && *t > 0 {
		timeout = time.Duration(*t) * time.Second
	}
	errStopped := errors.New("stopped: another container of the action failed (failFast)")
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	lines := output.NewLines(r.opts.ErrOut)
	errs := make([]error, len(action.Containers))
	var wg sync.WaitGroup
	for i, ct := range action.Containers {
		im := artifact.Image{Name: ct.Image, Ref: ct.Image}
		if ref, ok := refs[ct.Image]; ok {
			im.Ref = ref
		}
		job := dockerdeploy.Job{Name: ct.Name, Image: im, Command: ct.Command, Args: ct.Args, Timeout: timeout}
		for _, e := range ct.Env {
			job.Env = append(job.Env, e.Name+"="+e.Value)
		}
		w := lines.Prefixed("[" + ct.Name + "] ")
		wg.Go(func() {
			defer w.Flush()
			if err := d.RunToCompletion(ctx, job, w); err != nil {
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
