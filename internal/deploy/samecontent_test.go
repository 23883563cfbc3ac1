package deploy

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSameContent: what controllers write between two reads (status, the
// resourceVersion, their managedFields) does not make an apply that
// changed nothing look like one that did; a label or spec change does.
func TestSameContent(t *testing.T) {
	t.Parallel()
	base := func() *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1",
			"kind":       "Deployment",
			"metadata":   map[string]any{"name": "web", "resourceVersion": "10", "labels": map[string]any{"app": "web"}},
			"spec":       map[string]any{"replicas": int64(2)},
			"status":     map[string]any{"readyReplicas": int64(1)},
		}}
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "skiff", Operation: metav1.ManagedFieldsOperationApply}})
		return u
	}
	for name, tc := range map[string]struct {
		change func(*unstructured.Unstructured)
		same   bool
	}{
		"status and resourceVersion": {func(u *unstructured.Unstructured) {
			u.SetResourceVersion("11")
			_ = unstructured.SetNestedField(u.Object, int64(2), "status", "readyReplicas")
			u.SetManagedFields(append(u.GetManagedFields(), metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Subresource: "status"}))
		}, true},
		"a label": {func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"app": "web", "tier": "x"}) }, false},
		"the spec": {func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(3), "spec", "replicas")
		}, false},
	} {
		a, b := base(), base()
		tc.change(b)
		if got := sameContent(a, b); got != tc.same {
			t.Errorf("%s: sameContent = %v, want %v", name, got, tc.same)
		}
	}
}
