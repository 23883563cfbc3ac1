package helm

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"skiff.dev/skiff/internal/kube"
)

// restGetter gives the Helm SDK skiff's connection to the cluster (the
// kube context skiff resolved, flags included) and a namespace, where
// Helm would read the kubeconfig and HELM_* variables itself.
type restGetter struct {
	kc        *kube.Config
	namespace string
	discovery discovery.CachedDiscoveryInterface
}

func newRESTGetter(kc *kube.Config, namespace string) (*restGetter, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(restConfig(kc))
	if err != nil {
		return nil, err
	}
	return &restGetter{kc: kc, namespace: namespace, discovery: memory.NewMemCacheClient(dc)}, nil
}

// restConfig is kc's REST config with the request rate raised from
// client-go's 5 a second, as deploy.New does.
func restConfig(kc *kube.Config) *rest.Config {
	cfg := rest.CopyConfig(kc.REST)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg
}

// ToRESTConfig returns the cluster's REST config.
func (g *restGetter) ToRESTConfig() (*rest.Config, error) { return restConfig(g.kc), nil }

// ToDiscoveryClient returns a discovery client that caches in memory.
func (g *restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.discovery, nil
}

// ToRESTMapper maps kinds to resources through discovery.
func (g *restGetter) ToRESTMapper() (meta.RESTMapper, error) {
	m := restmapper.NewDeferredDiscoveryRESTMapper(g.discovery)
	return restmapper.NewShortcutExpander(m, g.discovery, nil), nil
}

// ToRawKubeConfigLoader returns a client config that names only the
// namespace and the REST config: Helm asks it for the namespace.
func (g *restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig { return clientConfig{g} }

// clientConfig is the clientcmd.ClientConfig of a restGetter.
type clientConfig struct{ g *restGetter }

// RawConfig returns an empty kubeconfig: skiff resolved it already.
func (c clientConfig) RawConfig() (clientcmdapi.Config, error) { return *clientcmdapi.NewConfig(), nil }

// ClientConfig returns the cluster's REST config.
func (c clientConfig) ClientConfig() (*rest.Config, error) { return c.g.ToRESTConfig() }

// Namespace returns the release's namespace, as set explicitly.
func (c clientConfig) Namespace() (string, bool, error) { return c.g.namespace, true, nil }

// ConfigAccess returns loading rules that name no file: Helm's install,
// upgrade and uninstall never write the kubeconfig.
func (c clientConfig) ConfigAccess() clientcmd.ConfigAccess {
	return &clientcmd.ClientConfigLoadingRules{}
}
