package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/version"
)

// The ApplySet specification's labels and annotations (KEP-3659,
// "Design Details: ApplySet Specification"), as kubectl's
// pkg/cmd/apply/applyset.go spells them.
const (
	// applySetIDLabel marks the parent; its value is the set's ID.
	applySetIDLabel = "applyset.kubernetes.io/id"
	// applySetPartOfLabel marks a member; its value is the set's ID.
	applySetPartOfLabel = "applyset.kubernetes.io/part-of"
	// applySetToolingAnnotation is "<tool>/<version>" of the tool that
	// manages the set; tools refuse to change sets of other tools.
	applySetToolingAnnotation = "applyset.kubernetes.io/tooling"
	// applySetKindsAnnotation lists the members' group-kinds, as
	// Kind.group, sorted and comma-separated.
	applySetKindsAnnotation = "applyset.kubernetes.io/contains-group-kinds"
	// applySetNamespacesAnnotation lists the namespaces other than the
	// parent's that hold members, sorted and comma-separated.
	applySetNamespacesAnnotation = "applyset.kubernetes.io/additional-namespaces"
)

// toolName is the tool part of the tooling annotation.
const toolName = "skiff"

// configMaps is the parent's resource.
var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// applySet is a project's deployment set: the parent ConfigMap that names
// it and what the parent records. skiff uses a ConfigMap rather than
// kubectl's default Secret: the record holds nothing secret, and users who
// may read ConfigMaps but not Secrets can inspect it.
type applySet struct {
	project   string
	name      string // the parent ConfigMap's name
	namespace string // the parent's namespace
	id        string // the value of the id and part-of labels
}

func newApplySet(project, namespace string) applySet {
	name := parentName(project)
	return applySet{project: project, name: name, namespace: namespace, id: applySetID(name, namespace, "ConfigMap", "")}
}

// parentName names the parent ConfigMap of project's set.
func parentName(project string) string { return "skiff-applyset-" + project }

// applySetID is the spec's ID of the set whose parent is the object
// name/namespace of kind.group: "applyset-" + base64url(sha256(
// "<name>.<namespace>.<kind>.<group>")) + "-v1", which a tool must check
// against the parent's id label.
func applySetID(name, namespace, kind, group string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{name, namespace, kind, group}, ".")))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// String names the parent for messages.
func (s applySet) String() string { return "ConfigMap " + s.namespace + "/" + s.name }

// tooling is the tooling annotation's value for this skiff.
func tooling() string { return toolName + "/" + version.Version }

// inventory is what a parent records: the members' group-kinds and the
// namespaces they are in (the parent's own included).
type inventory struct {
	kinds      sets.Set[schema.GroupKind]
	namespaces sets.Set[string]
}

func newInventory() inventory {
	return inventory{kinds: sets.New[schema.GroupKind](), namespaces: sets.New[string]()}
}

// add records an object of gk in namespace ("" when cluster-scoped).
func (inv inventory) add(gk schema.GroupKind, namespace string) {
	inv.kinds.Insert(gk)
	if namespace != "" {
		inv.namespaces.Insert(namespace)
	}
}

// union returns an inventory with what inv and other record.
func (inv inventory) union(other inventory) inventory {
	return inventory{kinds: inv.kinds.Union(other.kinds), namespaces: inv.namespaces.Union(other.namespaces)}
}

// read fetches the parent and returns what it records; exists is false
// when there is no parent yet. A parent that another tool manages, or
// whose id does not match its name, is an error: the spec forbids
// changing it.
func (s applySet) read(ctx context.Context, d *Deployer) (inv inventory, exists bool, err error) {
	inv = newInventory()
	obj, err := d.client.Resource(configMaps).Namespace(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return inv, false, nil
	}
	if err != nil {
		return inv, false, d.requestError(fmt.Sprintf("reading project %s's record (%s)", s.project, s), err)
	}
	tool, ok := obj.GetAnnotations()[applySetToolingAnnotation]
	if !ok {
		return inv, true, fmt.Errorf("%s exists but is not a skiff record (it has no %s annotation): rename the ConfigMap or the project", s, applySetToolingAnnotation)
	}
	if base := toolBase(tool); base != toolName {
		return inv, true, fmt.Errorf("%s records an ApplySet that %q manages, not skiff: skiff does not change other tools' sets; delete it with that tool or rename the project", s, tool)
	}
	if got := obj.GetLabels()[applySetIDLabel]; got != s.id {
		return inv, true, fmt.Errorf("%s has label %s=%q, but a set with this parent must have %q: fix or delete the ConfigMap", s, applySetIDLabel, got, s.id)
	}
	annotations := obj.GetAnnotations()
	for _, k := range splitList(annotations[applySetKindsAnnotation]) {
		inv.kinds.Insert(schema.ParseGroupKind(k))
	}
	inv.namespaces.Insert(splitList(annotations[applySetNamespacesAnnotation])...)
	inv.namespaces.Insert(s.namespace)
	return inv, true, nil
}

// write makes the parent record inv, creating it when missing.
func (s applySet) write(ctx context.Context, d *Deployer, inv inventory) error {
	var kinds []string
	for gk := range inv.kinds {
		kinds = append(kinds, gk.String())
	}
	slices.Sort(kinds)
	namespaces := sets.List(inv.namespaces.Clone().Delete(s.namespace))
	parent := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":      s.name,
			"namespace": s.namespace,
			"labels": map[string]any{
				applySetIDLabel:     s.id,
				kube.ManagedByLabel: kube.ManagedBy,
				kube.ProjectLabel:   s.project,
			},
			"annotations": map[string]any{
				applySetToolingAnnotation:    tooling(),
				applySetKindsAnnotation:      strings.Join(kinds, ","),
				applySetNamespacesAnnotation: strings.Join(namespaces, ","),
			},
		},
	}
	data, err := json.Marshal(parent)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", s, err)
	}
	_, err = d.client.Resource(configMaps).Namespace(s.namespace).Patch(ctx, s.name, types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: kube.FieldManager, Force: new(true)})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return d.missingNamespaceError(s.namespace, nil)
		}
		return d.requestError(fmt.Sprintf("recording project %s's objects in %s", s.project, s), err)
	}
	return nil
}

// toolBase is the tool part of a tooling annotation "<tool>/<version>".
func toolBase(tooling string) string {
	if i := strings.LastIndex(tooling, "/"); i >= 0 {
		return tooling[:i]
	}
	return tooling
}

// splitList splits a comma-separated annotation value; "" is no items.
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}
