package kube

import (
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/skiff/internal/kube/typed"
)

// Config is a connection to one cluster: the kubeconfig context it came
// from and the REST settings for client-go.
type Config struct {
	// Context is the kubeconfig context's name.
	Context string
	// Namespace is the context's namespace ("default" when unset).
	Namespace string
	REST      *rest.Config
}

// Load reads the kubeconfig (KUBECONFIG or ~/.kube/config) for kubeContext,
// or for the current context when kubeContext is empty.
func Load(kubeContext string) (*Config, error) { return LoadFile("", kubeContext) }

// LoadFile is Load with the kubeconfig file given (--kubeconfig); ""
// means KUBECONFIG, else ~/.kube/config.
func LoadFile(kubeconfig, kubeContext string) (*Config, error) {
	rules := loadingRules(kubeconfig)
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig: %w", err)
	}
	name := kubeContext
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("no kube context: the kubeconfig%s sets no current context; pass --kube-context or set KUBECONFIG", fileNote(kubeconfig))
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, fmt.Errorf("kube context %q is not in the kubeconfig%s; `kubectl config get-contexts` lists the ones there", name, fileNote(kubeconfig))
	}
	restCfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kube context %q: %w", name, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kube context %q: %w", name, err)
	}
	restCfg.UserAgent = "skiff"
	return &Config{Context: name, Namespace: ns, REST: restCfg}, nil
}

// API returns the typed client of the cluster; timeout bounds every
// request (0 for none).
func (c *Config) API(timeout time.Duration) (typed.API, error) {
	api, err := typed.New(c.REST, timeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to kube context %q: %w", c.Context, err)
	}
	return api, nil
}
