package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A rollout's new pod serves once the API server says it is ready. For a
// pod without readiness or startup probes and without readiness gates,
// Kubernetes counts it ready as soon as its containers run, but the
// kubelet reports that only at its next relist of the containers (every
// second) and the status then goes through the API server: 0.1-1.2 s
// after the app listens. Such a pod is tried early: one local connection
// at a time is sent to it first, and replayed to a ready pod when the
// pod's side refuses it (the kubelet's dial of the app failed: nothing
// reached the app). Once the pod answers a connection, it serves as a
// ready pod does, so the forward does not go back to the old version.

// earlyRetry is how long an early pod that refused a connection, or could
// not be dialled, is left alone before the next connection tries it.
const earlyRetry = 50 * time.Millisecond

// earlyPod is what the forwarder knows of trying one early pod. Guarded
// by Forwarder.mu.
type earlyPod struct {
	answered bool      // it answered a connection: it serves
	busy     bool      // a connection is trying it
	next     time.Time // the next try is not before
}

// unprobed tells whether Kubernetes counts pod ready as soon as its
// containers run: no container (sidecars included) has a readiness or
// startup probe, and the pod has no readiness gates.
func unprobed(pod *corev1.Pod) bool {
	if len(pod.Spec.ReadinessGates) > 0 {
		return false
	}
	for _, c := range pod.Spec.Containers {
		if c.ReadinessProbe != nil || c.StartupProbe != nil {
			return false
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways && (c.ReadinessProbe != nil || c.StartupProbe != nil) {
			return false
		}
	}
	return true
}

// mayServeEarly tells whether pod, not ready, may be tried early: it is
// unprobed, on a node, not terminating, pending or running, and none of
// its containers has ended or waits to be restarted (a crash).
func mayServeEarly(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" || !unprobed(pod) {
		return false
	}
	if pod.Status.Phase != corev1.PodPending && pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.State.Terminated != nil || s.RestartCount > 0 {
			return false
		}
	}
	return true
}

// earlyAnswered says whether the early pod uid has answered a connection.
func (f *Forwarder) earlyAnswered(uid types.UID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.early[uid]
	return e != nil && e.answered
}

// tryEarly returns a connection to the early pod for one local connection
// to try, or nil when another is trying it, it refused or could not be
// dialled within earlyRetry, or its connection is being dialled: the
// local connection goes to a ready pod then. The first call dials the pod
// in the background, so that no local connection waits for that. After a
// connection tried it, the caller calls earlyDone.
func (f *Forwarder) tryEarly(pod *corev1.Pod) *podConn {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return nil
	}
	e := f.early[pod.UID]
	if e == nil {
		e = &earlyPod{}
		f.early[pod.UID] = e
	}
	if e.busy || now.Before(e.next) {
		return nil
	}
	pc, ok := f.conns[pod.UID]
	if !ok {
		e.next = now.Add(earlyRetry)
		f.dialLocked(pod)
		return nil
	}
	select {
	case <-pc.ready:
	default:
		return nil // being dialled
	}
	if pc.err != nil {
		return nil
	}
	e.busy = true
	pc.users++
	pc.warm = false
	return pc
}

// earlyServes records that the early pod uid answered a connection: from
// now on it serves as a ready pod.
func (f *Forwarder) earlyServes(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.early[uid]; e != nil {
		e.answered = true
	}
}

// earlyDone ends a connection's try of the early pod uid; a pod that did
// not answer is left alone for earlyRetry.
func (f *Forwarder) earlyDone(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.early[uid]; e != nil {
		e.busy = false
		if !e.answered {
			e.next = time.Now().Add(earlyRetry)
		}
	}
}

// forgetEarly drops what is known of trying the pod uid, which is gone.
func (f *Forwarder) forgetEarly(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.early, uid)
}

// aheadRetry is how often a pod that is on its node, but whose
// port-forward cannot be dialled yet (the kubelet has no sandbox for it
// yet), is dialled again by dialAhead.
const aheadRetry = 100 * time.Millisecond

// onNode tells whether pod is on a node, not terminating, pending or
// running, and not ready: a pod whose port-forward can be dialled ahead.
func onNode(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && pod.DeletionTimestamp == nil && !podReady(pod) &&
		(pod.Status.Phase == corev1.PodPending || pod.Status.Phase == corev1.PodRunning)
}

// dialAhead opens a connection to pod, a pod a forward will send
// connections to once it is ready, from the moment it is on its node
// (warm waits until its containers run, and for a pod whose readiness is
// reported with its running state there is no time between the two): it
// dials again every aheadRetry until the kubelet takes the connection
// (once the pod's sandbox runs), the pod is ready or gone, or 30 s
// passed. Connections that reach the pod then need not wait for a dial
// through the API server and the kubelet, 0.1-0.3 s on a loaded node.
func (f *Forwarder) dialAhead(c *nsCache, pod *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.conns[pod.UID]; ok || f.stopped || f.ahead[pod.UID] {
		return
	}
	f.ahead[pod.UID] = true
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer func() {
			f.mu.Lock()
			delete(f.ahead, pod.UID)
			f.mu.Unlock()
		}()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			cur, err := c.pods.Pods(pod.Namespace).Get(pod.Name)
			if err != nil || cur.UID != pod.UID || !onNode(cur) {
				return
			}
			f.mu.Lock()
			if f.stopped {
				f.mu.Unlock()
				return
			}
			pc, ok := f.conns[pod.UID]
			if !ok {
				pc = f.dialLocked(cur)
			}
			f.mu.Unlock()
			select {
			case <-pc.ready:
			case <-f.ctx.Done():
				return
			}
			if pc.err == nil {
				return
			}
			select {
			case <-time.After(aheadRetry):
			case <-f.ctx.Done():
				return
			}
		}
	}()
}
