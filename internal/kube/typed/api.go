// Package typed is the typed part of the Kubernetes API that skiff's
// stages use (API), informers of it, and a mapper of kinds to resources
// from the API server's discovery (RESTMapper), on client-go's REST client
// with a scheme of only the groups it needs, so that skiff's executables
// do not link client-go's clientset or discovery client, which register
// every API group there is.
package typed

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
)

// API is the typed part of the Kubernetes API that skiff's stages use:
// pods (with their logs, and the core REST client for exec and
// port-forward), services, events, config maps, the apps workloads and
// jobs. New builds it on client-go's REST client with a scheme of those
// groups only. A clientset's typed clients satisfy each resource
// interface: kubetest.API wraps one, a fake in unit tests, as an API.
type API interface {
	Pods(namespace string) Pods
	Services(namespace string) Resource[*corev1.Service, *corev1.ServiceList]
	Events(namespace string) Resource[*corev1.Event, *corev1.EventList]
	ConfigMaps(namespace string) Resource[*corev1.ConfigMap, *corev1.ConfigMapList]
	Deployments(namespace string) Resource[*appsv1.Deployment, *appsv1.DeploymentList]
	StatefulSets(namespace string) Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList]
	ReplicaSets(namespace string) Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	DaemonSets(namespace string) Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList]
	ControllerRevisions(namespace string) Resource[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList]
	Jobs(namespace string) Resource[*batchv1.Job, *batchv1.JobList]
	// CoreREST is the core group's REST client, for the subresources that
	// are streams (pods' exec and portforward).
	CoreREST() rest.Interface
}

// Resource is a typed client of one kind of object in one namespace, with
// the methods of client-go's typed clients.
type Resource[T, L runtime.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Pods is the typed client of pods in one namespace.
type Pods interface {
	Resource[*corev1.Pod, *corev1.PodList]
	DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, listOpts metav1.ListOptions) error
	// GetLogs is the request for a container's log.
	GetLogs(name string, opts *corev1.PodLogOptions) *rest.Request
}

// apiScheme knows the groups of API: core/v1, apps/v1 and batch/v1.
var apiScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // the generated registrations cannot fail
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}()

var (
	apiCodecs = serializer.NewCodecFactory(apiScheme)
	// ParameterCodec encodes the options of API's requests as query
	// parameters (exec's, a pod log's).
	ParameterCodec = runtime.NewParameterCodec(apiScheme)
)

// New returns the API of the cluster that config connects to; timeout
// bounds every request (0 for none).
func New(config *rest.Config, timeout time.Duration) (API, error) {
	a := &restAPI{}
	for _, g := range []struct {
		gv   schema.GroupVersion
		path string
		rc   **rest.RESTClient
	}{{corev1.SchemeGroupVersion, "/api", &a.core}, {appsv1.SchemeGroupVersion, "/apis", &a.apps}, {batchv1.SchemeGroupVersion, "/apis", &a.batch}} {
		cfg := clientConfig(config, &g.gv, g.path)
		cfg.Timeout = timeout
		rc, err := rest.RESTClientFor(cfg)
		if err != nil {
			return nil, err
		}
		*g.rc = rc
	}
	return a, nil
}

// clientConfig is a copy of config for a REST client of gv at apiPath
// (nil and "" for an unversioned client) that decodes with apiScheme.
func clientConfig(config *rest.Config, gv *schema.GroupVersion, apiPath string) *rest.Config {
	cfg := rest.CopyConfig(config)
	cfg.GroupVersion = gv
	cfg.APIPath = apiPath
	cfg.NegotiatedSerializer = apiCodecs.WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return cfg
}

// restAPI is API over one REST client per group.
type restAPI struct{ core, apps, batch *rest.RESTClient }

// client is a gentype client of resource in namespace through rc, which
// asks for protobuf as client-go's typed clients do.
func client[T interface {
	runtime.Object
	metav1.Object
}, L runtime.Object](rc *rest.RESTClient, resource, namespace string, obj func() T, list func() L) *gentype.ClientWithList[T, L] {
	return gentype.NewClientWithList(resource, rc, ParameterCodec, namespace, obj, list, gentype.PrefersProtobuf[T]())
}

func (a *restAPI) Pods(namespace string) Pods {
	return restPods{client(a.core, "pods", namespace, func() *corev1.Pod { return &corev1.Pod{} }, func() *corev1.PodList { return &corev1.PodList{} }), a.core, namespace}
}

func (a *restAPI) Services(namespace string) Resource[*corev1.Service, *corev1.ServiceList] {
	return client(a.core, "services", namespace, func() *corev1.Service { return &corev1.Service{} }, func() *corev1.ServiceList { return &corev1.ServiceList{} })
}

func (a *restAPI) Events(namespace string) Resource[*corev1.Event, *corev1.EventList] {
	return client(a.core, "events", namespace, func() *corev1.Event { return &corev1.Event{} }, func() *corev1.EventList { return &corev1.EventList{} })
}

func (a *restAPI) ConfigMaps(namespace string) Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return client(a.core, "configmaps", namespace, func() *corev1.ConfigMap { return &corev1.ConfigMap{} }, func() *corev1.ConfigMapList { return &corev1.ConfigMapList{} })
}

func (a *restAPI) Deployments(namespace string) Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
	return client(a.apps, "deployments", namespace, func() *appsv1.Deployment { return &appsv1.Deployment{} }, func() *appsv1.DeploymentList { return &appsv1.DeploymentList{} })
}

func (a *restAPI) StatefulSets(namespace string) Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return client(a.apps, "statefulsets", namespace, func() *appsv1.StatefulSet { return &appsv1.StatefulSet{} }, func() *appsv1.StatefulSetList { return &appsv1.StatefulSetList{} })
}

func (a *restAPI) ReplicaSets(namespace string) Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return client(a.apps, "replicasets", namespace, func() *appsv1.ReplicaSet { return &appsv1.ReplicaSet{} }, func() *appsv1.ReplicaSetList { return &appsv1.ReplicaSetList{} })
}

func (a *restAPI) DaemonSets(namespace string) Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return client(a.apps, "daemonsets", namespace, func() *appsv1.DaemonSet { return &appsv1.DaemonSet{} }, func() *appsv1.DaemonSetList { return &appsv1.DaemonSetList{} })
}

func (a *restAPI) ControllerRevisions(namespace string) Resource[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList] {
	return client(a.apps, "controllerrevisions", namespace, func() *appsv1.ControllerRevision { return &appsv1.ControllerRevision{} }, func() *appsv1.ControllerRevisionList { return &appsv1.ControllerRevisionList{} })
}

func (a *restAPI) Jobs(namespace string) Resource[*batchv1.Job, *batchv1.JobList] {
	return client(a.batch, "jobs", namespace, func() *batchv1.Job { return &batchv1.Job{} }, func() *batchv1.JobList { return &batchv1.JobList{} })
}

func (a *restAPI) CoreREST() rest.Interface { return a.core }

// restPods adds the log request to the pods' gentype client.
type restPods struct {
	*gentype.ClientWithList[*corev1.Pod, *corev1.PodList]
	rc        *rest.RESTClient
	namespace string
}

func (p restPods) GetLogs(name string, opts *corev1.PodLogOptions) *rest.Request {
	return p.rc.Get().Namespace(p.namespace).Name(name).Resource("pods").SubResource("log").VersionedParams(opts, ParameterCodec)
}
