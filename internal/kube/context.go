// Package kube holds skiff's Kubernetes plumbing: kubeconfig, clients,
// exec, logs and port-forwarding, all through client-go.
package kube

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
)

// CurrentContext returns the current context of the kubeconfig (KUBECONFIG
// or ~/.kube/config), as kubectl would use it.
func CurrentContext() (string, error) {
	// client-go reads KUBECONFIG and HOME from the process environment
	// itself, as kubectl does.
	cfg, err := clientcmd.NewDefaultClientConfigLoadingRules().Load()
	if err != nil {
		return "", fmt.Errorf("reading kubeconfig: %w", err)
	}
	if cfg.CurrentContext == "" {
		return "", fmt.Errorf("the kubeconfig sets no current context; pass --kube-context or run kubectl config use-context")
	}
	return cfg.CurrentContext, nil
}
