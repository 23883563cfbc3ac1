package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/render"
)

// Apply applies ms with server-side apply, records them as the project's
// set, and prunes the objects of the project's earlier deploys that are no
// longer in ms. It returns the applied objects as the API server returned
// them, in the order of ms.
//
// Conflicts are forced: the manifests win over fields another field
// manager set (kubectl edit, a controller scaling replicas), as they do
// with Skaffold's `kubectl apply`; skiff owns what its manifests say.
// Unknown fields are errors (strict field validation), as with kubectl.
//
// Order: Namespaces and CustomResourceDefinitions first, each CRD
// established before its custom resources are applied; then the objects
// that admission or workloads need (service accounts, quotas, config,
// RBAC, ...); then the other built-in kinds; then custom resources; then
// webhook configurations and API services. Each stage runs concurrently.
//
// Following the ApplySet specification, the set's record is widened to
// cover the new objects before any is applied, so an interrupted deploy
// leaks nothing; pruning comes after all are applied, and the record is
// narrowed last. When objects fail, Apply applies no later stage and
// returns an *ApplyError saying what was applied and what was not; when
// pruning fails, it returns the applied objects with the error.
func (d *Deployer) Apply(ctx context.Context, ms []render.Manifest) ([]*unstructured.Unstructured, error) {
	// One plain request first: an unreachable cluster is reported once,
	// by requestError, before the mapper fetches discovery.
	recorded, _, err := d.set.read(ctx, d)
	if err != nil {
		return nil, &ApplyError{Err: err}
	}
	objs, err := d.plan(ctx, ms)
	if err != nil {
		return nil, &ApplyError{Err: err}
	}
	if err := d.checkNamespaces(ctx, objs); err != nil {
		return nil, &ApplyError{Err: err}
	}
	members, err := d.listMembers(ctx, recorded)
	if err != nil {
		return nil, &ApplyError{Err: err}
	}
	r := &applyRun{d: d, objs: objs, results: make([]*unstructured.Unstructured, len(objs)), members: members}

	// The set's record lives in the deploy's namespace, which the
	// manifests may create.
	for i, o := range objs {
		if o.key() == (key{gk: namespaceKind, name: d.opts.Namespace}) {
			if errs := r.applyAll(ctx, []int{i}); len(errs) > 0 {
				return nil, r.failure(errs)
			}
		}
	}
	applied := newInventory()
	for _, o := range objs {
		applied.add(o.key().gk, o.obj.GetNamespace())
	}
	if err := d.set.write(ctx, d, recorded.union(applied)); err != nil {
		return nil, r.failure([]error{err})
	}
	for tier := range tiers {
		var batch []int
		for i, o := range objs {
			if o.tier == tier && r.results[i] == nil {
				batch = append(batch, i)
			}
		}
		errs := r.applyAll(ctx, batch)
		if tier == tierDefinitions && len(errs) == 0 {
			errs = r.establishCRDs(ctx)
		}
		if len(errs) > 0 {
			return nil, r.failure(errs)
		}
	}

	kept, err := d.prune(ctx, objs, members)
	if err != nil {
		return r.results, fmt.Errorf("all %d objects were applied, but pruning what earlier deploys left failed (the next deploy tries again): %w", len(objs), err)
	}
	if err := d.set.write(ctx, d, applied.union(kept)); err != nil {
		return r.results, fmt.Errorf("all %d objects were applied and pruned, but updating the record of what was applied failed: %w", len(objs), err)
	}
	return r.results, nil
}

// checkNamespaces fails when namespaces that objects go into, or the set's
// record, do not exist and the manifests do not create them, or are being
// deleted. A user who may not read namespaces learns it from the apply
// instead.
func (d *Deployer) checkNamespaces(ctx context.Context, objs []*object) error {
	users := map[string][]*object{d.opts.Namespace: nil}
	created := map[string]bool{}
	for _, o := range objs {
		if ns := o.obj.GetNamespace(); ns != "" {
			users[ns] = append(users[ns], o)
		}
		if name := o.obj.GetName(); o.key().gk == namespaceKind {
			created[name] = true
			if _, ok := users[name]; !ok {
				users[name] = nil // looked at too: it may be being deleted
			}
		}
	}
	var errs []error
	for _, ns := range slices.Sorted(maps.Keys(users)) {
		live, err := d.client.Resource(namespaces).Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if !created[ns] {
				errs = append(errs, d.missingNamespaceError(ns, users[ns]))
			}
		case apierrors.IsForbidden(err):
		case err != nil:
			return d.requestError("checking namespace "+ns, err)
		case live.GetDeletionTimestamp() != nil:
			gone, err := d.waitDeleted(ctx, d.client.Resource(namespaces), live)
			if err != nil {
				return err
			}
			if !gone {
				errs = append(errs, terminatingError(ns))
			} else if !created[ns] {
				errs = append(errs, d.missingNamespaceError(ns, users[ns]))
			}
		}
	}
	return errors.Join(errs...)
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// applyRun is the progress of one Apply.
type applyRun struct {
	d       *Deployer
	objs    []*object
	results []*unstructured.Unstructured // nil until applied
	// members are the set's objects before this Apply.
	members map[key]member
}

// applyAll applies the objects at indexes idx concurrently, prints what
// became of each in the manifests' order, and returns the failures.
func (r *applyRun) applyAll(ctx context.Context, idx []int) []error {
	outcomes := make([]string, len(idx))
	errs := make([]error, len(idx))
	forEach(len(idx), func(j int) {
		outcomes[j], errs[j] = r.apply(ctx, idx[j])
	})
	for j, i := range idx {
		if outcomes[j] != "" {
			r.d.progress(r.objs[i].ref(), outcomes[j])
		}
	}
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// apply applies objs[i] and says whether it was created, configured or
// left unchanged.
func (r *applyRun) apply(ctx context.Context, i int) (string, error) {
	o := r.objs[i]
	client := r.d.client.Resource(o.mapping.Resource).Namespace(o.obj.GetNamespace())
	// The object before tells the three outcomes apart: a no-op apply
	// leaves it as it was, apart from what controllers changed meanwhile.
	var before *unstructured.Unstructured
	if m, ok := r.members[o.key()]; ok {
		before = m.obj
	} else {
		live, err := client.Get(ctx, o.obj.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return "", r.d.objectError(o, err)
		}
		if err == nil {
			before = live
		}
	}
	if before != nil && before.GetDeletionTimestamp() != nil {
		gone, err := r.d.waitDeleted(ctx, client, before)
		if err != nil {
			return "", err
		}
		if gone {
			before = nil
		}
	}
	data, err := json.Marshal(o.obj.Object)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", o.where(), err)
	}
	patch := func() (*unstructured.Unstructured, error) {
		return client.Patch(ctx, o.obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
			FieldManager:    kube.FieldManager,
			Force:           new(true),
			FieldValidation: metav1.FieldValidationStrict,
		})
	}
	out, err := patch()
	if err != nil && r.d.opts.Force && before != nil && apierrors.IsInvalid(err) {
		if rerr := r.d.recreate(ctx, client, before); rerr != nil {
			return "", fmt.Errorf("%w\n--force: %w", r.d.objectError(o, err), rerr)
		}
		if out, err = patch(); err == nil {
			r.results[i] = out
			return "recreated (--force)", nil
		}
	}
	if err != nil {
		return "", r.d.objectError(o, err)
	}
	r.results[i] = out
	switch {
	case before == nil:
		return "created", nil
	case before.GetResourceVersion() == out.GetResourceVersion() || sameContent(before, out):
		return "unchanged", nil
	default:
		return "configured", nil
	}
}

// waitDeleted waits, up to Options.WaitForDeletions, for live, which is
// being deleted, to be gone, and says whether it is.
func (d *Deployer) waitDeleted(ctx context.Context, client dynamic.ResourceInterface, live *unstructured.Unstructured) (bool, error) {
	if d.opts.WaitForDeletions <= 0 {
		return false, nil
	}
	ref := render.Manifest{Object: live}.Ref()
	d.progress(ref, fmt.Sprintf("is being deleted: waiting up to %s for it to go (--wait-for-deletions-max)", d.opts.WaitForDeletions))
	err := wait.PollUntilContextTimeout(ctx, d.opts.WaitForDeletionsDelay, d.opts.WaitForDeletions, true, func(ctx context.Context) (bool, error) {
		now, err := client.Get(ctx, live.GetName(), metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && now.GetUID() != live.GetUID(), nil
	})
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return err == nil, nil
}

// recreate deletes live (foreground: its pods go first) for Options.Force
// and waits until it is gone, up to Options.Timeout.
func (d *Deployer) recreate(ctx context.Context, client dynamic.ResourceInterface, live *unstructured.Unstructured) error {
	ref := render.Manifest{Object: live}.Ref()
	d.progress(ref, "cannot be changed in place: deleting it to recreate it (--force)")
	propagation := metav1.DeletePropagationForeground
	err := client.Delete(ctx, live.GetName(), metav1.DeleteOptions{
		PropagationPolicy: &propagation,
		Preconditions:     &metav1.Preconditions{UID: new(live.GetUID())},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return d.requestError("deleting "+ref+" to recreate it", err)
	}
	err = wait.PollUntilContextTimeout(ctx, d.poll, d.opts.Timeout, true, func(ctx context.Context) (bool, error) {
		now, err := client.Get(ctx, live.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) || err == nil && now.GetUID() != live.GetUID() {
			return true, nil
		}
		return false, nil // still there, or a failed look: look again
	})
	if err != nil {
		return fmt.Errorf("%s was still being deleted after %s (its finalizers or pods hold it); run the deploy again once it is gone: %w", ref, d.opts.Timeout, err)
	}
	return nil
}

// sameContent tells whether a and b are the same object apart from what
// changes without an apply: status, resourceVersion and managedFields (a
// controller writing a Deployment's status between two reads bumps the
// resourceVersion of an object the apply left alone).
func sameContent(a, b *unstructured.Unstructured) bool {
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy()
		unstructured.RemoveNestedField(c.Object, "status")
		c.SetResourceVersion("")
		c.SetManagedFields(nil)
		return c.Object
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// establishCRDs waits until every applied CustomResourceDefinition is
// established, so its custom resources can be applied, and refreshes the
// discovery cache, which then knows their kinds.
func (r *applyRun) establishCRDs(ctx context.Context) []error {
	var idx []int
	for i, o := range r.objs {
		if o.key().gk == crdKind {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	errs := make([]error, len(idx))
	forEach(len(idx), func(j int) {
		errs[j] = r.establish(ctx, idx[j])
	})
	r.d.mapper.ResetWithContext(ctx)
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// establish waits until the CRD objs[i] is established.
func (r *applyRun) establish(ctx context.Context, i int) error {
	o := r.objs[i]
	client := r.d.client.Resource(o.mapping.Resource)
	crd := r.results[i]
	var last string
	err := wait.PollUntilContextTimeout(ctx, r.d.poll, r.d.opts.Timeout, true, func(ctx context.Context) (bool, error) {
		if crd == nil {
			live, err := client.Get(ctx, o.obj.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, r.d.objectError(o, err)
			}
			crd = live
		}
		established, namesAccepted, message := crdConditions(crd)
		crd = nil
		last = message
		if namesAccepted == metav1.ConditionFalse {
			return false, fmt.Errorf("%s: the API server did not accept its names: %s: fix the manifest", o.where(), message)
		}
		return established == metav1.ConditionTrue, nil
	})
	if wait.Interrupted(err) {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: interrupted while waiting for it to be established: %w", o.where(), context.Cause(ctx))
		}
		return fmt.Errorf("%s was not established within %s (%s): its custom resources were not applied; check the CRD with `kubectl describe crd %s`",
			o.where(), r.d.opts.Timeout, last, o.obj.GetName())
	}
	return err
}

// crdConditions returns a CRD's Established and NamesAccepted statuses,
// and what a condition that is not True says.
func crdConditions(crd *unstructured.Unstructured) (established, namesAccepted metav1.ConditionStatus, message string) {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	message = "no conditions reported yet"
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		typ, _, _ := unstructured.NestedString(c, "type")
		status, _, _ := unstructured.NestedString(c, "status")
		msg, _, _ := unstructured.NestedString(c, "message")
		switch typ {
		case "Established":
			established = metav1.ConditionStatus(status)
		case "NamesAccepted":
			namesAccepted = metav1.ConditionStatus(status)
		default:
			continue
		}
		if status != string(metav1.ConditionTrue) && msg != "" {
			message = typ + ": " + msg
		}
	}
	return established, namesAccepted, message
}

// failure is the ApplyError for errs, with what was applied so far.
func (r *applyRun) failure(errs []error) error {
	var unique []error
	seen := map[string]bool{}
	for _, err := range errs {
		// A cluster that went away fails every object the same way.
		if !seen[err.Error()] {
			seen[err.Error()] = true
			unique = append(unique, err)
		}
	}
	e := &ApplyError{Err: errors.Join(unique...)}
	for i, o := range r.objs {
		if r.results[i] != nil {
			e.Applied = append(e.Applied, o.ref())
		} else {
			e.NotApplied = append(e.NotApplied, o.ref())
		}
	}
	return e
}

// forEach calls fn(0) ... fn(n-1), parallelism at a time, and waits.
func forEach(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallelism)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
