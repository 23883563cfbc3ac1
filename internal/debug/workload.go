package debug

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/render"
)

// templatePaths are where each workload kind Transform debugs keeps its
// pod template; a Pod is its own template. CronJobs are left alone, as
// Skaffold does: their pods come and go on a schedule.
var templatePaths = func() map[schema.GroupKind][]string {
	template := []string{"spec", "template"}
	m := map[schema.GroupKind][]string{
		{Kind: "Pod"}:                   nil,
		{Kind: "ReplicationController"}: template,
		{Group: "batch", Kind: "Job"}:   template,
	}
	for _, group := range []string{"apps", "extensions"} {
		for _, kind := range []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"} {
			m[schema.GroupKind{Group: group, Kind: kind}] = template
		}
	}
	return m
}()

// manifest debugs the pod template of one workload, and sets its replicas
// to 1 where they are set, so that a debugger attaches to the one pod.
func (t *transformer) manifest(m render.Manifest) error {
	if m.Object == nil {
		return nil
	}
	p, ok := templatePaths[m.Object.GroupVersionKind().GroupKind()]
	if !ok {
		return nil
	}
	tmpl := m.Object.Object
	if p != nil {
		v, ok, err := unstructured.NestedFieldNoCopy(m.Object.Object, p...)
		if err != nil || !ok {
			return nil
		}
		if tmpl, ok = v.(map[string]any); !ok {
			return nil
		}
	}
	meta, _ := tmpl["metadata"].(map[string]any)
	spec, _ := tmpl["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	if meta == nil {
		meta = map[string]any{}
	}
	debugged, err := t.podTemplate(m.Ref(), m.Object.GetNamespace(), meta, spec)
	if err != nil || !debugged {
		return err
	}
	tmpl["metadata"] = meta
	if spec, ok := m.Object.Object["spec"].(map[string]any); ok && p != nil {
		if _, ok := spec["replicas"]; ok {
			spec["replicas"] = int64(1)
		}
	}
	return nil
}
