package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Delete removes every object recorded in the project's set, in all its
// namespaces, then the record itself, and waits until the objects are
// gone. Deletion of built-in kinds is foreground, so a workload is gone
// only once its pods are: when Delete returns nil, nothing of the
// project's workloads is left running. (Custom resources are deleted in
// the background; their controllers clean up what they made. With
// Options.Background, so is everything, and pods may still be stopping
// when Delete returns.)
// Objects go in the reverse of the apply order, each stage gone before
// the next is deleted (custom resources before the controllers that
// finalize them, namespaces last). Delete first says how many objects it
// deletes and how long it waits for them (Options.Timeout, for the whole
// of Delete). When that time passes first, the deletion of the stages not
// reached yet is requested without waiting, and the error lists what is
// still there; the record is kept, so `skiff delete` can finish the job.
func (d *Deployer) Delete(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	inv, exists, err := d.set.read(wctx, d)
	if err != nil {
		return d.interrupted(ctx, err)
	}
	if !exists {
		d.printf(" - nothing to delete: no record of project %s in namespace %s\n", d.opts.Project, d.opts.Namespace)
		return nil
	}
	members, err := d.listMembers(wctx, inv)
	if err != nil {
		return d.interrupted(ctx, err)
	}
	var stages [tiers][]member
	n := 0
	for k, m := range members {
		if owner := m.owner(); owner != "" {
			d.progress(m.ref(), "not deleted: it is owned by "+owner)
			continue
		}
		t := tierOf(k.gk)
		stages[t] = append(stages[t], m)
		n++
	}
	if d.opts.DryRun {
		d.printf(" - would delete %d objects of project %s (dry run):\n", n, d.opts.Project)
		var refs []string
		for _, stage := range stages {
			for _, m := range stage {
				refs = append(refs, m.ref())
			}
		}
		slices.Sort(refs)
		for _, ref := range refs {
			d.progress(ref, "would be deleted")
		}
		return nil
	}
	if d.opts.Background {
		d.printf(" - deleting %d objects of project %s; waiting up to %s for them to go (their pods stop in the background)\n", n, d.opts.Project, d.opts.Timeout)
	} else {
		d.printf(" - deleting %d objects of project %s; waiting up to %s for them to go\n", n, d.opts.Project, d.opts.Timeout)
	}

	for t := tiers - 1; t >= 0; t-- {
		stage := stages[t]
		errs := make([]error, len(stage))
		forEach(len(stage), func(i int) {
			errs[i] = d.remove(wctx, stage[i], d.propagationOf(t))
		})
		if err := errors.Join(errs...); err != nil {
			if ctx.Err() != nil {
				return d.interrupted(ctx, err)
			}
			return fmt.Errorf("deleting project %s: %w\n%s is kept, so `skiff delete` can try again", d.opts.Project, err, d.set)
		}
		if left := d.waitGone(wctx, stage); len(left) > 0 {
			if ctx.Err() == nil {
				d.requestRest(ctx, stages[:t])
			}
			return d.stillThere(ctx, left)
		}
	}
	err = d.client.Resource(configMaps).Namespace(d.set.namespace).Delete(wctx, d.set.name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return d.requestError(fmt.Sprintf("deleting project %s's record (%s)", d.opts.Project, d.set), err)
	}
	return nil
}

// propagationOf is how the objects of tier t are deleted. Foreground: a
// workload is gone once its pods are. Custom resources go in the
// background: the garbage collector notices a new kind only at its next
// resync (up to 30 s), and until then a foreground deletion of its
// objects waits. With Options.Background, everything goes in the
// background: a workload is gone at once, its pods later.
func (d *Deployer) propagationOf(t int) metav1.DeletionPropagation {
	if t == tierCustom || d.opts.Background {
		return metav1.DeletePropagationBackground
	}
	return metav1.DeletePropagationForeground
}

// restRequestTimeout bounds the requests that ask for the deletion of
// the stages Delete did not reach in time.
const restRequestTimeout = 2 * time.Second

// requestRest requests the deletion of the objects of stages without
// waiting for them to go, once Delete's wait is over: the cluster
// finishes the job, and skiff delete checks it.
func (d *Deployer) requestRest(ctx context.Context, stages [][]member) {
	rctx, cancel := context.WithTimeout(ctx, restRequestTimeout)
	defer cancel()
	for t := len(stages) - 1; t >= 0; t-- {
		forEach(len(stages[t]), func(i int) {
			if err := d.remove(rctx, stages[t][i], d.propagationOf(t)); err == nil {
				d.progress(stages[t][i].ref(), "deletion requested")
			}
		})
	}
}

// interrupted is Delete's error err when ctx has ended (Ctrl-C): the
// deletion was interrupted and skiff delete finishes it.
func (d *Deployer) interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("deleting project %s was interrupted (%w): run `skiff delete` to finish", d.opts.Project, context.Cause(ctx))
	}
	return err
}

// waitGone waits until the objects ms are gone, printing each as it goes,
// and returns those still there when ctx ends.
func (d *Deployer) waitGone(ctx context.Context, ms []member) []member {
	left := ms
	for {
		still := make([]bool, len(left))
		forEach(len(left), func(i int) {
			m := left[i]
			live, err := d.client.Resource(m.mapping.Resource).Namespace(m.obj.GetNamespace()).Get(ctx, m.obj.GetName(), metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err), err == nil && live.GetUID() != m.obj.GetUID():
				d.progress(m.ref(), "deleted")
			case err == nil:
				left[i].obj = live
				still[i] = true
			default:
				// A failed look is no news; the next one may succeed.
				still[i] = true
			}
		})
		var next []member
		for i, m := range left {
			if still[i] {
				next = append(next, m)
			}
		}
		left = next
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return left
		case <-time.After(d.poll):
		}
	}
}

// stillThere is Delete's error when objects outlast the wait.
func (d *Deployer) stillThere(ctx context.Context, left []member) error {
	var names []string
	for _, m := range left {
		s := m.String()
		if f := m.obj.GetFinalizers(); len(f) > 0 {
			s += " (finalizers: " + strings.Join(f, ", ") + ")"
		}
		names = append(names, s)
	}
	slices.Sort(names)
	if ctx.Err() != nil {
		return fmt.Errorf("deleting project %s was interrupted (%w); still there: %s; run `skiff delete` to finish", d.opts.Project, context.Cause(ctx), strings.Join(names, "; "))
	}
	return fmt.Errorf("deleting project %s: still there after %s: %s: their deletion waits for pods to stop or for finalizers, whose controller may be gone; the cluster goes on deleting them: run `skiff delete` to wait for the rest and remove the record (%s is kept), and if they stay, look with `kubectl describe`",
		d.opts.Project, d.opts.Timeout, strings.Join(names, "; "), d.set)
}
