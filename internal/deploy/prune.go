package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prune deletes the set's members that objs no longer have, in reverse
// apply order, without waiting for them to be gone. It keeps, and
// returns for the record, a Namespace that objects of this deploy are in
// and objects that something else owns.
func (d *Deployer) prune(ctx context.Context, objs []*object, members map[key]member) (inventory, error) {
	applied := map[key]bool{}
	inUse := map[string]bool{d.opts.Namespace: true}
	for _, o := range objs {
		applied[o.key()] = true
		inUse[o.obj.GetNamespace()] = true
	}
	kept := newInventory()
	var doomed [tiers][]member
	for k, m := range members {
		if applied[k] {
			continue
		}
		if k.gk == namespaceKind && inUse[k.name] {
			d.progress(m.ref(), "not pruned: objects of this deploy are in it")
			kept.add(k.gk, k.namespace)
			continue
		}
		if owner := m.owner(); owner != "" {
			d.progress(m.ref(), "not pruned: it is owned by "+owner)
			kept.add(k.gk, k.namespace)
			continue
		}
		t := tierOf(k.gk)
		doomed[t] = append(doomed[t], m)
	}
	var errs []error
	for t := tiers - 1; t >= 0; t-- {
		batch := doomed[t]
		slices.SortFunc(batch, func(a, b member) int { return strings.Compare(a.String(), b.String()) })
		tierErrs := make([]error, len(batch))
		forEach(len(batch), func(i int) {
			tierErrs[i] = d.remove(ctx, batch[i], metav1.DeletePropagationBackground)
		})
		for i, m := range batch {
			if tierErrs[i] == nil {
				d.progress(m.ref(), "pruned")
			}
		}
		errs = append(errs, tierErrs...)
	}
	return kept, errors.Join(errs...)
}

// remove deletes m with the propagation policy given; an object already
// gone counts as deleted.
func (d *Deployer) remove(ctx context.Context, m member, propagation metav1.DeletionPropagation) error {
	err := d.client.Resource(m.mapping.Resource).Namespace(m.obj.GetNamespace()).Delete(ctx, m.obj.GetName(), metav1.DeleteOptions{
		PropagationPolicy: &propagation,
		// Only the object that was listed: a namesake created since is
		// not the set's.
		Preconditions: &metav1.Preconditions{UID: new(m.obj.GetUID())},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		err = nil // gone, or replaced by an object that is not the set's
	}
	if err != nil {
		return d.requestError("deleting "+m.String(), err)
	}
	return nil
}
