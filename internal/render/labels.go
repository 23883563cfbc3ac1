package render

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// podKind is the kind whose own metadata is a pod's.
var podKind = schema.GroupKind{Kind: "Pod"}

// podTemplates are where the built-in workload kinds keep their pod
// template; it gets a metadata block when it has none, so that its pods
// carry the pod labels.
var podTemplates = func() map[schema.GroupKind][]string {
	template := []string{"spec", "template"}
	m := map[schema.GroupKind][]string{
		{Group: "batch", Kind: "Job"}:     template,
		{Group: "batch", Kind: "CronJob"}: {"spec", "jobTemplate", "spec", "template"},
	}
	for _, group := range []string{"apps", "extensions"} {
		for _, kind := range []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"} {
			m[schema.GroupKind{Group: group, Kind: kind}] = template
		}
	}
	return m
}()

// setLabels puts labels on obj's metadata, and podLabels on the pods it
// makes: a Pod's own metadata, and in a transformable kind every nested
// metadata block (pod templates, a CronJob's job template, ...) or the
// blocks at the labels paths a resourceSelector names. Both replace values
// the manifest sets, since skiff finds what it deployed by them. Selectors
// are never touched.
func setLabels(obj map[string]any, gk schema.GroupKind, s *selector, labels, podLabels map[string]string) {
	if len(podLabels) > 0 && s.transformable(gk) {
		if gk == podKind {
			mergeLabels(obj, "metadata", "labels", podLabels)
		}
		if path, ok := podTemplates[gk]; ok {
			if tmpl, ok := nestedMap(obj, path); ok && tmpl["metadata"] == nil {
				tmpl["metadata"] = map[string]any{}
			}
		}
		walkFields(obj, func(m map[string]any, path, key string) bool {
			if path == ".metadata" {
				return false // the object's own: labels, not pod labels
			}
			if field, ok := s.labelsField(gk, path, key); ok {
				if _, isMap := m[key].(map[string]any); isMap {
					mergeLabels(m, key, field, podLabels)
					return false
				}
			}
			return true
		})
	}
	mergeLabels(obj, "metadata", "labels", labels)
}

// mergeLabels sets labels in the map parent[key][field], creating it when
// missing. A field that is not a mapping is left alone (the API server
// rejects it with a clear message).
func mergeLabels(parent map[string]any, key, field string, labels map[string]string) {
	if len(labels) == 0 {
		return
	}
	block, ok := parent[key].(map[string]any)
	if !ok {
		return
	}
	target, ok := block[field].(map[string]any)
	if !ok {
		if block[field] != nil {
			return
		}
		target = map[string]any{}
		block[field] = target
	}
	for k, v := range labels {
		target[k] = v
	}
}

// nestedMap returns the mapping at path in obj.
func nestedMap(obj map[string]any, path []string) (map[string]any, bool) {
	m := obj
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}
