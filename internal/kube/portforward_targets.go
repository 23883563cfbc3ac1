package kube

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/internal/kube/typed"
)

// target is what a forward's connections go to: the ready pods of a
// resource, each with the port to reach.
type target struct {
	desc      string // kind/name, as reported
	namespace string
	local     string // the local address, once listening
	cache     *nsCache
	// endpoints lists the ready pods that serve the target, with the port
	// on each, and when there are none, says why.
	endpoints func(f *Forwarder) (eps []endpoint, why string)
}

// endpoint is a ready pod and the port of the target on it, or a pod
// that may serve before it is reported ready (early, see mayServeEarly).
type endpoint struct {
	pod   *corev1.Pod
	port  int32
	early bool
}

// newTarget finds fw's resource and its port, and returns the target and
// the remote port's number.
func (f *Forwarder) newTarget(ctx context.Context, fw Forward) (*target, int32, error) {
	if fw.Name == "" {
		return nil, 0, fmt.Errorf("no resource name")
	}
	if (fw.Port.Type == intstr.Int && fw.Port.IntVal <= 0) || (fw.Port.Type == intstr.String && fw.Port.StrVal == "") {
		return nil, 0, fmt.Errorf("no port to forward: set the port to a number or a port name")
	}
	ns, name := fw.Namespace, fw.Name
	c, err := f.namespaceCache(ctx, ns, fw.Type == "service")
	if err != nil {
		return nil, 0, err
	}
	t := &target{desc: fw.Type + "/" + name, namespace: ns, cache: c}
	missing := func(err error) error {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %q does not exist: deploy it first, or fix the resource name of the port-forward", fw.Type, name)
		}
		return err
	}

	switch fw.Type {
	case "service":
		svc, err := c.services.Services(ns).Get(name)
		if err != nil {
			return nil, 0, missing(err)
		}
		sp, err := servicePort(svc, fw.Port)
		if err != nil {
			return nil, 0, err
		}
		if len(svc.Spec.Selector) == 0 {
			return nil, 0, fmt.Errorf("service %q has no selector, so no pods to forward to", name)
		}
		c.want(func(p *corev1.Pod) bool {
			svc, err := c.services.Services(ns).Get(name)
			return err == nil && len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels))
		})
		t.endpoints = func(*Forwarder) ([]endpoint, string) {
			svc, err := c.services.Services(ns).Get(name)
			if err != nil {
				return nil, fmt.Sprintf("the service is gone (%v)", err)
			}
			sp, err := servicePort(svc, fw.Port)
			if err != nil {
				return nil, err.Error()
			}
			selector := labels.SelectorFromSet(svc.Spec.Selector)
			pods, _ := c.pods.Pods(ns).List(selector)
			return readyEndpoints(pods, selector, func(p *corev1.Pod) (int32, bool) { return targetPort(p, sp) })
		}
		return t, sp.Port, nil

	case "pod":
		pod, err := c.pods.Pods(ns).Get(name)
		if err != nil {
			return nil, 0, missing(err)
		}
		port, ok := containerPort(&pod.Spec, fw.Port)
		if !ok {
			return nil, 0, fmt.Errorf("pod %q has no container port named %q", name, fw.Port.StrVal)
		}
		c.want(func(p *corev1.Pod) bool { return p.Name == name })
		t.endpoints = func(*Forwarder) ([]endpoint, string) {
			pod, err := c.pods.Pods(ns).Get(name)
			if err != nil {
				return nil, fmt.Sprintf("pod %s does not exist", name)
			}
			return readyEndpoints([]*corev1.Pod{pod}, nil, func(p *corev1.Pod) (int32, bool) { return containerPort(&p.Spec, fw.Port) })
		}
		return t, port, nil

	case "deployment", "statefulset", "replicaset", "daemonset", "job":
		selector, template, err := f.workload(ctx, fw.Type, ns, name)
		if err != nil {
			return nil, 0, missing(err)
		}
		port, ok := containerPort(&template.Spec, fw.Port)
		if !ok {
			return nil, 0, fmt.Errorf("the pod template of %s %q has no container port named %q", fw.Type, name, fw.Port.StrVal)
		}
		c.want(func(p *corev1.Pod) bool { return selector.Matches(labels.Set(p.Labels)) })
		t.endpoints = func(*Forwarder) ([]endpoint, string) {
			pods, _ := c.pods.Pods(ns).List(selector)
			return readyEndpoints(pods, selector, func(p *corev1.Pod) (int32, bool) { return containerPort(&p.Spec, fw.Port) })
		}
		return t, port, nil
	}
	return nil, 0, fmt.Errorf("cannot forward a %q: the resource type is one of pod, service, deployment, statefulset, replicaset, daemonset, job", fw.Type)
}

// workload returns the pod selector and template of a pod-owning resource.
func (f *Forwarder) workload(ctx context.Context, kind, ns, name string) (labels.Selector, *corev1.PodTemplateSpec, error) {
	var (
		selector *metav1.LabelSelector
		template *corev1.PodTemplateSpec
	)
	get := metav1.GetOptions{}
	switch kind {
	case "deployment":
		o, err := f.api.Deployments(ns).Get(ctx, name, get)
		if err != nil {
			return nil, nil, err
		}
		selector, template = o.Spec.Selector, &o.Spec.Template
	case "statefulset":
		o, err := f.api.StatefulSets(ns).Get(ctx, name, get)
		if err != nil {
			return nil, nil, err
		}
		selector, template = o.Spec.Selector, &o.Spec.Template
	case "replicaset":
		o, err := f.api.ReplicaSets(ns).Get(ctx, name, get)
		if err != nil {
			return nil, nil, err
		}
		selector, template = o.Spec.Selector, &o.Spec.Template
	case "daemonset":
		o, err := f.api.DaemonSets(ns).Get(ctx, name, get)
		if err != nil {
			return nil, nil, err
		}
		selector, template = o.Spec.Selector, &o.Spec.Template
	case "job":
		o, err := f.api.Jobs(ns).Get(ctx, name, get)
		if err != nil {
			return nil, nil, err
		}
		selector, template = o.Spec.Selector, &o.Spec.Template
	}
	if selector == nil {
		return nil, nil, fmt.Errorf("%s %q has no pod selector", kind, name)
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, nil, fmt.Errorf("the pod selector of %s %q: %w", kind, name, err)
	}
	return s, template, nil
}

// servicePort finds a Service's port by number or by name.
func servicePort(svc *corev1.Service, want intstr.IntOrString) (*corev1.ServicePort, error) {
	var have []string
	for i, sp := range svc.Spec.Ports {
		if (want.Type == intstr.Int && sp.Port == want.IntVal) || (want.Type == intstr.String && sp.Name == want.StrVal) {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
				return nil, fmt.Errorf("port %s of service %q is %s; a port-forward carries TCP only", want.String(), svc.Name, sp.Protocol)
			}
			return &svc.Spec.Ports[i], nil
		}
		desc := fmt.Sprint(sp.Port)
		if sp.Name != "" {
			desc += " (" + sp.Name + ")"
		}
		have = append(have, desc)
	}
	return nil, fmt.Errorf("service %q has no port %s; its ports are %s", svc.Name, want.String(), strings.Join(have, ", "))
}

// targetPort is the port a Service port sends to on pod: a number, or a
// container port's name, looked up in that pod.
func targetPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String:
		return containerPort(&pod.Spec, sp.TargetPort)
	case sp.TargetPort.IntVal == 0:
		return sp.Port, true
	}
	return sp.TargetPort.IntVal, true
}

// containerPort is port as a number: itself, or the number of the
// container port (of any container, sidecars too) with that name.
func containerPort(spec *corev1.PodSpec, port intstr.IntOrString) (int32, bool) {
	if port.Type == intstr.Int {
		return port.IntVal, port.IntVal > 0
	}
	for _, c := range slices.Concat(spec.Containers, spec.InitContainers) {
		for _, p := range c.Ports {
			if p.Name == port.StrVal {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// podReady tells whether pod serves: running, ready, not terminating.
func podReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podStarted tells whether all of pod's containers run and it is not
// terminating: it serves once it is ready.
func podStarted(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || len(pod.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Running == nil {
			return false
		}
	}
	return true
}

// podState says in a word or two why a pod does not serve.
func podState(pod *corev1.Pod) string {
	switch {
	case pod.DeletionTimestamp != nil:
		return "terminating"
	case pod.Status.Phase != corev1.PodRunning:
		return strings.ToLower(string(pod.Status.Phase))
	}
	return "not ready"
}

// readyEndpoints picks the ready pods that have the port portOf finds,
// and the pods of the newest revision that may serve before they are
// reported ready (early); when no pod is ready, it says why.
func readyEndpoints(pods []*corev1.Pod, selector labels.Selector, portOf func(*corev1.Pod) (int32, bool)) ([]endpoint, string) {
	var newest *corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && (newest == nil || p.CreationTimestamp.After(newest.CreationTimestamp.Time)) {
			newest = p
		}
	}
	var eps []endpoint
	var why []string
	for _, p := range pods {
		ready := podReady(p)
		if !ready {
			why = append(why, p.Name+" is "+podState(p))
		}
		early := !ready && mayServeEarly(p) && revision(p) == revision(newest)
		if !ready && !early {
			continue
		}
		port, ok := portOf(p)
		if !ok {
			if ready {
				why = append(why, p.Name+" has no such container port")
			}
			continue
		}
		eps = append(eps, endpoint{pod: p, port: port, early: early})
	}
	if len(pods) == 0 && selector != nil {
		return nil, fmt.Sprintf("no pod matches %s", selector)
	}
	return eps, strings.Join(why, ", ")
}

// sortEndpoints orders eps: pods of the newest revision first (the pod
// template hash of a Deployment's ReplicaSet, or a StatefulSet's or
// DaemonSet's revision, of the newest pod), so that a connection made
// after a rollout's new pod is ready reaches the new version although old
// pods are still ready; then pods with an open connection, which spare the
// cost of a new one; then the newest; then by name.
func sortEndpoints(eps []endpoint, open map[types.UID]bool) {
	var newest *corev1.Pod
	for _, ep := range eps {
		if newest == nil || ep.pod.CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = ep.pod
		}
	}
	current := func(p *corev1.Pod) bool { return newest == nil || revision(p) == revision(newest) }
	slices.SortStableFunc(eps, func(a, b endpoint) int {
		if ca, cb := current(a.pod), current(b.pod); ca != cb {
			if ca {
				return -1
			}
			return 1
		}
		if oa, ob := open[a.pod.UID], open[b.pod.UID]; oa != ob {
			if oa {
				return -1
			}
			return 1
		}
		if c := b.pod.CreationTimestamp.Compare(a.pod.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.pod.Name, b.pod.Name)
	})
}

// revision names the template a pod was made from: the label its
// controller sets for that, or "" for a pod without one.
func revision(p *corev1.Pod) string {
	if h, ok := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		return "deployment/" + h
	}
	return p.Labels[appsv1.ControllerRevisionHashLabelKey]
}

// nsCache is what a Forwarder knows of one namespace's pods (and
// services, once a forward needs them), kept current by informers.
type nsCache struct {
	namespace   string
	pods        corelisters.PodLister
	podsInf     cache.SharedIndexInformer
	services    corelisters.ServiceLister // nil until needed
	servicesInf cache.SharedIndexInformer // nil until needed

	mu      sync.Mutex
	changed chan struct{}
	// wants are the targets' tests of whether they send connections to a
	// pod once it is ready.
	wants []func(*corev1.Pod) bool
}

// want adds a target's test of the pods it sends connections to.
func (c *nsCache) want(serves func(*corev1.Pod) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wants = append(c.wants, serves)
}

// wanted says whether a target sends connections to pod once it is ready.
func (c *nsCache) wanted(pod *corev1.Pod) bool {
	c.mu.Lock()
	wants := c.wants
	c.mu.Unlock()
	return slices.ContainsFunc(wants, func(serves func(*corev1.Pod) bool) bool { return serves(pod) })
}

// changes returns a channel closed at the next change of a pod or service.
func (c *nsCache) changes() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (c *nsCache) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.changed)
	c.changed = make(chan struct{})
}

// namespaceCache returns the cache of ns, synced, starting it on first
// use; withServices also caches the namespace's services.
func (f *Forwarder) namespaceCache(ctx context.Context, ns string, withServices bool) (*nsCache, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(f.ctx, cancel)()

	f.mu.Lock()
	c, ok := f.caches[ns]
	f.mu.Unlock()
	if !ok {
		// An informer retries a failed list for ever; one list up front
		// turns a missing permission into an error.
		if _, err := f.api.Pods(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return nil, fmt.Errorf("listing pods in namespace %s: %w", ns, err)
		}
	}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return nil, fmt.Errorf("the forwarder is stopped")
	}
	if c, ok = f.caches[ns]; !ok {
		c = f.newNSCache(ns)
		f.caches[ns] = c
		f.informers.Run(f.ctx, c.podsInf)
	}
	if withServices && c.services == nil {
		inf := typed.NewInformer(f.api.Services(ns), &corev1.Service{}, nil)
		notify := func(any) { c.notify() }
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    notify,
			UpdateFunc: func(_, _ any) { c.notify() },
			DeleteFunc: notify,
		}); err != nil {
			f.mu.Unlock()
			return nil, fmt.Errorf("watching services in namespace %s: %w", ns, err)
		}
		c.services, c.servicesInf = corelisters.NewServiceLister(inf.GetIndexer()), inf
		f.informers.Run(f.ctx, inf)
	}
	synced, what := []cache.InformerSynced{c.podsInf.HasSynced}, "pods"
	if c.servicesInf != nil {
		synced, what = append(synced, c.servicesInf.HasSynced), "pods and services"
	}
	f.mu.Unlock()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil, fmt.Errorf("reading %s in namespace %s: %w", what, ns, context.Cause(ctx))
	}
	return c, nil
}

// newNSCache makes the pod informer of ns; a pod that stops serving has
// its connection retired, so that new connections go elsewhere, and a pod
// that a forward will serve from, started but not ready yet, has one
// opened ahead (warm).
func (f *Forwarder) newNSCache(ns string) *nsCache {
	pods := typed.NewInformer(f.api.Pods(ns), &corev1.Pod{}, nil)
	c := &nsCache{namespace: ns, pods: corelisters.NewPodLister(pods.GetIndexer()), podsInf: pods, changed: make(chan struct{})}
	changed := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok && !podReady(pod) {
			switch wanted := c.wanted(pod); {
			case wanted && mayServeEarly(pod):
				// Tried early: route dials it (tryEarly).
			case wanted && podStarted(pod):
				f.warm(pod)
			case wanted && onNode(pod):
				f.dialAhead(c, pod)
			default:
				f.retirePod(pod.UID)
			}
		}
		c.notify()
	}
	// AddEventHandler fails only on a stopped informer; this one is new.
	_, _ = c.podsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			if gone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = gone.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				f.retirePod(pod.UID)
				f.forgetEarly(pod.UID)
			}
			c.notify()
		},
	})
	return c
}
