package deploy

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"

	"skiff.dev/skiff/internal/render"
)

// member is an object of the set, as found on the cluster.
type member struct {
	obj     *unstructured.Unstructured
	mapping *meta.RESTMapping
}

func (m member) key() key {
	return key{gk: m.mapping.GroupVersionKind.GroupKind(), namespace: m.obj.GetNamespace(), name: m.obj.GetName()}
}

// ref names the object as kubectl prints it, e.g. "deployment.apps/web".
func (m member) ref() string { return render.Manifest{Object: m.obj}.Ref() }

// String names the object and its namespace, for messages.
func (m member) String() string {
	if ns := m.obj.GetNamespace(); ns != "" {
		return m.ref() + " in namespace " + ns
	}
	return m.ref()
}

// owner names an owner of the object (its first owner reference), or is
// "". The ApplySet specification has tools leave such objects alone: the
// part-of label may have been copied onto them by their owner.
func (m member) owner() string {
	refs := m.obj.GetOwnerReferences()
	if len(refs) == 0 {
		return ""
	}
	return refs[0].Kind + "/" + refs[0].Name
}

// listMembers finds the objects labelled part of the set, looking in the
// kinds and namespaces inv records. Kinds the cluster no longer serves
// have no objects left.
func (d *Deployer) listMembers(ctx context.Context, inv inventory) (map[key]member, error) {
	type task struct {
		mapping   *meta.RESTMapping
		namespace string
		items     []unstructured.Unstructured
		err       error
	}
	var tasks []*task
	nss := sets.List(inv.namespaces)
	for gk := range inv.kinds {
		mapping, err := d.mapper.RESTMappingWithContext(ctx, gk)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, d.requestError("looking up the cluster's API resources", err)
		}
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			tasks = append(tasks, &task{mapping: mapping})
			continue
		}
		for _, ns := range nss {
			tasks = append(tasks, &task{mapping: mapping, namespace: ns})
		}
	}
	selector := applySetPartOfLabel + "=" + d.set.id
	forEach(len(tasks), func(i int) {
		t := tasks[i]
		list, err := d.client.Resource(t.mapping.Resource).Namespace(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			where := ""
			if t.namespace != "" {
				where = " in namespace " + t.namespace
			}
			t.err = d.requestError(fmt.Sprintf("listing the %s of project %s%s", t.mapping.Resource.GroupResource(), d.opts.Project, where), err)
			return
		}
		t.items = list.Items
	})
	members := map[key]member{}
	for _, t := range tasks {
		if t.err != nil {
			return nil, t.err
		}
		for i := range t.items {
			m := member{obj: &t.items[i], mapping: t.mapping}
			members[m.key()] = m
		}
	}
	return members, nil
}
