package render

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// clusterScoped are the built-in kinds that live outside namespaces.
// Kinds not listed, and not defined as cluster-scoped by a CRD among the
// manifests, are taken to be namespaced.
var clusterScoped = func() map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for group, kinds := range map[string][]string{
		"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
		"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
		"apiextensions.k8s.io":         {"CustomResourceDefinition"},
		"apiregistration.k8s.io":       {"APIService"},
		"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
		"scheduling.k8s.io":            {"PriorityClass"},
		"node.k8s.io":                  {"RuntimeClass"},
		"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
		"policy":                       {"PodSecurityPolicy"},
		"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
		"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
		"authentication.k8s.io":        {"TokenReview", "SelfSubjectReview"},
		"authorization.k8s.io":         {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"},
		"resource.k8s.io":              {"DeviceClass", "ResourceSlice"},
		"internal.apiserver.k8s.io":    {"StorageVersion"},
		"storagemigration.k8s.io":      {"StorageVersionMigration"},
		"admissionregistration.k8s.io": {
			"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
			"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
		},
	} {
		for _, k := range kinds {
			m[schema.GroupKind{Group: group, Kind: k}] = true
		}
	}
	return m
}()

// crdKind is the kind of a CustomResourceDefinition.
var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// scopes knows which kinds are namespaced: the built-in list, plus the
// kinds the CRDs among the manifests define.
type scopes map[schema.GroupKind]bool // true: cluster-scoped

func newScopes(ms []Manifest) scopes {
	s := scopes{}
	for _, m := range ms {
		if m.Object.GroupVersionKind().GroupKind() != crdKind {
			continue
		}
		group, _, _ := unstructured.NestedString(m.Object.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(m.Object.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(m.Object.Object, "spec", "scope")
		if kind != "" {
			s[schema.GroupKind{Group: group, Kind: kind}] = scope == "Cluster"
		}
	}
	return s
}

// namespaced reports whether objects of kind gk belong in a namespace.
func (s scopes) namespaced(gk schema.GroupKind) bool {
	if cluster, ok := s[gk]; ok {
		return !cluster
	}
	return !clusterScoped[gk]
}
