package kube

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// drainWait bounds how long Steer waits for the pod to answer the
// connections already forwarded to it.
const drainWait = 500 * time.Millisecond

// Steer sends the new connections of every forward to pods other than
// namespace/pod until release is called: a hot swap restarts the pod's
// app, and a connection that reaches the old process as it stops may
// hang or be dropped. When no other pod is ready, connections wait
// (within the forward's hold) until release. Steer returns once the pod
// has answered the connections already forwarded to it (the connections
// themselves may stay open: a client may keep one for long), or after
// drainWait, or when ctx ends; release may be called more than once.
func (f *Forwarder) Steer(ctx context.Context, namespace, pod string) (release func()) {
	key := steerKey(namespace, pod)
	f.mu.Lock()
	f.steered[key]++
	f.mu.Unlock()
	released := false
	release = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if released {
			return
		}
		released = true
		if f.steered[key]--; f.steered[key] <= 0 {
			delete(f.steered, key)
		}
		close(f.steerChanged)
		f.steerChanged = make(chan struct{})
	}
	timeout := time.NewTimer(drainWait)
	defer timeout.Stop()
	for {
		f.mu.Lock()
		n, idle := f.active[key], f.idle
		f.mu.Unlock()
		if n == 0 {
			return release
		}
		select {
		case <-idle:
		case <-timeout.C:
			return release
		case <-ctx.Done():
			return release
		case <-f.ctx.Done():
			return release
		}
	}
}

// steerKey is a pod's key in the Forwarder's steered and active counts.
func steerKey(namespace, pod string) string { return namespace + "/" + pod }

// steeredAway says whether pod's new connections go elsewhere (Steer),
// and returns what is closed when a pod is released.
func (f *Forwarder) steeredAway(pod *corev1.Pod) (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.steered[steerKey(pod.Namespace, pod.Name)] > 0, f.steerChanged
}

// claim counts a local connection about to be forwarded to pod, until
// the pod answers it (unclaim), for Steer's wait, unless pod is steered
// away: then it says false.
func (f *Forwarder) claim(pod *corev1.Pod) bool {
	key := steerKey(pod.Namespace, pod.Name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.steered[key] > 0 {
		return false
	}
	f.active[key]++
	return true
}

// unclaim ends what claim counted.
func (f *Forwarder) unclaim(pod *corev1.Pod) {
	key := steerKey(pod.Namespace, pod.Name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active[key]--; f.active[key] <= 0 {
		delete(f.active, key)
		close(f.idle)
		f.idle = make(chan struct{})
	}
}
