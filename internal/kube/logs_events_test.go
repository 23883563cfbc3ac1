package kube

import (
	"fmt"
	"io"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/testutil"
)

// Each line printed is also an ApplicationLogEvent naming its pod and
// container.
func TestLogTailerPublishesLines(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(runningPod("web-1", "app", "c1"))
	k := newFakeKubelet(cs)
	k.setRunning("c1", true)
	k.write("c1", 0, "hello\n")
	k.write("c1", 1, "world\n")
	bus := event.NewBus(0)
	sub := bus.Subscribe(10)
	out := &testutil.Buffer{}
	tailer := NewLogTailer(kubetest.API(cs), out, LogOptions{
		Namespaces: []string{"ns"},
		Selector:   labels.SelectorFromSet(labels.Set{ProjectLabel: "p"}),
		Events:     bus,
	})
	tailer.openLogs = k.open
	tailer.settleTimeout = 300 * time.Millisecond
	if err := tailer.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitLines(t, out, 2)
	tailer.Stop()
	bus.Close()
	var got []string
	for e := range sub.C {
		if e.PodEvent != nil {
			continue // TestLogTailerPublishesPodChanges
		}
		l := e.ApplicationLogEvent
		if l == nil {
			t.Fatalf("unexpected event %+v", e)
		}
		got = append(got, l.PodName+"/"+l.ContainerName+": "+l.Message)
	}
	if want := []string{"web-1/app: hello\n", "web-1/app: world\n"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %q, want %q", got, want)
	}
}

// The tailer publishes a PodEvent when a pod's phase, readiness, restarts
// or waiting reason change, and when it goes; not for other updates.
func TestLogTailerPublishesPodChanges(t *testing.T) {
	t.Parallel()
	pod := runningPod("web-1", "app", "c1")
	cs := fake.NewClientset(pod)
	k := newFakeKubelet(cs)
	k.setRunning("c1", true)
	bus := event.NewBus(0)
	sub := bus.Subscribe(100)
	seen := make(chan string, 100)
	tailer := NewLogTailer(kubetest.API(cs), io.Discard, LogOptions{
		Namespaces: []string{"ns"},
		Selector:   labels.SelectorFromSet(labels.Set{ProjectLabel: "p"}),
		Events:     bus,
		Pods: func(p *corev1.Pod, deleted bool) {
			select {
			case seen <- fmt.Sprintf("%s deleted=%v", p.Name, deleted):
			default:
			}
		},
	})
	tailer.openLogs = k.open
	if err := tailer.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tailer.Stop)
	next := func(what string) event.PodEvent {
		t.Helper()
		for {
			select {
			case e := <-sub.C:
				if e.PodEvent != nil {
					return *e.PodEvent
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no PodEvent for %s", what)
			}
		}
	}
	if got, want := next("the pod"), (event.PodEvent{PodName: "web-1", Namespace: "ns", Phase: "Running"}); got != want {
		t.Errorf("first event %+v, want %+v", got, want)
	}
	// Ready, then a crash: restarted once, waiting in CrashLoopBackOff.
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	updateStatus(t, cs, pod)
	if got := next("ready"); !got.Ready || got.Restarts != 0 {
		t.Errorf("after ready: %+v", got)
	}
	pod.Labels["unrelated"] = "change"
	if _, err := cs.CoreV1().Pods("ns").Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status.Conditions[0].Status = corev1.ConditionFalse
	pod.Status.ContainerStatuses[0].RestartCount = 1
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	updateStatus(t, cs, pod)
	if got, want := next("the crash"), (event.PodEvent{PodName: "web-1", Namespace: "ns", Phase: "Running", Restarts: 1, Reason: "CrashLoopBackOff"}); got != want {
		t.Errorf("after the crash %+v, want %+v (a label change publishes nothing)", got, want)
	}
	if err := cs.CoreV1().Pods("ns").Delete(t.Context(), "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := next("the deletion"); !got.Deleted || got.PodName != "web-1" {
		t.Errorf("after the deletion %+v, want Deleted", got)
	}
	// LogOptions.Pods was told of each change, the deletion last.
	var told []string
	for len(seen) > 0 {
		told = append(told, <-seen)
	}
	if len(told) < 3 || told[0] != "web-1 deleted=false" || told[len(told)-1] != "web-1 deleted=true" {
		t.Errorf("Pods was told %v, want web-1's changes and then its deletion", told)
	}
}
