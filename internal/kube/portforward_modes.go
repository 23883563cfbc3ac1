package kube

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
)

// ServiceForwards lists a forward for every TCP port of every Service
// among objs (--port-forward=services), on the service port's number
// locally. Services without a selector have no pods to forward to and
// are left out.
func ServiceForwards(objs []*unstructured.Unstructured) []Forward {
	var out []Forward
	for _, o := range objs {
		if o.GetKind() != "Service" || o.GetAPIVersion() != "v1" {
			continue
		}
		var svc corev1.Service
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
			continue // not a valid Service: the deploy reports that
		}
		if svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				continue
			}
			out = append(out, Forward{
				Type:      "service",
				Name:      svc.Name,
				Namespace: svc.Namespace,
				Port:      intstr.FromInt32(p.Port),
				Address:   DefaultForwardAddress,
			})
		}
	}
	return out
}

// ForwardPods forwards every TCP container port of the pods selector
// picks in namespaces (--port-forward=pods): it adds forwards as pods
// appear until ctx ends or Stop, and they last until Stop. There is one forward per workload, container and port,
// on the port's number locally: the pods of a Deployment share it, and a
// replaced pod's successor takes over its forward. Each is reported as
// "Port forwarding deployment/web container app in namespace ns, remote
// port 8080 -> http://127.0.0.1:8080".
func (f *Forwarder) ForwardPods(ctx context.Context, namespaces []string, selector labels.Selector) error {
	if selector == nil {
		selector = labels.Everything()
	}
	for _, ns := range namespaces {
		c, err := f.namespaceCache(ctx, ns, false)
		if err != nil {
			return fmt.Errorf("forwarding the ports of pods: %w", err)
		}
		handle := func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				f.forwardPod(ctx, c, selector, pod)
			}
		}
		reg, err := c.podsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    handle,
			UpdateFunc: func(_, obj any) { handle(obj) },
		})
		if err != nil {
			return fmt.Errorf("forwarding the ports of pods in namespace %s: %w", ns, err)
		}
		context.AfterFunc(ctx, func() { c.podsInf.RemoveEventHandler(reg) })
	}
	return nil
}

// forwardPod starts the forwards of pod's ports that no pod of the same
// workload has started yet.
func (f *Forwarder) forwardPod(ctx context.Context, c *nsCache, selector labels.Selector, pod *corev1.Pod) {
	if ctx.Err() != nil || pod.DeletionTimestamp != nil || !selector.Matches(labels.Set(pod.Labels)) {
		return
	}
	owner := f.ownerOf(pod)
	for _, container := range pod.Spec.Containers {
		for _, p := range container.Ports {
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				continue
			}
			key := fmt.Sprintf("%s/%s/%s/%d", pod.Namespace, owner, container.Name, p.ContainerPort)
			f.mu.Lock()
			seen := f.podForwards[key]
			f.podForwards[key] = true
			f.mu.Unlock()
			if seen {
				continue
			}
			t := f.podsTarget(c, selector, owner, container.Name, p.ContainerPort)
			if _, err := f.start(t, DefaultForwardAddress, int(p.ContainerPort), p.ContainerPort, fmt.Sprint(p.ContainerPort)); err != nil {
				f.log.Warnf("%v", err)
			}
		}
	}
}

// podsTarget is a container port of the ready pods of one workload.
func (f *Forwarder) podsTarget(c *nsCache, selector labels.Selector, owner, container string, port int32) *target {
	ns := c.namespace
	return &target{
		desc:      owner + " container " + container,
		namespace: ns,
		cache:     c,
		endpoints: func(f *Forwarder) ([]endpoint, string) {
			all, _ := c.pods.Pods(ns).List(selector)
			var pods []*corev1.Pod
			for _, p := range all {
				if f.ownerOf(p) == owner {
					pods = append(pods, p)
				}
			}
			if len(pods) == 0 {
				return nil, "no pod of " + owner + " is left"
			}
			return readyEndpoints(pods, nil, func(p *corev1.Pod) (int32, bool) {
				for _, c := range p.Spec.Containers {
					for _, cp := range c.Ports {
						if c.Name == container && cp.ContainerPort == port {
							return port, true
						}
					}
				}
				return 0, false
			})
		},
	}
}

// ownerOf names the workload a pod belongs to, "kind/name" in lower
// case: its controller, or the controller's controller for a ReplicaSet
// (a Deployment) or a Job (a CronJob); "pod/name" for a pod on its own.
func (f *Forwarder) ownerOf(pod *corev1.Pod) string {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return "pod/" + pod.Name
	}
	f.mu.Lock()
	owner, ok := f.owners[ref.UID]
	f.mu.Unlock()
	if ok {
		return owner
	}
	owner = strings.ToLower(ref.Kind) + "/" + ref.Name
	var up *metav1.OwnerReference
	var err error
	switch ref.Kind {
	case "ReplicaSet":
		var rs *appsv1.ReplicaSet
		if rs, err = f.api.ReplicaSets(pod.Namespace).Get(f.ctx, ref.Name, metav1.GetOptions{}); err == nil {
			up = metav1.GetControllerOf(rs)
		}
	case "Job":
		var job *batchv1.Job
		if job, err = f.api.Jobs(pod.Namespace).Get(f.ctx, ref.Name, metav1.GetOptions{}); err == nil {
			up = metav1.GetControllerOf(job)
		}
	}
	if up != nil {
		owner = strings.ToLower(up.Kind) + "/" + up.Name
	}
	if err != nil {
		return owner // not remembered: the next look may find the controller's owner
	}
	f.mu.Lock()
	f.owners[ref.UID] = owner
	f.mu.Unlock()
	return owner
}
