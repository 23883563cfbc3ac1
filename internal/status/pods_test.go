package status

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testPod is a scheduled, unready pod whose container app has the given
// status (its name is set).
func testPod(policy corev1.RestartPolicy, s corev1.ContainerStatus) *corev1.Pod {
	s.Name = "app"
	s.Image = "registry.example/app:1"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "pod-uid"},
		Spec:       corev1.PodSpec{RestartPolicy: policy, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{
			Phase:             corev1.PodPending,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{s},
		},
	}
}

func waiting(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

func terminated(code int32, reason string) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}
}

func warning(reason, fieldPath, message string, at time.Time) *corev1.Event {
	return &corev1.Event{
		Type:           corev1.EventTypeWarning,
		Reason:         reason,
		Message:        message,
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", UID: "pod-uid", FieldPath: fieldPath},
		LastTimestamp:  metav1.NewTime(at),
	}
}

func repeated(e *corev1.Event, n int32) *corev1.Event {
	e.Count = n
	return e
}

func TestDiagnosePod(t *testing.T) {
	t.Parallel()
	now := time.Now()
	always := corev1.RestartPolicyAlways
	crashed := corev1.ContainerStatus{State: waiting("CrashLoopBackOff", "back-off 10s restarting failed container"), LastTerminationState: corev1.ContainerState{Terminated: terminated(1, "Error")}, RestartCount: 3}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		events   warnings
		reason   string
		stuck    bool
		note     string // a substring of the note
		message  string // a substring of the problem's message
		hint     string // a substring of the hint
		previous *bool  // whether the logs of the previous run explain it; nil: no logs
	}{
		{
			name:    "image pull",
			pod:     testPod(always, corev1.ContainerStatus{State: waiting("ErrImagePull", `failed to pull and unpack image "registry.example/app:1": not found`)}),
			reason:  "ErrImagePull",
			message: `container app cannot pull image registry.example/app:1: failed to pull and unpack image "registry.example/app:1": not found`,
			hint:    "pushed",
		},
		{
			name:    "image pull back-off",
			pod:     testPod(always, corev1.ContainerStatus{State: waiting("ImagePullBackOff", `Back-off pulling image "registry.example/app:1": ErrImagePull: not found`)}),
			reason:  "ImagePullBackOff",
			message: "ErrImagePull: not found",
			hint:    "registry",
		},
		{
			name:   "image pull unauthorized",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("ErrImagePull", "401 Unauthorized")}),
			reason: "ErrImagePull",
			hint:   "imagePullSecrets",
		},
		{
			name:    "invalid image name",
			pod:     testPod(always, corev1.ContainerStatus{State: waiting("InvalidImageName", `Failed to apply default image tag "App:1": couldn't parse image name`)}),
			reason:  "InvalidImageName",
			message: "couldn't parse image name",
			hint:    "image",
		},
		{
			name:    "missing config map",
			pod:     testPod(always, corev1.ContainerStatus{State: waiting("CreateContainerConfigError", `configmap "settings" not found`)}),
			reason:  "CreateContainerConfigError",
			message: `container app cannot be started: configmap "settings" not found`,
			hint:    "ConfigMap or Secret",
		},
		{
			name:   "run as non-root",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root")}),
			reason: "CreateContainerConfigError",
			hint:   "runAsUser",
		},
		{
			name:   "create container error",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("CreateContainerError", "no command specified")}),
			reason: "CreateContainerError",
			hint:   "settings",
		},
		{
			name:   "run container error",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("RunContainerError", `exec: "/app": stat /app: no such file or directory`)}),
			reason: "RunContainerError",
			hint:   "command exists",
		},
		{
			name:     "crash loop",
			pod:      testPod(always, crashed),
			reason:   ReasonCrashLoopBackOff,
			message:  "container app keeps exiting: exit code 1 (Error), restarted 3 times",
			hint:     "log lines",
			previous: ptr(true),
		},
		{
			name:     "crash loop exiting 0",
			pod:      testPod(always, corev1.ContainerStatus{State: waiting("CrashLoopBackOff", ""), LastTerminationState: corev1.ContainerState{Terminated: terminated(0, "Completed")}, RestartCount: 1}),
			reason:   ReasonCrashLoopBackOff,
			message:  "exit code 0 (Completed), restarted once",
			hint:     "Job",
			previous: ptr(true),
		},
		{
			name: "crash loop from a liveness probe",
			pod:  testPod(always, corev1.ContainerStatus{State: waiting("CrashLoopBackOff", ""), LastTerminationState: corev1.ContainerState{Terminated: terminated(137, "Error")}, RestartCount: 2}),
			events: warnings{
				warning("Unhealthy", "spec.containers{app}", "Liveness probe failed: HTTP probe failed with statuscode: 500", now),
				warning("Unhealthy", "spec.containers{app}", "Readiness probe failed: HTTP probe failed with statuscode: 500", now.Add(time.Second)),
				warning("Unhealthy", "spec.containers{other}", "Liveness probe failed: timeout", now.Add(time.Second)),
			},
			reason:   ReasonCrashLoopBackOff,
			message:  "the kubelet killed it: Liveness probe failed: HTTP probe failed with statuscode: 500",
			hint:     "probe",
			previous: ptr(true),
		},
		{
			name:     "exited again",
			pod:      testPod(always, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: terminated(2, "Error")}, RestartCount: 1}),
			reason:   ReasonCrashLoopBackOff,
			message:  "exit code 2 (Error), restarted once",
			previous: ptr(false),
		},
		{
			name: "exited once",
			pod:  testPod(always, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: terminated(2, "Error")}}),
			note: "container app exited with code 2 (Error)",
		},
		{
			name: "exited, never restarted",
			pod:  testPod(corev1.RestartPolicyNever, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: terminated(2, "Error")}, RestartCount: 1}),
			note: "container app exited with code 2 (Error)",
		},
		{
			name:     "out of memory",
			pod:      testPod(always, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: terminated(137, "OOMKilled")}}),
			reason:   ReasonOOMKilled,
			message:  "more memory than its limit",
			hint:     "limits.memory",
			previous: ptr(false),
		},
		{
			name:     "running again after running out of memory",
			pod:      testPod(always, corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, LastTerminationState: corev1.ContainerState{Terminated: terminated(137, "OOMKilled")}, RestartCount: 1}),
			reason:   ReasonOOMKilled,
			previous: ptr(true),
		},
		{
			name:    "cannot start",
			pod:     testPod(always, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: `exec: "/app": stat /app: no such file or directory`}}}),
			reason:  "StartError",
			message: `cannot run its program: exec: "/app": stat /app: no such file or directory`,
			hint:    "entrypoint",
		},
		{
			name: "unschedulable",
			pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient cpu.",
			}}}},
			reason:  ReasonUnschedulable,
			stuck:   true,
			message: "no node can run the pod: 0/1 nodes are available: 1 Insufficient cpu.",
			hint:    "resources.requests",
		},
		{
			name:   "volume not mounted once",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("ContainerCreating", "")}),
			events: warnings{warning("FailedMount", "", `MountVolume.SetUp failed for volume "kube-api-access" : failed to sync configmap cache`, now)},
		},
		{
			name:    "volume of a missing config map",
			pod:     testPod(always, corev1.ContainerStatus{State: waiting("ContainerCreating", "")}),
			events:  warnings{repeated(warning("FailedMount", "", `MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found`, now), 2)},
			reason:  ReasonFailedMount,
			message: `configmap "cfg" not found`,
			hint:    "ConfigMap",
		},
		{
			name:    "volume not attached",
			pod:     testPod(always, corev1.ContainerStatus{State: waiting("ContainerCreating", "")}),
			events:  warnings{repeated(warning("FailedMount", "", `Unable to attach or mount volumes: unmounted volumes=[data]: timed out waiting for the condition`, now), 3)},
			reason:  ReasonFailedMount,
			stuck:   true,
			message: "unmounted volumes=[data]",
			hint:    "PersistentVolumeClaim",
		},
		{
			name: "init container crash loop",
			pod: func() *corev1.Pod {
				p := testPod(always, corev1.ContainerStatus{State: waiting("PodInitializing", "")})
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: waiting("CrashLoopBackOff", ""), LastTerminationState: corev1.ContainerState{Terminated: terminated(1, "Error")}, RestartCount: 2}}
				return p
			}(),
			reason:   ReasonCrashLoopBackOff,
			message:  "container init keeps exiting",
			previous: ptr(true),
		},
		{
			name:   "failing readiness probe",
			pod:    testPod(always, corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}),
			events: warnings{warning("Unhealthy", "spec.containers{app}", "Readiness probe failed: HTTP probe failed with statuscode: 503", now)},
			note:   "Readiness probe failed: HTTP probe failed with statuscode: 503",
		},
		{
			name:   "sandbox failure",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("ContainerCreating", "")}),
			events: warnings{warning("FailedCreatePodSandBox", "", "failed to setup network", now), warning("MissingClusterDNS", "", "kubelet does not have ClusterDNS IP configured", now.Add(time.Second))},
			note:   "FailedCreatePodSandBox: failed to setup network",
		},
		{
			name:   "noise",
			pod:    testPod(always, corev1.ContainerStatus{State: waiting("ContainerCreating", "")}),
			events: warnings{warning("MissingClusterDNS", "", "kubelet does not have ClusterDNS IP configured", now)},
		},
		{
			name: "waiting for something else",
			pod:  testPod(always, corev1.ContainerStatus{State: waiting("SomethingNew", "details")}),
			note: "container app is waiting: SomethingNew: details",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			note, p := diagnosePod(tc.pod, tc.events)
			checkProblem(t, p, tc.reason, tc.stuck)
			if tc.reason == "" && tc.note == "" && note != "" {
				t.Errorf("unexpected note %q", note)
			}
			if !strings.Contains(note, tc.note) {
				t.Errorf("note %q, want it to contain %q", note, tc.note)
			}
			if p == nil {
				return
			}
			if note != p.summary() || p.pod != tc.pod.Name {
				t.Errorf("note %q and pod %q, want the problem's summary %q and pod %q", note, p.pod, p.summary(), tc.pod.Name)
			}
			if !strings.Contains(p.message, tc.message) || !strings.Contains(p.hint, tc.hint) {
				t.Errorf("message %q and hint %q, want them to contain %q and %q", p.message, p.hint, tc.message, tc.hint)
			}
			switch {
			case tc.previous == nil && p.logs != nil:
				t.Errorf("unexpected logs of %+v", *p.logs)
			case tc.previous != nil && p.logs == nil:
				t.Errorf("no logs, want the container's")
			case tc.previous != nil && (p.logs.previous != *tc.previous || p.logs.container != p.container || p.logs.pod != tc.pod.Name):
				t.Errorf("logs of %+v, want pod %s container %s previous=%v", *p.logs, tc.pod.Name, p.container, *tc.previous)
			}
		})
	}
}

func TestPodFailure(t *testing.T) {
	t.Parallel()
	p := testPod(corev1.RestartPolicyNever, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: "bad\nthings"}}})
	p.Status.Phase = corev1.PodFailed
	f := podFailure(p)
	if f.reason != ReasonPodFailed || f.message != "container app exited with code 3 (Error): bad things" || f.logs == nil || f.logs.previous || f.container != "app" {
		t.Errorf("got %+v", f)
	}

	evicted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}}
	f = podFailure(evicted)
	if f.message != "the pod failed: Evicted: The node was low on resource: memory." || f.logs != nil || !strings.Contains(f.hint, "describe pod web-1") {
		t.Errorf("got %+v", f)
	}
}
