package status

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/testutil"
)

// fastTiming judges often and fails stuck problems soon.
var fastTiming = timing{stuckGrace: 300 * time.Millisecond, tick: 10 * time.Millisecond}

// A fakeCluster is a fake clientset that reports each watch it starts:
// the fake does not replay changes made between an informer's list and
// its watch, so a test changes objects only once the watches run.
type fakeCluster struct {
	cs       *fake.Clientset
	watching chan string
}

func newFakeCluster(objs ...runtime.Object) *fakeCluster {
	cs := fake.NewClientset(objs...)
	fc := &fakeCluster{cs: cs, watching: make(chan string, 100)}
	cs.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if wa, ok := a.(k8stesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		w, err := cs.Tracker().Watch(a.GetResource(), a.GetNamespace(), opts)
		fc.watching <- a.GetResource().Resource
		return true, w, err
	})
	return fc
}

// A running check is a check run in the background.
type running struct {
	out  *testutil.Buffer
	done chan error
}

// start runs check on the objects in the background.
func (fc *fakeCluster) start(ctx context.Context, objs []*unstructured.Unstructured, opts Options, t timing) *running {
	r := &running{out: &testutil.Buffer{}, done: make(chan error, 1)}
	opts.Out = r.out
	go func() { r.done <- check(ctx, kubetest.API(fc.cs), objs, opts, t) }()
	return r
}

// waitWatches waits until n watches have started.
func (fc *fakeCluster) waitWatches(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-fc.watching:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d watches started, want %d", i, n)
		}
	}
}

// result waits for the check's result.
func (r *running) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("the check did not end; output:\n%s", r.out.String())
		return nil
	}
}

// stillRunning fails the test if the check ends within d.
func (r *running) stillRunning(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case err := <-r.done:
		t.Fatalf("the check ended early with %v; output:\n%s", err, r.out.String())
	case <-time.After(d):
	}
}

// runCheck runs check on the objects of fc to its end.
func runCheck(t *testing.T, fc *fakeCluster, objs []*unstructured.Unstructured, opts Options, tm timing) (string, error) {
	t.Helper()
	r := fc.start(context.Background(), objs, opts, tm)
	err := r.result(t)
	return r.out.String(), err
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *Error", err, err)
	}
	return e
}

// applied returns an object as server-side apply returns it.
func applied(t *testing.T, obj runtime.Object, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u
}

var (
	deploymentKind  = appsv1.SchemeGroupVersion.WithKind("Deployment")
	statefulSetKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	daemonSetKind   = appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	jobKind         = batchv1.SchemeGroupVersion.WithKind("Job")
	podKind         = corev1.SchemeGroupVersion.WithKind("Pod")
)

func template(name, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

// testDeployment is a Deployment of generation 1 whose controller has seen
// it and rolled it out.
func testDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(name + "-uid"), Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name, "app:2"),
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

func controlledBy(owner metav1.Object, gvk schema.GroupVersionKind) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(owner, gvk)}
}

// testReplicaSet is a ReplicaSet of d with the given template.
func testReplicaSet(d *appsv1.Deployment, hash string, tmpl corev1.PodTemplateSpec, created time.Time) *appsv1.ReplicaSet {
	tmpl = *tmpl.DeepCopy()
	tmpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: d.Namespace, Name: d.Name + "-" + hash, UID: types.UID(d.Name + "-" + hash + "-uid"),
			OwnerReferences: controlledBy(d, deploymentKind), CreationTimestamp: metav1.NewTime(created),
		},
		Spec: appsv1.ReplicaSetSpec{Template: tmpl},
	}
}

// testPod is a pod named name controlled by owner, with one container app.
func testPodOf(owner metav1.Object, gvk schema.GroupVersionKind, name string, status corev1.PodStatus) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: name, UID: types.UID(name + "-uid")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:2"}}},
		Status:     status,
	}
	if gvk != podKind {
		p.OwnerReferences = controlledBy(owner, gvk)
	}
	return p
}

// readyStatus is the status of a pod whose container app has been running
// for an hour.
func readyStatus() corev1.PodStatus {
	return corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(time.Now().Add(-time.Hour))}},
		}},
	}
}

// failingStatus is the status of a scheduled pod whose container app is
// in the given state after restarts.
func failingStatus(state corev1.ContainerState, last *corev1.ContainerStateTerminated, restarts int32) corev1.PodStatus {
	return corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionFalse}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: "app:2", State: state, RestartCount: restarts,
			LastTerminationState: corev1.ContainerState{Terminated: last},
		}},
	}
}

func crashLoopStatus() corev1.PodStatus {
	return failingStatus(waiting("CrashLoopBackOff", "back-off 10s"), terminated(1, "Error"), 2)
}

// rolledOutWithPod is a rolled-out Deployment web in ns, its current
// ReplicaSet and one pod of it with the given status.
func rolledOutWithPod(status corev1.PodStatus) (*appsv1.Deployment, []runtime.Object) {
	d := testDeployment("ns", "web", 1)
	rs := testReplicaSet(d, "new", d.Spec.Template, time.Now())
	return d, []runtime.Object{d, rs, testPodOf(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "web-new-1", status)}
}

func TestCheckFollowsADeploymentRollout(t *testing.T) {
	t.Parallel()
	d := testDeployment("ns", "web", 2)
	d.Status = appsv1.DeploymentStatus{}
	fc := newFakeCluster(d)
	// Only watches wake the check: a change must be seen at once.
	r := fc.start(context.Background(), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, timing{tick: time.Hour})
	fc.waitWatches(t, 4) // pods, events, deployments, replicasets
	ctx := context.Background()
	apps := fc.cs.AppsV1()

	rs := testReplicaSet(d, "new", d.Spec.Template, time.Now())
	if _, err := apps.ReplicaSets("ns").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, status := range []appsv1.DeploymentStatus{
		{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1},
		{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1, ReadyReplicas: 1}, // the same message
		{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2},
	} {
		r.stillRunning(t, 50*time.Millisecond)
		d.Status = status
		if _, err := apps.Deployments("ns").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Rolled out, but the news of its pods has not come yet.
	r.stillRunning(t, 50*time.Millisecond)
	for _, name := range []string{"web-new-1", "web-new-2"} {
		pod := testPodOf(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), name, readyStatus())
		if _, err := fc.cs.CoreV1().Pods("ns").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// With an hour between ticks, only the pods' watch can end the check
	// now: a check that missed it would not return.
	if err := r.result(t); err != nil {
		t.Fatal(err)
	}
	want := "Waiting for deployments to stabilize...\n" +
		" - deployment/web: waiting for spec update to be observed...\n" +
		" - deployment/web: waiting for rollout to finish: 1 of 2 updated replicas are available...\n" +
		" - deployment/web is ready.\n" +
		"Deployments stabilized in "
	if out := r.out.String(); !strings.HasPrefix(out, want) {
		t.Errorf("output\n%s\nwant it to start with\n%s", out, want)
	}
}

func TestCheckWaitsForTheAppliedGeneration(t *testing.T) {
	t.Parallel()
	// The apply made generation 2; the controller's status is of 1.
	d, objs := rolledOutWithPod(readyStatus())
	d.Generation = 2
	fc := newFakeCluster(objs...)
	r := fc.start(context.Background(), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, fastTiming)
	fc.waitWatches(t, 4)
	r.stillRunning(t, 100*time.Millisecond)
	d.Status.ObservedGeneration = 2
	if _, err := fc.cs.AppsV1().Deployments("ns").UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.result(t); err != nil {
		t.Fatal(err)
	}
	if out := r.out.String(); !strings.Contains(out, " - deployment/web: waiting for spec update to be observed...\n") {
		t.Errorf("output\n%s\nwant the wait for the controller", out)
	}
}

func TestCheckFailsFast(t *testing.T) {
	t.Parallel()
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	for _, tc := range []struct {
		name   string
		status corev1.PodStatus
		reason string
		logs   bool
	}{
		{name: "image pull", status: failingStatus(waiting("ErrImagePull", "not found"), nil, 0), reason: "ErrImagePull"},
		{name: "image pull back-off", status: failingStatus(waiting("ImagePullBackOff", "Back-off pulling image"), nil, 0), reason: "ImagePullBackOff"},
		{name: "invalid image", status: failingStatus(waiting("InvalidImageName", "bad"), nil, 0), reason: "InvalidImageName"},
		{name: "config", status: failingStatus(waiting("CreateContainerConfigError", `secret "s" not found`), nil, 0), reason: "CreateContainerConfigError"},
		{name: "create", status: failingStatus(waiting("CreateContainerError", "bad mount"), nil, 0), reason: "CreateContainerError"},
		{name: "crash loop", status: crashLoopStatus(), reason: ReasonCrashLoopBackOff, logs: true},
		{name: "exited again", status: failingStatus(corev1.ContainerState{Terminated: terminated(1, "Error")}, nil, 1), reason: ReasonCrashLoopBackOff, logs: true},
		{name: "oom", status: failingStatus(running, terminated(137, ReasonOOMKilled), 1), reason: ReasonOOMKilled, logs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, objs := rolledOutWithPod(tc.status)
			d.Status.AvailableReplicas = 0
			// Stuck problems are judged after an hour here: only a failure
			// that cannot recover ends the check at once.
			out, err := runCheck(t, newFakeCluster(objs...), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, timing{stuckGrace: time.Hour, tick: time.Hour})
			e := asError(t, err)
			if e.Reason != tc.reason || e.Resource != "deployment/web" || e.Namespace != "ns" || e.Pod != "web-new-1" || e.Container != "app" || e.Hint == "" {
				t.Errorf("got %+v, want %s in deployment/web, pod web-new-1, container app, with a hint", e, tc.reason)
			}
			if got := strings.Join(e.LogLines, "\n"); tc.logs != (got == "fake logs") {
				t.Errorf("log lines %q, want them: %v", e.LogLines, tc.logs)
			}
			if strings.Contains(out, "ready") {
				t.Errorf("output\n%s", out)
			}
		})
	}
}

func TestCheckLooksAtTheCurrentRevisionOnly(t *testing.T) {
	t.Parallel()
	d, objs := rolledOutWithPod(readyStatus())
	// An old ReplicaSet's pod and a terminating pod crash, unseen.
	old := testReplicaSet(d, "old", template("web", "app:1"), time.Now().Add(-time.Hour))
	oldPod := testPodOf(old, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "web-old-1", crashLoopStatus())
	terminating := testPodOf(objs[1].(*appsv1.ReplicaSet), appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "web-new-0", crashLoopStatus())
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	terminating.Finalizers = []string{"test"}
	fc := newFakeCluster(append(objs, old, oldPod, terminating)...)
	if _, err := runCheck(t, fc, []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, fastTiming); err != nil {
		t.Fatal(err)
	}
}

func TestCheckStuckProblemsFailAfterAGracePeriod(t *testing.T) {
	t.Parallel()
	d, objs := rolledOutWithPod(corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient cpu.",
	}}})
	d.Status.AvailableReplicas = 0
	start := time.Now()
	out, err := runCheck(t, newFakeCluster(objs...), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, fastTiming)
	e := asError(t, err)
	if e.Reason != ReasonUnschedulable || !strings.Contains(e.Message, "Insufficient cpu") {
		t.Errorf("got %+v", e)
	}
	if took := time.Since(start); took < fastTiming.stuckGrace {
		t.Errorf("the check failed after %s, before the grace period", took)
	}
	if !strings.Contains(out, "    - pod/web-new-1: Unschedulable: no node can run the pod: 0/1 nodes are available: 1 Insufficient cpu.\n") {
		t.Errorf("output\n%s\nwant the reason under the deployment's line", out)
	}
}

func TestCheckToleratesFailuresUntilTheDeadline(t *testing.T) {
	t.Parallel()
	d, objs := rolledOutWithPod(crashLoopStatus())
	d.Status.AvailableReplicas = 0
	out, err := runCheck(t, newFakeCluster(objs...), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{TolerateFailures: true, Deadline: 300 * time.Millisecond}, fastTiming)
	e := asError(t, err)
	if e.Reason != ReasonDeadlineExceeded || e.Message != "1 of 1 resources were not ready within 300ms" || len(e.Unready) != 1 {
		t.Fatalf("got %+v", e)
	}
	if u := e.Unready[0]; u.Reason != ReasonCrashLoopBackOff || u.Resource != "deployment/web" || strings.Join(u.LogLines, "") != "fake logs" {
		t.Errorf("got %+v, want the crash loop with its logs", u)
	}
	if !strings.Contains(out, "    - pod/web-new-1: CrashLoopBackOff: container app keeps exiting") {
		t.Errorf("output\n%s\nwant the crash loop under the deployment's line", out)
	}
}

func TestCheckDeadlineListsWhatIsNotReady(t *testing.T) {
	t.Parallel()
	ready, readyObjs := rolledOutWithPod(readyStatus())
	slow := testDeployment("ns", "slow", 1)
	slow.Status.AvailableReplicas = 0
	pod := testPodOf(slow, podKind, "lonely", corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
	})
	probe := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "ns", Name: "lonely.1"},
		Type:           corev1.EventTypeWarning,
		Reason:         "Unhealthy",
		Message:        "Readiness probe failed: HTTP probe failed with statuscode: 503",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "lonely", UID: pod.UID},
	}
	fc := newFakeCluster(append(readyObjs, slow, pod, probe)...)
	objs := []*unstructured.Unstructured{applied(t, ready, deploymentKind), applied(t, slow, deploymentKind), applied(t, pod, podKind)}
	out, err := runCheck(t, fc, objs, Options{Deadline: 300 * time.Millisecond}, fastTiming)
	e := asError(t, err)
	if e.Reason != ReasonDeadlineExceeded || e.Message != "2 of 3 resources were not ready within 300ms" || len(e.Unready) != 2 {
		t.Fatalf("got %+v", e)
	}
	if u := e.Unready[0]; u.Resource != "deployment/slow" || u.Reason != "" || u.Message != "waiting for rollout to finish: 0 of 1 updated replicas are available..." {
		t.Errorf("got %+v", u)
	}
	if u := e.Unready[1]; u.Resource != "pod/lonely" || u.Message != "waiting for pod to be ready (phase Running)...\n    - pod/lonely: Readiness probe failed: HTTP probe failed with statuscode: 503" {
		t.Errorf("got %+v", u)
	}
	if !strings.Contains(out, " - deployment/web is ready. [2/3 deployment(s) still pending]\n") {
		t.Errorf("output\n%s", out)
	}
}

func TestCheckJobs(t *testing.T) {
	t.Parallel()
	job := func(name string, conds ...batchv1.JobCondition) *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name + "-uid")},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(1)), Template: template(name, "app:2")},
			Status:     batchv1.JobStatus{Conditions: conds},
		}
	}
	failedPod := func(j *batchv1.Job, name string, created time.Time) *corev1.Pod {
		p := testPodOf(j, jobKind, name, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: terminated(3, "Error")}}}})
		p.CreationTimestamp = metav1.NewTime(created)
		return p
	}
	now := time.Now()

	done := job("done", batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})
	retrying := job("retrying")
	retrying.Status.Failed = 1
	fc := newFakeCluster(done, retrying, failedPod(retrying, "retrying-a", now))
	objs := []*unstructured.Unstructured{applied(t, done, jobKind), applied(t, retrying, jobKind)}
	out, err := runCheck(t, fc, objs, Options{Deadline: 200 * time.Millisecond}, fastTiming)
	e := asError(t, err)
	if e.Reason != ReasonDeadlineExceeded || len(e.Unready) != 1 || e.Unready[0].Message != "waiting for job to complete: 0 succeeded, 1 failed (backoffLimit 1)...\n    - pod/retrying-a failed: container app exited with code 3 (Error)" {
		t.Errorf("a job whose pod failed but retries: got %+v", e.Unready[0])
	}
	if !strings.Contains(out, " - job/done is ready.") {
		t.Errorf("output\n%s", out)
	}

	failed := job("failed", batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"})
	fc = newFakeCluster(failed, failedPod(failed, "failed-a", now.Add(-time.Minute)), failedPod(failed, "failed-b", now))
	_, err = runCheck(t, fc, []*unstructured.Unstructured{applied(t, failed, jobKind)}, Options{}, fastTiming)
	e = asError(t, err)
	want := "the job failed: BackoffLimitExceeded: Job has reached the specified backoff limit; last failed pod: container app exited with code 3 (Error)"
	if e.Reason != ReasonJobFailed || e.Resource != "job/failed" || e.Pod != "failed-b" || e.Message != want || strings.Join(e.LogLines, "") != "fake logs" {
		t.Errorf("got %+v, want %s from the newest failed pod, with its logs", e, want)
	}
}

func TestCheckStandalonePods(t *testing.T) {
	t.Parallel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}
	ready := testPodOf(ns, podKind, "ready", readyStatus())
	succeeded := testPodOf(ns, podKind, "succeeded", corev1.PodStatus{Phase: corev1.PodSucceeded})
	ready.Namespace, succeeded.Namespace = "ns", "ns"
	objs := []*unstructured.Unstructured{applied(t, ready, podKind), applied(t, succeeded, podKind)}
	out, err := runCheck(t, newFakeCluster(ready, succeeded), objs, Options{}, fastTiming)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" - pod/ready is ready.", " - pod/succeeded is ready."} {
		if !strings.Contains(out, want) {
			t.Errorf("output\n%s\nlacks %q", out, want)
		}
	}

	failed := testPodOf(ns, podKind, "failed", corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: terminated(2, "Error")}}}})
	failed.Namespace = "ns"
	_, err = runCheck(t, newFakeCluster(failed), []*unstructured.Unstructured{applied(t, failed, podKind)}, Options{}, fastTiming)
	if e := asError(t, err); e.Reason != ReasonPodFailed || e.Pod != "failed" || e.Message != "container app exited with code 2 (Error)" || len(e.LogLines) != 1 {
		t.Errorf("got %+v", e)
	}
}

func TestCheckStatefulSetPodsOfTheUpdateRevision(t *testing.T) {
	t.Parallel()
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db", UID: "db-uid", Generation: 2},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr(int32(2)), Template: template("db", "db:2")},
		Status:     appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 1, CurrentRevision: "db-1", UpdateRevision: "db-2"},
	}
	pod := func(name, revision string) *corev1.Pod {
		p := testPodOf(sts, statefulSetKind, name, crashLoopStatus())
		p.Labels = map[string]string{appsv1.ControllerRevisionHashLabelKey: revision}
		return p
	}
	fc := newFakeCluster(sts, pod("db-0", "db-1"), pod("db-1", "db-2"))
	_, err := runCheck(t, fc, []*unstructured.Unstructured{applied(t, sts, statefulSetKind)}, Options{}, fastTiming)
	if e := asError(t, err); e.Reason != ReasonCrashLoopBackOff || e.Pod != "db-1" || e.Resource != "statefulset/db" {
		t.Errorf("got %+v, want the crash loop of db-1, of the update revision", e)
	}
}

func TestCheckDaemonSetPodsOfTheNewestRevision(t *testing.T) {
	t.Parallel()
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "agent", UID: "agent-uid", Generation: 2},
		Spec:       appsv1.DaemonSetSpec{Template: template("agent", "agent:2")},
		Status:     appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 2, UpdatedNumberScheduled: 1, NumberAvailable: 1},
	}
	revision := func(hash string, n int64) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: "ns", Name: "agent-" + hash, UID: types.UID(hash),
				Labels:          map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash},
				OwnerReferences: controlledBy(ds, daemonSetKind),
			},
			Revision: n,
		}
	}
	pod := func(name, hash string) *corev1.Pod {
		p := testPodOf(ds, daemonSetKind, name, crashLoopStatus())
		p.Labels = map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash}
		return p
	}
	fc := newFakeCluster(ds, revision("aaa", 1), revision("bbb", 2), pod("agent-old", "aaa"), pod("agent-new", "bbb"))
	_, err := runCheck(t, fc, []*unstructured.Unstructured{applied(t, ds, daemonSetKind)}, Options{}, fastTiming)
	if e := asError(t, err); e.Reason != ReasonCrashLoopBackOff || e.Pod != "agent-new" || e.Resource != "daemonset/agent" {
		t.Errorf("got %+v, want the crash loop of agent-new, of the newest revision", e)
	}
}

func TestCheckHoldsContainersWithoutProbes(t *testing.T) {
	t.Parallel()
	for _, probe := range []bool{false, true} {
		// Without a probe the hold is short and the check must last at
		// least as long; with one the hold is an hour, so a check that held
		// the container would not return.
		tm := fastTiming
		tm.readyHold = 300 * time.Millisecond
		if probe {
			tm.readyHold = time.Hour
		}
		status := readyStatus()
		status.ContainerStatuses[0].State.Running.StartedAt = metav1.Now()
		d, objs := rolledOutWithPod(status)
		if probe {
			objs[2].(*corev1.Pod).Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
		}
		start := time.Now()
		if _, err := runCheck(t, newFakeCluster(objs...), []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, tm); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if !probe && took < tm.readyHold {
			t.Errorf("a container without probes, just started, counted ready after %s", took)
		}
	}
}

func TestCheckEndsWhenCancelled(t *testing.T) {
	t.Parallel()
	d, objs := rolledOutWithPod(crashLoopStatus())
	fc := newFakeCluster(objs...)
	ctx, cancel := context.WithCancel(context.Background())
	r := fc.start(ctx, []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{TolerateFailures: true}, fastTiming)
	fc.waitWatches(t, 4)
	cancel()
	// The crash loop is tolerated until the deadline, minutes away: only
	// the cancel can end the check now.
	if err := r.result(t); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestCheckFailsWithoutAccess(t *testing.T) {
	t.Parallel()
	d, objs := rolledOutWithPod(readyStatus())
	fc := newFakeCluster(objs...)
	fc.cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no RBAC"))
	})
	_, err := runCheck(t, fc, []*unstructured.Unstructured{applied(t, d, deploymentKind)}, Options{}, fastTiming)
	if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "namespace ns") {
		t.Errorf("got %v, want a forbidden error naming the namespace", err)
	}
}

func TestCheckIgnoresOtherKinds(t *testing.T) {
	t.Parallel()
	fc := newFakeCluster()
	svc := applied(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}, corev1.SchemeGroupVersion.WithKind("Service"))
	rs := applied(t, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	out, err := runCheck(t, fc, []*unstructured.Unstructured{svc, rs}, Options{}, fastTiming)
	if err != nil || out != "" || len(fc.cs.Actions()) != 0 {
		t.Errorf("got %v, output %q and %d API calls, want nothing", err, out, len(fc.cs.Actions()))
	}
}

func TestCheckNamesNamespacesWhenThereAreSeveral(t *testing.T) {
	t.Parallel()
	var all []runtime.Object
	var objs []*unstructured.Unstructured
	for _, ns := range []string{"a", "b"} {
		d := testDeployment(ns, "web", 1)
		d.UID = types.UID(ns + "-uid")
		rs := testReplicaSet(d, "new", d.Spec.Template, time.Now())
		pod := testPodOf(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "web-new-1", readyStatus())
		all = append(all, d, rs, pod)
		objs = append(objs, applied(t, d, deploymentKind))
	}
	objs = append(objs, objs[0]) // applied twice
	out, err := runCheck(t, newFakeCluster(all...), objs, Options{}, fastTiming)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" - a:deployment/web is ready. [1/2 deployment(s) still pending]\n", " - b:deployment/web is ready.\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output\n%s\nlacks %q", out, want)
		}
	}
}
