package status

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// A rollout is how far a workload got, judged from its own status the way
// `kubectl rollout status` judges it.
type rollout struct {
	done bool
	// readyPods is how many pods of the current revision are ready when
	// the rollout is done: the pods are watched apart from the workload,
	// and their news can come later.
	readyPods int32
	// message says what the workload still waits for.
	message string
	// problem is a failure the workload's status reports itself.
	problem *problem
}

const specNotObserved = "waiting for spec update to be observed..."

// observed tells whether a controller has seen generation minGeneration of
// an object whose current generation is generation: Check runs right after
// an apply that the controller may not have seen yet.
func observed(observedGeneration, generation, minGeneration int64) bool {
	return observedGeneration >= max(generation, minGeneration)
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// deploymentRollout judges a Deployment as kubectl does: observed, every
// replica updated, no old replica left, every updated replica available.
func deploymentRollout(d *appsv1.Deployment, minGeneration int64) rollout {
	if !observed(d.Status.ObservedGeneration, d.Generation, minGeneration) {
		return rollout{message: specNotObserved}
	}
	var issue *problem
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded":
			issue = &problem{
				reason:  ReasonProgressDeadlineExceeded,
				message: fmt.Sprintf("the rollout made no progress for %ds (spec.progressDeadlineSeconds): %s", progressDeadline(d), c.Message),
				hint:    "the pods' events (kubectl describe pods) say what holds them up",
			}
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			issue = failedCreate(c.Message)
		}
	}
	want := replicas(d.Spec.Replicas)
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return rollout{message: fmt.Sprintf("waiting for rollout to finish: %d out of %d new replicas have been updated...", s.UpdatedReplicas, want), problem: issue}
	case s.Replicas > s.UpdatedReplicas:
		return rollout{message: fmt.Sprintf("waiting for rollout to finish: %d old replicas are pending termination...", s.Replicas-s.UpdatedReplicas), problem: issue}
	case s.AvailableReplicas < s.UpdatedReplicas:
		return rollout{message: fmt.Sprintf("waiting for rollout to finish: %d of %d updated replicas are available...", s.AvailableReplicas, s.UpdatedReplicas), problem: issue}
	}
	return rollout{done: true, readyPods: want}
}

func progressDeadline(d *appsv1.Deployment) int32 {
	if d.Spec.ProgressDeadlineSeconds == nil {
		return 600
	}
	return *d.Spec.ProgressDeadlineSeconds
}

// failedCreate is a controller's failure to create pods, which may clear
// (a quota freed by terminating pods), so it fails only when it lasts.
func failedCreate(message string) *problem {
	return &problem{
		reason:  ReasonFailedCreate,
		message: "the controller cannot create pods: " + message,
		hint:    "check the namespace's ResourceQuota and LimitRange, Pod Security admission and admission webhooks",
		stuck:   true,
	}
}

// statefulSetRollout judges a StatefulSet as kubectl does: observed, every
// replica ready, and the replicas above the partition updated. With the
// OnDelete strategy, which kubectl cannot follow, every replica ready.
func statefulSetRollout(s *appsv1.StatefulSet, minGeneration int64) rollout {
	if s.Status.ObservedGeneration == 0 || !observed(s.Status.ObservedGeneration, s.Generation, minGeneration) {
		return rollout{message: specNotObserved}
	}
	want := replicas(s.Spec.Replicas)
	if s.Status.ReadyReplicas < want {
		return rollout{message: fmt.Sprintf("waiting for %d pods to be ready...", want-s.Status.ReadyReplicas)}
	}
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return rollout{done: true, readyPods: want}
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition == nil {
			return rollout{done: true, readyPods: want}
		}
		updated := max(want-*ru.Partition, 0)
		if s.Status.UpdatedReplicas < updated {
			return rollout{message: fmt.Sprintf("waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", s.Status.UpdatedReplicas, updated)}
		}
		return rollout{done: true, readyPods: updated}
	}
	if s.Status.UpdateRevision != s.Status.CurrentRevision {
		return rollout{message: fmt.Sprintf("waiting for rolling update to complete %d pods at revision %s...", s.Status.UpdatedReplicas, s.Status.UpdateRevision)}
	}
	return rollout{done: true, readyPods: want}
}

// daemonSetRollout judges a DaemonSet as kubectl does: observed, a pod of
// the new template on every node that should run one, and all available.
// With the OnDelete strategy, every desired pod available.
func daemonSetRollout(d *appsv1.DaemonSet, minGeneration int64) rollout {
	if !observed(d.Status.ObservedGeneration, d.Generation, minGeneration) {
		return rollout{message: specNotObserved}
	}
	s := d.Status
	if d.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType && s.UpdatedNumberScheduled < s.DesiredNumberScheduled {
		return rollout{message: fmt.Sprintf("waiting for rollout to finish: %d out of %d new pods have been updated...", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)}
	}
	if s.NumberAvailable < s.DesiredNumberScheduled {
		return rollout{message: fmt.Sprintf("waiting for rollout to finish: %d of %d updated pods are available...", s.NumberAvailable, s.DesiredNumberScheduled)}
	}
	return rollout{done: true, readyPods: s.DesiredNumberScheduled}
}

// jobRollout judges a Job: done when complete (or suspended, as it will
// not run), failed when its Failed (or FailureTarget) condition is true.
func jobRollout(j *batchv1.Job) rollout {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return rollout{done: true}
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return rollout{message: "failed", problem: &problem{
				reason:  ReasonJobFailed,
				message: fmt.Sprintf("the job failed: %s: %s", c.Reason, c.Message),
				hint:    "fix what made its pods fail, then deploy again (a Job's pod template cannot change: the Job must be deleted to run again)",
			}}
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return rollout{done: true}
	}
	msg := fmt.Sprintf("waiting for job to complete: %d succeeded", j.Status.Succeeded)
	if j.Spec.Completions != nil {
		msg = fmt.Sprintf("waiting for job to complete: %d of %d succeeded", j.Status.Succeeded, *j.Spec.Completions)
	}
	if j.Status.Failed > 0 {
		msg += fmt.Sprintf(", %d failed", j.Status.Failed)
		if j.Spec.BackoffLimit != nil {
			msg += fmt.Sprintf(" (backoffLimit %d)", *j.Spec.BackoffLimit)
		}
	}
	return rollout{message: msg + "..."}
}

// podRollout judges a standalone pod: done when Ready or Succeeded.
func podRollout(p *corev1.Pod) rollout {
	if p.Status.Phase == corev1.PodSucceeded {
		return rollout{done: true}
	}
	if podReady(p) {
		return rollout{done: true, readyPods: 1}
	}
	phase := p.Status.Phase
	if phase == "" {
		phase = corev1.PodPending
	}
	return rollout{message: fmt.Sprintf("waiting for pod to be ready (phase %s)...", phase)}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
