package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"skiff.dev/skiff/internal/kube/kubetest"
)

func TestUnavailable(t *testing.T) {
	t.Parallel()
	pod := func(phase corev1.PodPhase, state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "web-7d9f"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "proxy"}}},
			Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", State: state}, {Name: "proxy", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			}},
		}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	crashing := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	execErr := errors.New("unable to upgrade connection: container not found")
	for _, tt := range []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      string // "" when the exec error comes back as it is
	}{
		{"no pod", nil, "app", "the pod does not exist"},
		{"no such container", pod(corev1.PodRunning, running), "db", `the pod has no container "db" (it has app, proxy)`},
		{"completed pod", pod(corev1.PodSucceeded, running), "app", "the pod has Succeeded"},
		{"container waiting", pod(corev1.PodRunning, crashing), "app", "not running (waiting: CrashLoopBackOff)"},
		{"container running", pod(corev1.PodRunning, running), "app", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs := fake.NewClientset()
			if tt.pod != nil {
				cs = fake.NewClientset(tt.pod)
			}
			k := &KubeExecutor{api: kubetest.API(cs)}
			err := k.unavailable(context.Background(), Target{Namespace: "dev", Pod: "web-7d9f", Container: tt.container}, execErr)
			if tt.want == "" {
				if err != execErr {
					t.Errorf("unavailable() = %v, want the exec error", err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("unavailable() = %v, want ErrUnavailable saying %q", err, tt.want)
			}
		})
	}
}
