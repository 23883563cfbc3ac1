// Package kube holds skiff's Kubernetes plumbing: kubeconfig, clients,
// exec, logs and port-forwarding, all through client-go.
package kube

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
)

// CurrentContext returns the current context of the kubeconfig file given
// (--kubeconfig), or when it is "" of KUBECONFIG or ~/.kube/config, as
// kubectl would use it. A kubeconfig that sets no current context gives ""
// and no error, as Skaffold reads it for profile activation: a profile
// activated by kubeContext then stays inactive.
func CurrentContext(kubeconfig string) (string, error) {
	cfg, err := loadingRules(kubeconfig).Load()
	if err != nil {
		return "", fmt.Errorf("reading kubeconfig%s: %w", fileNote(kubeconfig), err)
	}
	return cfg.CurrentContext, nil
}

// loadingRules find the kubeconfig: the file given, else as kubectl does.
// client-go reads KUBECONFIG (and HOME, for ~/.kube/config) from the
// process environment itself, as kubectl does.
func loadingRules(kubeconfig string) *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return rules
}

// fileNote names the kubeconfig file in messages when one was given.
func fileNote(kubeconfig string) string {
	if kubeconfig == "" {
		return ""
	}
	return " " + kubeconfig
}
