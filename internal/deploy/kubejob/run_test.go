package kubejob

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
)

// safeBuffer is a bytes.Buffer for one writer and a reader after it.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testJob is the Job of a verify test called name.
func testJob(t *testing.T, name string) *batchv1.Job {
	t.Helper()
	job, err := Manifest(Spec{Name: name, Namespace: "ns", Container: Container{Name: "check", Image: "app:v1"},
		Labels: map[string]string{kube.ManagedByLabel: kube.ManagedBy}})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// jobController plays the Job controller for the fake clientset: once
// the Job called name is created, it makes its pod, and then gives it the
// status set returns.
func jobController(t *testing.T, cs *fake.Clientset, name string, set func(*corev1.Pod)) {
	t.Helper()
	w, err := cs.BatchV1().Jobs("ns").Watch(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			job, ok := ev.Object.(*batchv1.Job)
			if ev.Type != watch.Added || !ok || job.Name != name {
				continue
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-x1", Namespace: "ns", Labels: map[string]string{"job-name": name}},
				Spec:       job.Spec.Template.Spec,
			}
			set(pod)
			if _, err := cs.CoreV1().Pods("ns").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
				t.Errorf("creating the Job's pod: %v", err)
			}
			return
		}
	}()
}

func terminated(code int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "check", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}
	}
}

// gone fails t when the Job or its pod are still there.
func gone(t *testing.T, cs *fake.Clientset, name string) {
	t.Helper()
	if _, err := cs.BatchV1().Jobs("ns").Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Job %s is still there after the run (err %v)", name, err)
	}
	pods, err := cs.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) > 0 {
		t.Errorf("the Job's pod %s is still there after the run", pods.Items[0].Name)
	}
}

// A container that exits 0 passes, its log is streamed to out, and the
// Job and its pod are deleted.
func TestRunSucceeds(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	jobController(t, cs, "smoke", terminated(0))
	var out safeBuffer
	if err := Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 0, &out); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.String() != "fake logs" {
		t.Errorf("Run wrote %q, want the container's log", out.String())
	}
	gone(t, cs, "smoke")
}

// A container that exits non-zero fails the run with its name and code.
func TestRunReportsTheExitCode(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	jobController(t, cs, "smoke", terminated(3))
	var out safeBuffer
	err := Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 0, &out)
	if err == nil || err.Error() != "check exited with code 3 in Job ns/smoke; its output is above" {
		t.Errorf("Run: %v, want the container's exit code", err)
	}
	if out.String() != "fake logs" {
		t.Errorf("Run wrote %q, want the container's log", out.String())
	}
	gone(t, cs, "smoke")
}

// An image the cluster cannot pull ends the run at once, saying so.
func TestRunReportsAnImageItCannotPull(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	jobController(t, cs, "smoke", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "check", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}
	})
	err := Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 0, &safeBuffer{})
	if err == nil || !strings.Contains(err.Error(), "Job ns/smoke: container check of pod smoke-x1 cannot start: ImagePullBackOff: Back-off pulling image (its image is app:v1") {
		t.Errorf("Run: %v, want the pull failure", err)
	}
	gone(t, cs, "smoke")
}

// A container that outlives the timeout fails the run, and the Job goes.
func TestRunTimeout(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	jobController(t, cs, "smoke", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "check", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	})
	err := Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 1, &safeBuffer{})
	if err == nil || err.Error() != "check still ran after its timeout of 1ns; its Job was deleted" {
		t.Errorf("Run: %v, want the timeout", err)
	}
	gone(t, cs, "smoke")
}

// Ctrl-C ends the run with its cause, and the Job and its pod are still
// deleted.
func TestRunCancelledDeletesTheJob(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancelCause(t.Context())
	interrupted := errors.New("interrupted")
	jobController(t, cs, "smoke", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "check", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		cancel(interrupted)
	})
	if err := Run(ctx, kubetest.API(cs), testJob(t, "smoke"), 0, &safeBuffer{}); !errors.Is(err, interrupted) {
		t.Errorf("Run: %v, want the cancellation's cause", err)
	}
	gone(t, cs, "smoke")
}

// A Job of the same name that skiff left behind is replaced; one that
// skiff did not make is left alone, and the run refused.
func TestRunLeftoverJobs(t *testing.T) {
	t.Parallel()
	left := testJob(t, "smoke")
	cs := fake.NewClientset(left)
	jobController(t, cs, "smoke", terminated(0))
	if err := Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 0, &safeBuffer{}); err != nil {
		t.Errorf("Run over a Job skiff left: %v", err)
	}
	theirs := testJob(t, "smoke")
	theirs.Labels = nil
	cs = fake.NewClientset(theirs)
	err := Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 0, &safeBuffer{})
	if err == nil || err.Error() != "Job ns/smoke exists and skiff did not create it; delete it or rename the test or container" {
		t.Errorf("Run over someone else's Job: %v", err)
	}
	if _, err := cs.BatchV1().Jobs("ns").Get(context.Background(), "smoke", metav1.GetOptions{}); err != nil {
		t.Errorf("someone else's Job was deleted: %v", err)
	}
}

// A Job whose pod cannot be created says why, from its events.
func TestRunReportsAPodItCannotCreate(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	w, err := cs.BatchV1().Jobs("ns").Watch(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			job := ev.Object.(*batchv1.Job)
			ev := &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "smoke.1", Namespace: "ns"},
				InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: job.Name, UID: job.UID},
				Reason:         "FailedCreate",
				Message:        `pods "smoke-x1" is forbidden: exceeded quota`,
			}
			if _, err := cs.CoreV1().Events("ns").Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
				t.Errorf("creating the event: %v", err)
			}
			return
		}
	}()
	err = Run(t.Context(), kubetest.API(cs), testJob(t, "smoke"), 0, &safeBuffer{})
	if err == nil || err.Error() != `Job ns/smoke: the Job cannot create its pod: pods "smoke-x1" is forbidden: exceeded quota` {
		t.Errorf("Run: %v, want the event's message", err)
	}
}

// A pod that no node can take is said once, while the run waits for it.
func TestRunSaysWhyThePodWaits(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(t.Context())
	var out safeBuffer
	jobController(t, cs, "smoke", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient memory."}}
	})
	done := make(chan error, 1)
	go func() { done <- Run(ctx, kubetest.API(cs), testJob(t, "smoke"), 0, &out) }()
	want := "(Job ns/smoke is waiting: pod smoke-x1 is unschedulable: 0/1 nodes are available: 1 Insufficient memory.)\n"
	noted := time.After(30 * time.Second) // a bound against a hang, not a figure
	for out.String() == "" {
		select {
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-noted:
			cancel()
			<-done
			t.Fatalf("Run said nothing of the unschedulable pod within 30 s, want %q", want)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if out.String() != want {
		t.Errorf("Run wrote %q, want %q", out.String(), want)
	}
	gone(t, cs, "smoke")
}
