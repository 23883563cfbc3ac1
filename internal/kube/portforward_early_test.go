package kube

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/testutil"
)

// rolloutPod is a pod of app=web of a Deployment's revision rev, on a
// node.
func rolloutPod(name, rev string, ready bool, age time.Duration) *corev1.Pod {
	p := webPod(name, 8080, ready, age)
	p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = rev
	p.Spec.NodeName = "node"
	return p
}

func TestMayServeEarly(t *testing.T) {
	t.Parallel()
	always := corev1.ContainerRestartPolicyAlways
	probe := &corev1.Probe{}
	for _, tc := range []struct {
		name   string
		change func(*corev1.Pod)
		want   bool
	}{
		{"unprobed, pending on a node", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }, true},
		{"unprobed, running", func(*corev1.Pod) {}, true},
		{"not scheduled", func(p *corev1.Pod) { p.Spec.NodeName = "" }, false},
		{"terminating", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Now()} }, false},
		{"failed", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, false},
		{"a readiness probe", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = probe }, false},
		{"a startup probe", func(p *corev1.Pod) { p.Spec.Containers[0].StartupProbe = probe }, false},
		{"a sidecar's readiness probe", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: &always, ReadinessProbe: probe}}
		}, false},
		{"an init container's probe field (not a sidecar: never checked)", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", ReadinessProbe: probe}}
		}, true},
		{"a readiness gate", func(p *corev1.Pod) {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
		}, false},
		{"a container that crashed", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 1}}
		}, false},
		{"a container that ended", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}
		}, false},
	} {
		p := rolloutPod("web-b", "b", false, 0)
		tc.change(p)
		if got := mayServeEarly(p); got != tc.want {
			t.Errorf("%s: mayServeEarly = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReadyEndpointsAddsOnlyTheNewestRevisionEarly(t *testing.T) {
	t.Parallel()
	port := func(*corev1.Pod) (int32, bool) { return 8080, true }
	old := rolloutPod("web-a", "a", true, time.Hour)
	oldUnready := rolloutPod("web-c", "a", false, time.Minute)
	fresh := rolloutPod("web-b", "b", false, 0)
	fresh.Status.Phase = corev1.PodPending
	eps, why := readyEndpoints([]*corev1.Pod{old, oldUnready, fresh}, nil, port)
	var got []string
	for _, ep := range eps {
		got = append(got, ep.pod.Name+map[bool]string{true: " early", false: ""}[ep.early])
	}
	if want := []string{"web-a", "web-b early"}; !slices.Equal(got, want) {
		t.Errorf("endpoints %v, want %v", got, want)
	}
	if want := "web-c is not ready, web-b is pending"; why != want {
		t.Errorf("why = %q, want %q", why, want)
	}
}

// TestForwarderServesAnUnprobedNewPodOnceItsAppAnswers: a rollout's new
// pod without probes serves once its app answers through the forward,
// before the API server says it is ready; until then the old pod serves
// every connection; after, the forward does not go back to the old pod.
// A new pod with a readiness probe gets nothing until it is ready.
func TestForwarderServesAnUnprobedNewPodOnceItsAppAnswers(t *testing.T) {
	t.Parallel()
	f, cs, pods, out := newTestForwarder(t, webDeployment(), rolloutPod("web-a", "a", true, time.Hour))
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}

	// A probed new pod whose app listens: it gets nothing until ready.
	probed := rolloutPod("web-p", "p", false, 0)
	probed.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), probed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, f, "ns", "web-p", func(*corev1.Pod) bool { return true })
	for range 5 {
		if got := ask(t, addr); got != "web-a:8080" {
			t.Fatalf("answer %q while the probed new pod is not ready, want web-a:8080", got)
		}
	}
	if err := cs.CoreV1().Pods("ns").Delete(t.Context(), "web-p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// An unprobed new pod, pending on its node: first its port-forward
	// cannot be dialled (no sandbox yet), then its app refuses.
	pods.mu.Lock()
	pods.refuse["web-b"] = true
	pods.down["web-b"] = true
	pods.mu.Unlock()
	fresh := rolloutPod("web-b", "b", false, 0)
	fresh.Status.Phase = corev1.PodPending
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), fresh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, f, "ns", "web-b", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	waitDialled := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got := ask(t, addr); got != "web-a:8080" {
				t.Fatalf("answer %q while web-b's app does not answer, want web-a:8080\n%s", got, out)
			}
			dialled := 0
			for _, p := range pods.dialed() {
				if p == "web-b" {
					dialled++
				}
			}
			if dialled >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("web-b dialled %d times within 10s; want it tried", dialled)
			}
		}
	}
	waitDialled(2)
	pods.mu.Lock()
	pods.refuse["web-b"] = false
	pods.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := ask(t, addr); got != "web-a:8080" {
			t.Fatalf("answer %q while web-b's app does not listen, want web-a:8080\n%s", got, out)
		}
		pods.mu.Lock()
		turned := pods.turned["web-b"]
		pods.mu.Unlock()
		if turned >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web-b turned %d connections away within 10s; want it tried while web-a serves", turned)
		}
	}

	// Its app listens; the API server still says pending.
	pods.mu.Lock()
	pods.down["web-b"] = false
	pods.mu.Unlock()
	deadline = time.Now().Add(10 * time.Second)
	for ask(t, addr) != "web-b:8080" {
		if time.Now().After(deadline) {
			t.Fatalf("web-b's app listens but got no connection within 10s\n%s", out)
		}
	}
	for range 10 {
		if got := ask(t, addr); got != "web-b:8080" {
			t.Fatalf("answer %q after web-b served, want web-b:8080: the forward went back to the old pod", got)
		}
	}
	if strings.Contains(out.String(), "WARN") {
		t.Errorf("a warning although every connection was answered:\n%s", out)
	}
}

// TestForwarderDialsAProbedNewPodOnceItIsOnItsNode: a rollout's new pod
// with a readiness probe gets no connection before it is ready, but its
// port-forward is dialled from the moment it is on its node, again until
// the kubelet takes it; once ready, it serves over that connection, with
// no dial in between.
func TestForwarderDialsAProbedNewPodOnceItIsOnItsNode(t *testing.T) {
	t.Parallel()
	f, cs, pods, out := newTestForwarder(t, webDeployment(), rolloutPod("web-a", "a", true, time.Hour))
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Fatalf("answer %q, want web-a:8080", got)
	}

	pods.mu.Lock()
	pods.refuse["web-b"] = true // no sandbox yet
	pods.mu.Unlock()
	fresh := rolloutPod("web-b", "b", false, 0)
	fresh.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	fresh.Status.Phase = corev1.PodPending
	if _, err := cs.CoreV1().Pods("ns").Create(t.Context(), fresh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dialled := func() int {
		n := 0
		for _, p := range pods.dialed() {
			if p == "web-b" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for dialled() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("web-b dialled %d times within 10s; want it dialled again while the kubelet refuses", dialled())
		}
		time.Sleep(5 * time.Millisecond)
	}
	pods.mu.Lock()
	pods.refuse["web-b"] = false
	pods.mu.Unlock()
	deadline = time.Now().Add(10 * time.Second)
	for !slices.Contains(pods.open(), "web-b") {
		if time.Now().After(deadline) {
			t.Fatalf("no connection to web-b open within 10s of the kubelet taking it (dialled %d times)", dialled())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Errorf("answer %q before web-b is ready, want web-a:8080", got)
	}
	before := dialled()

	ready := rolloutPod("web-b", "b", true, 0)
	ready.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	if _, err := cs.CoreV1().Pods("ns").UpdateStatus(t.Context(), started(ready), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, f, "ns", "web-b", podReady)
	if got := ask(t, addr); got != "web-b:8080" {
		t.Errorf("answer %q once web-b is ready, want web-b:8080\n%s", got, out)
	}
	if n := dialled(); n != before {
		t.Errorf("web-b dialled %d times once ready, want its connection opened ahead used", n-before)
	}
}
