package runner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/internal/artifact"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/kube/typed"
	"skiff.dev/skiff/internal/sync"
)

// podContainers finds the running containers of the project's pods from a
// watch of them (an informer per namespace), so that a sync does not wait
// for a list call, and calls changed whenever a pod changes: a container
// that restarted or a pod that replaced another may need the changes
// synced so far.
type podContainers struct {
	listers []listersv1.PodLister
}

// watchPods starts watching the pods labelled with selector in namespaces
// until ctx ends, and waits until the first list is in.
func watchPods(ctx context.Context, api typed.API, namespaces []string, selector labels.Selector, changed func()) (*podContainers, error) {
	p := &podContainers{}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
	}
	var synced []cache.InformerSynced
	for _, ns := range namespaces {
		inf := typed.NewInformer(api.Pods(ns), &corev1.Pod{}, func(o *metav1.ListOptions) { o.LabelSelector = selector.String() })
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
		p.listers = append(p.listers, listersv1.NewPodLister(inf.GetIndexer()))
		synced = append(synced, inf.HasSynced)
		go inf.RunWithContext(ctx)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), synced...) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("watching the pods of the project in %s: no answer from the cluster within 30 s", strings.Join(namespaces, ", "))
	}
	return p, nil
}

// containers implements containerSource: the running containers, in pods
// that are not being deleted, whose image is image.
func (p *podContainers) containers(_ context.Context, image artifact.Image) ([]container, error) {
	var out []container
	for _, l := range p.listers {
		pods, err := l.List(labels.Everything())
		if err != nil {
			return nil, err
		}
		for _, pod := range pods {
			out = append(out, runningContainers(pod, image)...)
		}
	}
	slices.SortFunc(out, func(a, b container) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// runningContainers are pod's running containers of image.
func runningContainers(pod *corev1.Pod, image artifact.Image) []container {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return nil
	}
	var out []container
	for _, c := range pod.Spec.Containers {
		if c.Image != image.Ref {
			continue
		}
		for _, st := range pod.Status.ContainerStatuses {
			if st.Name != c.Name || st.State.Running == nil {
				continue
			}
			out = append(out, container{
				Target: sync.Target{Namespace: pod.Namespace, Pod: pod.Name, Container: c.Name},
				Key:    string(pod.UID) + "/" + c.Name + "/" + strconv.Itoa(int(st.RestartCount)),
				Image:  image,
			})
		}
	}
	return out
}

// dockerContainers finds the docker deployer's running containers of an
// image.
type dockerContainers struct {
	deployer *dockerdeploy.Deployer
}

// containers implements containerSource.
func (d *dockerContainers) containers(ctx context.Context, image artifact.Image) ([]container, error) {
	running, err := d.deployer.Containers(ctx, image.Name)
	if err != nil {
		return nil, err
	}
	var out []container
	for _, r := range running {
		out = append(out, container{Target: sync.DockerTarget(r.Name), Key: "docker/" + r.ID, Image: image})
	}
	return out, nil
}
