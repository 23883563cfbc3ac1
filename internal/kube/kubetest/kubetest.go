// Package kubetest adapts client-go's clientsets to skiff's typed.API for
// tests: a fake clientset (k8s.io/client-go/kubernetes/fake) with its
// object tracker and reactors, or a real one. Only tests import it, so the
// clientset, which registers every API group, stays out of skiff's
// executables.
package kubetest

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/internal/kube/typed"
)

// Clientset returns client-go's typed clientset for the cluster config
// connects to, for tests that make and inspect objects; timeout bounds
// every request (0 for none).
func Clientset(config *rest.Config, timeout time.Duration) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(config)
	cfg.Timeout = timeout
	return kubernetes.NewForConfig(cfg)
}

// API is cs as a typed.API.
func API(cs kubernetes.Interface) typed.API {
	u, ok := cs.(interface{ IsWatchListSemanticsUnSupported() bool })
	return clientset{cs: cs, noWatchList: ok && u.IsWatchListSemanticsUnSupported()}
}

// clientset is a typed.API of a clientset. A fake clientset cannot
// stream a watch's initial list, and says so; its resources say it to
// typed.NewInformer in turn (noWatchList).
type clientset struct {
	cs          kubernetes.Interface
	noWatchList bool
}

// watchListless is a resource that cannot stream a watch's initial list.
type watchListless[T, L runtime.Object] struct{ typed.Resource[T, L] }

func (watchListless[T, L]) IsWatchListSemanticsUnSupported() bool { return true }

// podsWatchListless is watchListless for pods.
type podsWatchListless struct{ typed.Pods }

func (podsWatchListless) IsWatchListSemanticsUnSupported() bool { return true }

func resource[T, L runtime.Object](c clientset, r typed.Resource[T, L]) typed.Resource[T, L] {
	if c.noWatchList {
		return watchListless[T, L]{r}
	}
	return r
}

func (c clientset) Pods(namespace string) typed.Pods {
	if c.noWatchList {
		return podsWatchListless{c.cs.CoreV1().Pods(namespace)}
	}
	return c.cs.CoreV1().Pods(namespace)
}

func (c clientset) Services(namespace string) typed.Resource[*corev1.Service, *corev1.ServiceList] {
	return resource(c, c.cs.CoreV1().Services(namespace))
}

func (c clientset) Events(namespace string) typed.Resource[*corev1.Event, *corev1.EventList] {
	return resource(c, c.cs.CoreV1().Events(namespace))
}

func (c clientset) ConfigMaps(namespace string) typed.Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return resource(c, c.cs.CoreV1().ConfigMaps(namespace))
}

func (c clientset) Deployments(namespace string) typed.Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
	return resource(c, c.cs.AppsV1().Deployments(namespace))
}

func (c clientset) StatefulSets(namespace string) typed.Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return resource(c, c.cs.AppsV1().StatefulSets(namespace))
}

func (c clientset) ReplicaSets(namespace string) typed.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return resource(c, c.cs.AppsV1().ReplicaSets(namespace))
}

func (c clientset) DaemonSets(namespace string) typed.Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return resource(c, c.cs.AppsV1().DaemonSets(namespace))
}

func (c clientset) ControllerRevisions(namespace string) typed.Resource[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList] {
	return resource(c, c.cs.AppsV1().ControllerRevisions(namespace))
}

func (c clientset) Jobs(namespace string) typed.Resource[*batchv1.Job, *batchv1.JobList] {
	return resource(c, c.cs.BatchV1().Jobs(namespace))
}

func (c clientset) CoreREST() rest.Interface { return c.cs.CoreV1().RESTClient() }
