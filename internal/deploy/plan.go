package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/render"
)

// object is a manifest made ready to apply.
type object struct {
	m render.Manifest
	// obj is what is sent: a copy of the manifest's object with its
	// namespace settled and the set's part-of label.
	obj     *unstructured.Unstructured
	mapping *meta.RESTMapping
	tier    int
}

// key identifies an object on the cluster.
type key struct {
	gk              schema.GroupKind
	namespace, name string
}

func (o *object) key() key {
	return key{gk: o.mapping.GroupVersionKind.GroupKind(), namespace: o.obj.GetNamespace(), name: o.obj.GetName()}
}

// ref names the object as kubectl prints it, e.g. "deployment.apps/web".
func (o *object) ref() string { return o.m.Ref() }

// where names the object and the manifest it came from, for messages.
func (o *object) where() string { return where(o.m) }

func where(m render.Manifest) string {
	if m.Source.File == "" {
		return m.Ref()
	}
	return m.Ref() + " in " + m.Source.String()
}

var (
	namespaceKind = schema.GroupKind{Kind: "Namespace"}
	crdKind       = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
)

// Tiers order the apply: each tier is applied, concurrently, once the
// tiers before it are; Delete goes through them in reverse, each gone
// before the next starts.
const (
	// tierDefinitions: Namespaces and CustomResourceDefinitions, which the
	// rest need to exist.
	tierDefinitions = iota
	// tierPrerequisites: objects that admission checks when pods and
	// workloads are created (service accounts, quotas, limit ranges,
	// priority classes), and the configuration, storage and access
	// control that workloads use.
	tierPrerequisites
	// tierBuiltin: the other built-in kinds (workloads, services, ...).
	tierBuiltin
	// tierCustom: custom resources. Delete removes them while the
	// controllers that run their finalizers still run.
	tierCustom
	// tierAdmission: webhook configurations, admission policies and API
	// services, last: registered before the service behind them is up,
	// they would hold up the rest.
	tierAdmission
	tiers
)

// prerequisiteKinds are the kinds of tierPrerequisites.
var prerequisiteKinds = kindSet(map[string][]string{
	"":                          {"ServiceAccount", "Secret", "ConfigMap", "LimitRange", "ResourceQuota", "PersistentVolume", "PersistentVolumeClaim"},
	"rbac.authorization.k8s.io": {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"},
	"scheduling.k8s.io":         {"PriorityClass"},
	"node.k8s.io":               {"RuntimeClass"},
	"storage.k8s.io":            {"StorageClass"},
	"networking.k8s.io":         {"IngressClass"},
})

// admissionKinds are the kinds of tierAdmission.
var admissionKinds = kindSet(map[string][]string{
	"admissionregistration.k8s.io": {
		"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
		"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
	},
	"apiregistration.k8s.io": {"APIService"},
})

func kindSet(groups map[string][]string) map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for group, kinds := range groups {
		for _, k := range kinds {
			m[schema.GroupKind{Group: group, Kind: k}] = true
		}
	}
	return m
}

// tierOf is the tier of objects of kind gk.
func tierOf(gk schema.GroupKind) int {
	switch {
	case gk == namespaceKind || gk == crdKind:
		return tierDefinitions
	case prerequisiteKinds[gk]:
		return tierPrerequisites
	case admissionKinds[gk]:
		return tierAdmission
	case builtinGroup(gk.Group):
		return tierBuiltin
	default:
		return tierCustom
	}
}

// builtinGroup tells Kubernetes' own API groups from custom ones: a
// CustomResourceDefinition's group must contain a dot, and those under
// k8s.io need an API review.
func builtinGroup(group string) bool {
	return !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
}

// crdDef is a kind that a CustomResourceDefinition among the manifests
// defines.
type crdDef struct {
	m        render.Manifest
	plural   string
	scope    meta.RESTScope
	versions []string // served
}

// crdDefs returns the kinds the CRDs among ms define.
func crdDefs(ms []render.Manifest) map[schema.GroupKind]crdDef {
	defs := map[schema.GroupKind]crdDef{}
	for _, m := range ms {
		if m.Object.GroupVersionKind().GroupKind() != crdKind {
			continue
		}
		spec, _, _ := unstructured.NestedMap(m.Object.Object, "spec")
		group, _, _ := unstructured.NestedString(spec, "group")
		kind, _, _ := unstructured.NestedString(spec, "names", "kind")
		plural, _, _ := unstructured.NestedString(spec, "names", "plural")
		scope, _, _ := unstructured.NestedString(spec, "scope")
		if kind == "" || plural == "" {
			continue // the API server rejects it with the reason
		}
		def := crdDef{m: m, plural: plural, scope: meta.RESTScopeNamespace}
		if scope == "Cluster" {
			def.scope = meta.RESTScopeRoot
		}
		versions, _, _ := unstructured.NestedSlice(spec, "versions")
		for _, v := range versions {
			v, _ := v.(map[string]any)
			name, _, _ := unstructured.NestedString(v, "name")
			served, _, _ := unstructured.NestedBool(v, "served")
			if name != "" && served {
				def.versions = append(def.versions, name)
			}
		}
		defs[schema.GroupKind{Group: group, Kind: kind}] = def
	}
	return defs
}

// plan resolves every manifest's kind and namespace and prepares the
// objects to send, or says what is wrong with the manifests before
// anything is applied.
func (d *Deployer) plan(ctx context.Context, ms []render.Manifest) ([]*object, error) {
	defs := crdDefs(ms)
	objs := make([]*object, 0, len(ms))
	var errs []error
	refreshed := false
	seen := map[key]render.Manifest{}
	for _, m := range ms {
		gvk := m.Object.GroupVersionKind()
		switch {
		case gvk.Kind == "" || gvk.Version == "":
			errs = append(errs, fmt.Errorf("%s: the object has no apiVersion or kind", m.Source))
			continue
		case m.Object.GetName() == "":
			errs = append(errs, fmt.Errorf("%s in %s has no metadata.name (generateName cannot be applied)", strings.TrimSuffix(m.Ref(), "/"), m.Source))
			continue
		}
		mapping, err := d.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) && !refreshed {
			// The discovery cache may predate a CRD someone installed.
			refreshed = true
			d.mapper.ResetWithContext(ctx)
			mapping, err = d.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
		}
		if meta.IsNoMatchError(err) {
			mapping, err = d.mappingFromCRD(ctx, m, defs)
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err != nil {
			return nil, d.requestError("looking up the cluster's API resources", err)
		}
		o, err := d.prepare(m, mapping)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if o.key() == (key{gk: schema.GroupKind{Kind: "ConfigMap"}, namespace: d.set.namespace, name: d.set.name}) {
			errs = append(errs, fmt.Errorf("%s: the name is skiff's, for its record of project %s's objects; rename the ConfigMap", o.where(), d.opts.Project))
			continue
		}
		if prev, dup := seen[o.key()]; dup {
			errs = append(errs, fmt.Errorf("%s is in the manifests twice: in %s and in %s; keep one", o.ref(), prev.Source, m.Source))
			continue
		}
		seen[o.key()] = m
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return objs, nil
}

// mappingFromCRD maps the kind of m, which the cluster does not serve,
// through a CRD among the manifests; without one, the kind is unknown.
func (d *Deployer) mappingFromCRD(ctx context.Context, m render.Manifest, defs map[schema.GroupKind]crdDef) (*meta.RESTMapping, error) {
	gvk := m.Object.GroupVersionKind()
	def, ok := defs[gvk.GroupKind()]
	if !ok {
		return nil, d.unknownKindError(ctx, m)
	}
	if !slices.Contains(def.versions, gvk.Version) {
		return nil, fmt.Errorf("kind %s (%s) of %s is not served by its CustomResourceDefinition %s in %s, which serves %s: check apiVersion",
			gvk.Kind, gvk.GroupVersion(), where(m), def.m.Object.GetName(), def.m.Source, versionList(gvk.Group, def.versions))
	}
	return &meta.RESTMapping{
		Resource:         gvk.GroupVersion().WithResource(def.plural),
		GroupVersionKind: gvk,
		Scope:            def.scope,
	}, nil
}

// unknownKindError says that the cluster does not know m's kind, and
// which versions of it the cluster does serve, if any.
func (d *Deployer) unknownKindError(ctx context.Context, m render.Manifest) error {
	gvk := m.Object.GroupVersionKind()
	var served []string
	if mappings, err := d.mapper.RESTMappingsWithContext(ctx, gvk.GroupKind()); err == nil {
		for _, mp := range mappings {
			served = append(served, mp.GroupVersionKind.Version)
		}
	}
	if len(served) > 0 {
		return fmt.Errorf("kind %s (%s) of %s is not served by the cluster, which serves %s in %s: check apiVersion",
			gvk.Kind, gvk.GroupVersion(), where(m), gvk.Kind, versionList(gvk.Group, served))
	}
	return fmt.Errorf("kind %s (%s) in %s is not known to the cluster: apply its CustomResourceDefinition first or check apiVersion (the object is %s)",
		gvk.Kind, gvk.GroupVersion(), m.Source, m.Ref())
}

// versionList formats versions of group as "g/v1 or g/v2".
func versionList(group string, versions []string) string {
	var gvs []string
	for _, v := range versions {
		gvs = append(gvs, schema.GroupVersion{Group: group, Version: v}.String())
	}
	return strings.Join(gvs, " or ")
}

// prepare copies m's object into what is applied: server-set metadata
// (which would make server-side apply fail, as in `kubectl get -o yaml`
// output) removed, the namespace settled by the kind's scope, and the
// set's part-of label added.
func (d *Deployer) prepare(m render.Manifest, mapping *meta.RESTMapping) (*object, error) {
	obj := m.Object.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "managedFields"} {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(d.opts.Namespace)
		}
	} else {
		obj.SetNamespace("")
	}
	labels := obj.GetLabels()
	if v, ok := labels[applySetPartOfLabel]; ok && v != d.set.id {
		return nil, fmt.Errorf("%s has label %s=%s: it belongs to another ApplySet, and an object can be in one only; remove the label from the manifest",
			where(m), applySetPartOfLabel, v)
	}
	if labels == nil {
		labels = map[string]string{}
	}
	labels[applySetPartOfLabel] = d.set.id
	obj.SetLabels(labels)
	return &object{m: m, obj: obj, mapping: mapping, tier: tierOf(mapping.GroupVersionKind.GroupKind())}, nil
}
