package image

import (
	"context"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/kube/typed"
)

// Where a cluster advertises its local registry (KEP-1755).
const (
	LocalRegistryNamespace = "kube-public"
	LocalRegistryConfigMap = "local-registry-hosting"
	LocalRegistryKey       = "localRegistryHosting.v1"
)

// LocalRegistryHosting is the localRegistryHosting.v1 document of
// KEP-1755: how to reach the cluster's local registry.
type LocalRegistryHosting struct {
	// Host is where tools on this machine push, e.g. localhost:5001.
	Host string `yaml:"host,omitempty"`
	// HostFromContainerRuntime is where the cluster's container runtime
	// pulls from, when it differs from Host.
	HostFromContainerRuntime string `yaml:"hostFromContainerRuntime,omitempty"`
	// HostFromClusterNetwork is where pods reach the registry, when it
	// differs from Host.
	HostFromClusterNetwork string `yaml:"hostFromClusterNetwork,omitempty"`
	// Help is a URL that explains the registry.
	Help string `yaml:"help,omitempty"`
}

// LocalRegistry reads the KEP-1755 ConfigMap
// kube-public/local-registry-hosting from the cluster and returns the
// registry host tools push to, or ok=false when the cluster advertises
// none.
func LocalRegistry(ctx context.Context, api typed.API) (host string, ok bool, err error) {
	h, ok, err := ReadLocalRegistryHosting(ctx, api)
	if err != nil || !ok {
		return "", ok, err
	}
	return h.Host, true, nil
}

// ReadLocalRegistryHosting returns the cluster's whole KEP-1755
// document, or ok=false when the cluster advertises no registry (no
// ConfigMap, a ConfigMap we may not read, or no host in it).
func ReadLocalRegistryHosting(ctx context.Context, api typed.API) (*LocalRegistryHosting, bool, error) {
	cm, err := api.ConfigMaps(LocalRegistryNamespace).Get(ctx, LocalRegistryConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("reading the cluster's local registry (ConfigMap %s/%s): %w", LocalRegistryNamespace, LocalRegistryConfigMap, err)
	}
	doc, ok := cm.Data[LocalRegistryKey]
	if !ok {
		return nil, false, nil
	}
	var h LocalRegistryHosting
	if err := yaml.Unmarshal([]byte(doc), &h); err != nil {
		return nil, false, fmt.Errorf("the cluster's ConfigMap %s/%s has an invalid %s (%w); fix or delete it", LocalRegistryNamespace, LocalRegistryConfigMap, LocalRegistryKey, err)
	}
	h.Host = strings.TrimSpace(h.Host)
	if h.Host == "" {
		return nil, false, nil
	}
	return &h, true, nil
}
