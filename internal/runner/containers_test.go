package runner

import (
	"context"
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/sync"
)

// testPod is pod web-1 in dev, running its containers app (image web:1)
// and sidecar (image proxy:1); change adjusts it.
func testPod(change func(p *corev1.Pod)) *corev1.Pod {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "web-1", UID: "uid-1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "web:1"},
			{Name: "sidecar", Image: "proxy:1"},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "sidecar", State: running},
			{Name: "app", State: running, RestartCount: 2},
		}},
	}
	if change != nil {
		change(p)
	}
	return p
}

func TestRunningContainers(t *testing.T) {
	t.Parallel()
	web := artifact.Image{Name: "web", Ref: "web:1"}
	app := container{Target: sync.Target{Namespace: "dev", Pod: "web-1", Container: "app"}, Key: "uid-1/app/2", Image: web}
	for _, tc := range []struct {
		name  string
		pod   *corev1.Pod
		image artifact.Image
		want  []container
	}{
		{name: "running", pod: testPod(nil), image: web, want: []container{app}},
		{name: "another image", pod: testPod(nil), image: artifact.Image{Name: "web", Ref: "web:2"}},
		{name: "pending", pod: testPod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), image: web},
		{name: "succeeded", pod: testPod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), image: web},
		{name: "being deleted", pod: testPod(func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} }), image: web},
		{name: "container waiting", pod: testPod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses[1].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
		}), image: web},
		{name: "container without status", pod: testPod(func(p *corev1.Pod) { p.Status.ContainerStatuses = p.Status.ContainerStatuses[:1] }), image: web},
		{name: "two containers of the image", pod: testPod(func(p *corev1.Pod) {
			p.Spec.Containers[1].Image = "web:1"
		}), image: web, want: []container{
			app,
			{Target: sync.Target{Namespace: "dev", Pod: "web-1", Container: "sidecar"}, Key: "uid-1/sidecar/0", Image: web},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := runningContainers(tc.pod, tc.image); !slices.Equal(got, tc.want) {
				t.Errorf("runningContainers = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestRunningContainersKey(t *testing.T) {
	t.Parallel()
	web := artifact.Image{Name: "web", Ref: "web:1"}
	key := func(p *corev1.Pod) string {
		cs := runningContainers(p, web)
		if len(cs) != 1 {
			t.Fatalf("%d containers, want 1", len(cs))
		}
		return cs[0].Key
	}
	first := key(testPod(nil))
	if k := key(testPod(nil)); k != first {
		t.Errorf("the same container has keys %q and %q", first, k)
	}
	// A restart or a replacing pod starts a new filesystem.
	for name, change := range map[string]func(p *corev1.Pod){
		"restarted": func(p *corev1.Pod) { p.Status.ContainerStatuses[1].RestartCount++ },
		"replaced":  func(p *corev1.Pod) { p.UID = "uid-2" },
	} {
		if k := key(testPod(change)); k == first {
			t.Errorf("%s: the key %q did not change", name, k)
		}
	}
}

// Sync paths find the containers of every target, and each container's
// operations go through the transport of the target it was found in.
func TestSyncPaths(t *testing.T) {
	t.Parallel()
	web := imageOf("web:1")
	a := &fakeSource{running: map[string][]string{"web:1": {"a"}}}
	b := &fakeSource{running: map[string][]string{"web:1": {"b1", "b2"}, "api:1": {"x"}}}
	ta, tb := &fakeTransport{}, &fakeTransport{}
	paths := syncPaths{
		{source: a, transport: func(container) sync.Transport { return ta }},
		{source: b, transport: func(container) sync.Transport { return tb }},
	}
	got, err := paths.containers(context.Background(), web)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range got {
		keys = append(keys, c.Key)
		want := sync.Transport(tb)
		if c.Key == "a" {
			want = ta
		}
		if paths.transport(c) != want {
			t.Errorf("container %s goes through the other target's transport", c.Key)
		}
	}
	if want := []string{"a", "b1", "b2"}; !slices.Equal(keys, want) {
		t.Errorf("containers %q, want %q", keys, want)
	}

	boom := errors.New("the daemon is gone")
	b.err = boom
	if _, err := paths.containers(context.Background(), web); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}
