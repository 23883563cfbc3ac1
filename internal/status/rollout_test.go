package status

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func TestDeploymentRollout(t *testing.T) {
	t.Parallel()
	deployment := func(gen, observed int64, want, replicas, updated, available int32, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: &want},
			Status: appsv1.DeploymentStatus{
				ObservedGeneration: observed, Replicas: replicas, UpdatedReplicas: updated, AvailableReplicas: available,
				Conditions: conds,
			},
		}
	}
	for _, tc := range []struct {
		name          string
		d             *appsv1.Deployment
		minGeneration int64
		done          bool
		readyPods     int32
		message       string
		reason        string
		stuck         bool
	}{
		{name: "not observed", d: deployment(2, 1, 2, 2, 2, 2), message: specNotObserved},
		{name: "applied generation not observed", d: deployment(1, 1, 2, 2, 2, 2), minGeneration: 2, message: specNotObserved},
		{name: "updating", d: deployment(2, 2, 2, 2, 1, 1), message: "waiting for rollout to finish: 1 out of 2 new replicas have been updated..."},
		{name: "old replicas", d: deployment(2, 2, 2, 3, 2, 2), message: "waiting for rollout to finish: 1 old replicas are pending termination..."},
		{name: "unavailable", d: deployment(2, 2, 2, 2, 2, 1), message: "waiting for rollout to finish: 1 of 2 updated replicas are available..."},
		{name: "done", d: deployment(2, 2, 2, 2, 2, 2), minGeneration: 2, done: true, readyPods: 2},
		{name: "scaled to zero", d: deployment(1, 1, 0, 0, 0, 0), done: true},
		{
			name:    "progress deadline",
			d:       deployment(1, 1, 1, 1, 1, 0, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "web-1" has timed out progressing.`}),
			message: "waiting for rollout to finish: 0 of 1 updated replicas are available...",
			reason:  ReasonProgressDeadlineExceeded,
		},
		{
			name:    "replica failure",
			d:       deployment(1, 1, 1, 0, 0, 0, appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "web-1-x" is forbidden: exceeded quota`}),
			message: "waiting for rollout to finish: 0 out of 1 new replicas have been updated...",
			reason:  ReasonFailedCreate,
			stuck:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := deploymentRollout(tc.d, tc.minGeneration)
			if r.done != tc.done || r.message != tc.message || r.readyPods != tc.readyPods {
				t.Errorf("got done=%v %q %d ready pods, want done=%v %q %d", r.done, r.message, r.readyPods, tc.done, tc.message, tc.readyPods)
			}
			checkProblem(t, r.problem, tc.reason, tc.stuck)
		})
	}
}

func checkProblem(t *testing.T, p *problem, reason string, stuck bool) {
	t.Helper()
	switch {
	case reason == "" && p != nil:
		t.Errorf("unexpected problem %s", p.summary())
	case reason != "" && p == nil:
		t.Errorf("no problem, want %s", reason)
	case p != nil && (p.reason != reason || p.stuck != stuck || p.hint == "" || p.message == ""):
		t.Errorf("got problem %q stuck=%v hint %q, want %s stuck=%v with a message and a hint", p.summary(), p.stuck, p.hint, reason, stuck)
	}
}

func TestStatefulSetRollout(t *testing.T) {
	t.Parallel()
	sts := func(observed int32, strategy appsv1.StatefulSetUpdateStrategy, ready, updated int32, current, update string) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 3},
			Spec:       appsv1.StatefulSetSpec{Replicas: ptr(int32(3)), UpdateStrategy: strategy},
			Status: appsv1.StatefulSetStatus{
				ObservedGeneration: int64(observed), ReadyReplicas: ready, UpdatedReplicas: updated,
				CurrentRevision: current, UpdateRevision: update,
			},
		}
	}
	rolling := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(0))}}
	partitioned := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}}
	noPartition := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}
	onDelete := appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	for _, tc := range []struct {
		name      string
		s         *appsv1.StatefulSet
		done      bool
		readyPods int32
		message   string
	}{
		{name: "never observed", s: sts(0, rolling, 0, 0, "", ""), message: specNotObserved},
		{name: "old generation", s: sts(2, rolling, 3, 3, "db-1", "db-1"), message: specNotObserved},
		{name: "not ready", s: sts(3, rolling, 1, 3, "db-1", "db-2"), message: "waiting for 2 pods to be ready..."},
		{name: "updating", s: sts(3, rolling, 3, 2, "db-1", "db-2"), message: "waiting for partitioned roll out to finish: 2 out of 3 new pods have been updated..."},
		{name: "updated", s: sts(3, rolling, 3, 3, "db-1", "db-2"), done: true, readyPods: 3},
		{name: "partition reached", s: sts(3, partitioned, 3, 2, "db-1", "db-2"), done: true, readyPods: 2},
		{name: "revisions differ", s: sts(3, noPartition, 3, 1, "db-1", "db-2"), message: "waiting for rolling update to complete 1 pods at revision db-2..."},
		{name: "revisions equal", s: sts(3, noPartition, 3, 3, "db-2", "db-2"), done: true, readyPods: 3},
		{name: "on delete, ready", s: sts(3, onDelete, 3, 0, "db-1", "db-2"), done: true, readyPods: 3},
		{name: "on delete, not ready", s: sts(3, onDelete, 2, 0, "db-1", "db-2"), message: "waiting for 1 pods to be ready..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := statefulSetRollout(tc.s, 0)
			if r.done != tc.done || r.message != tc.message || r.problem != nil || r.readyPods != tc.readyPods {
				t.Errorf("got done=%v %q %v %d ready pods, want done=%v %q %d", r.done, r.message, r.problem, r.readyPods, tc.done, tc.message, tc.readyPods)
			}
		})
	}
}

func TestDaemonSetRollout(t *testing.T) {
	t.Parallel()
	ds := func(strategy appsv1.DaemonSetUpdateStrategyType, observed int64, desired, updated, available int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: 2},
			Spec:       appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: strategy}},
			Status:     appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired, UpdatedNumberScheduled: updated, NumberAvailable: available},
		}
	}
	for _, tc := range []struct {
		name    string
		d       *appsv1.DaemonSet
		done    bool
		message string
	}{
		{name: "not observed", d: ds(appsv1.RollingUpdateDaemonSetStrategyType, 1, 2, 2, 2), message: specNotObserved},
		{name: "updating", d: ds(appsv1.RollingUpdateDaemonSetStrategyType, 2, 2, 1, 2), message: "waiting for rollout to finish: 1 out of 2 new pods have been updated..."},
		{name: "unavailable", d: ds(appsv1.RollingUpdateDaemonSetStrategyType, 2, 2, 2, 1), message: "waiting for rollout to finish: 1 of 2 updated pods are available..."},
		{name: "done", d: ds(appsv1.RollingUpdateDaemonSetStrategyType, 2, 2, 2, 2), done: true},
		{name: "no node", d: ds(appsv1.RollingUpdateDaemonSetStrategyType, 2, 0, 0, 0), done: true},
		{name: "on delete", d: ds(appsv1.OnDeleteDaemonSetStrategyType, 2, 2, 0, 2), done: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := daemonSetRollout(tc.d, 0)
			if r.done != tc.done || r.message != tc.message {
				t.Errorf("got done=%v %q, want done=%v %q", r.done, r.message, tc.done, tc.message)
			}
		})
	}
}

func TestJobRollout(t *testing.T) {
	t.Parallel()
	cond := func(typ batchv1.JobConditionType, reason string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: "Job has reached the specified backoff limit"}
	}
	for _, tc := range []struct {
		name    string
		j       batchv1.Job
		done    bool
		message string
		reason  string
	}{
		{name: "running", j: batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr(int32(3))}, Status: batchv1.JobStatus{Succeeded: 1}}, message: "waiting for job to complete: 1 of 3 succeeded..."},
		{name: "retrying", j: batchv1.Job{Spec: batchv1.JobSpec{BackoffLimit: ptr(int32(6))}, Status: batchv1.JobStatus{Failed: 2}}, message: "waiting for job to complete: 0 succeeded, 2 failed (backoffLimit 6)..."},
		{name: "complete", j: batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobComplete, "CompletionsReached")}}}, done: true},
		{name: "suspended", j: batchv1.Job{Spec: batchv1.JobSpec{Suspend: ptr(true)}}, done: true},
		{name: "failed", j: batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailed, "BackoffLimitExceeded")}}}, message: "failed", reason: ReasonJobFailed},
		{name: "failure target", j: batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailureTarget, "BackoffLimitExceeded")}}}, message: "failed", reason: ReasonJobFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := jobRollout(&tc.j)
			if r.done != tc.done || r.message != tc.message {
				t.Errorf("got done=%v %q, want done=%v %q", r.done, r.message, tc.done, tc.message)
			}
			checkProblem(t, r.problem, tc.reason, false)
			if r.problem != nil && r.problem.message != "the job failed: BackoffLimitExceeded: Job has reached the specified backoff limit" {
				t.Errorf("message %q", r.problem.message)
			}
		})
	}
}

func TestPodRollout(t *testing.T) {
	t.Parallel()
	ready := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	for _, tc := range []struct {
		name      string
		status    corev1.PodStatus
		done      bool
		readyPods int32
		message   string
	}{
		{name: "new", message: "waiting for pod to be ready (phase Pending)..."},
		{name: "running", status: corev1.PodStatus{Phase: corev1.PodRunning}, message: "waiting for pod to be ready (phase Running)..."},
		{name: "ready", status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{ready}}, done: true, readyPods: 1},
		{name: "succeeded", status: corev1.PodStatus{Phase: corev1.PodSucceeded}, done: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := podRollout(&corev1.Pod{Status: tc.status})
			if r.done != tc.done || r.message != tc.message || r.readyPods != tc.readyPods {
				t.Errorf("got done=%v %q %d ready pods, want done=%v %q %d", r.done, r.message, r.readyPods, tc.done, tc.message, tc.readyPods)
			}
		})
	}
}
