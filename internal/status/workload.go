package status

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// A kind of workload the status check waits for.
type kind string

const (
	kindDeployment  kind = "deployment"
	kindStatefulSet kind = "statefulset"
	kindDaemonSet   kind = "daemonset"
	kindJob         kind = "job"
	kindPod         kind = "pod"
)

// kindOf returns the workload kind of an applied object, or "" for the
// kinds the status check ignores.
func kindOf(u *unstructured.Unstructured) kind {
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Group == "apps" && gvk.Kind == "Deployment":
		return kindDeployment
	case gvk.Group == "apps" && gvk.Kind == "StatefulSet":
		return kindStatefulSet
	case gvk.Group == "apps" && gvk.Kind == "DaemonSet":
		return kindDaemonSet
	case gvk.Group == "batch" && gvk.Kind == "Job":
		return kindJob
	case gvk.Group == "" && gvk.Kind == "Pod":
		return kindPod
	}
	return ""
}

// A workload is one deployed object the status check waits for.
type workload struct {
	kind            kind
	namespace, name string
	// uid and generation are the applied object's: a controller must have
	// observed at least this generation of this object.
	uid        types.UID
	generation int64
	// label names it in output: "deployment/web", with "namespace:" in
	// front when the workloads span namespaces.
	label string
}

// minGeneration is the generation a controller must have observed of the
// live object with the given UID.
func (w *workload) minGeneration(uid types.UID) int64 {
	if uid == w.uid {
		return w.generation
	}
	return 0
}

// A verdict is a workload's state at one moment.
type verdict struct {
	ready bool
	// message says what the workload waits for, followed by lines about
	// its pods.
	message string
	// problem is what keeps the workload from becoming ready, if anything.
	problem *problem
	// quiet says that message is too brief a state to print.
	quiet bool
}

// maxPodNotes is how many pods a progress line tells about.
const maxPodNotes = 3

// judge returns the verdict on a workload from the watched objects;
// settled tells whether a ready pod has run long enough to be trusted.
func (s *space) judge(w *workload, settled func(*corev1.Pod) bool) verdict {
	switch w.kind {
	case kindDeployment:
		d, ok := get[*appsv1.Deployment](s.deployments, w.namespace, w.name)
		if !ok {
			return notFound(w)
		}
		var pods []*corev1.Pod
		if rs := newReplicaSet(d, indexed[*appsv1.ReplicaSet](s.replicaSets, byController, d.UID)); rs != nil {
			pods = indexed[*corev1.Pod](s.pods, byController, rs.UID)
		}
		return s.withPods(deploymentRollout(d, w.minGeneration(d.UID)), pods, settled)
	case kindStatefulSet:
		ss, ok := get[*appsv1.StatefulSet](s.statefulSets, w.namespace, w.name)
		if !ok {
			return notFound(w)
		}
		r := statefulSetRollout(ss, w.minGeneration(ss.UID))
		var pods []*corev1.Pod
		if r.message != specNotObserved {
			pods = indexed[*corev1.Pod](s.pods, byController, ss.UID)
			// OnDelete leaves the old pods running: they are current.
			if ss.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType {
				pods = withRevision(pods, ss.Status.UpdateRevision)
			}
		}
		return s.withPods(r, pods, settled)
	case kindDaemonSet:
		ds, ok := get[*appsv1.DaemonSet](s.daemonSets, w.namespace, w.name)
		if !ok {
			return notFound(w)
		}
		r := daemonSetRollout(ds, w.minGeneration(ds.UID))
		var pods []*corev1.Pod
		if r.message != specNotObserved {
			pods = indexed[*corev1.Pod](s.pods, byController, ds.UID)
			rev := newestRevision(indexed[*appsv1.ControllerRevision](s.revisions, byController, ds.UID))
			if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
				// OnDelete leaves the old pods running: they are current.
			} else if rev != nil {
				pods = withRevision(pods, rev.Labels[appsv1.DefaultDaemonSetUniqueLabelKey])
			} else {
				pods = nil
			}
		}
		return s.withPods(r, pods, settled)
	case kindJob:
		j, ok := get[*batchv1.Job](s.jobs, w.namespace, w.name)
		if !ok {
			return notFound(w)
		}
		return s.judgeJob(j, settled)
	default:
		p, ok := get[*corev1.Pod](s.pods, w.namespace, w.name)
		if !ok {
			return notFound(w)
		}
		if p.Status.Phase == corev1.PodFailed {
			f := podFailure(p)
			return verdict{message: f.summary(), problem: f}
		}
		return s.withPods(podRollout(p), []*corev1.Pod{p}, settled)
	}
}

func notFound(w *workload) verdict {
	return verdict{message: fmt.Sprintf("waiting for the %s to exist...", w.kind)}
}

// newReplicaSet returns the ReplicaSet of a Deployment's current pod
// template, as the Deployment controller finds it: the oldest whose
// template equals the Deployment's but for the pod-template-hash label.
func newReplicaSet(d *appsv1.Deployment, sets []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	slices.SortFunc(sets, func(a, b *appsv1.ReplicaSet) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	want := d.Spec.Template.DeepCopy()
	delete(want.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	for _, rs := range sets {
		got := rs.Spec.Template.DeepCopy()
		delete(got.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		if apiequality.Semantic.DeepEqual(want, got) {
			return rs
		}
	}
	return nil
}

// newestRevision returns a DaemonSet's current ControllerRevision, the one
// with the highest revision number (a rollback renumbers the old one).
func newestRevision(revs []*appsv1.ControllerRevision) *appsv1.ControllerRevision {
	var newest *appsv1.ControllerRevision
	for _, r := range revs {
		if newest == nil || r.Revision > newest.Revision {
			newest = r
		}
	}
	return newest
}

// withRevision keeps the pods of one controller revision: a StatefulSet's
// updateRevision, a DaemonSet's newest revision hash.
func withRevision(pods []*corev1.Pod, revision string) []*corev1.Pod {
	if revision == "" {
		return pods
	}
	return slices.DeleteFunc(pods, func(p *corev1.Pod) bool {
		return p.Labels[appsv1.ControllerRevisionHashLabelKey] != revision
	})
}

// withPods completes a rollout's verdict with what the workload's current
// pods show: their problems and notes. A rollout that looks done is ready
// once as many of its pods are ready and settled, and none has a problem
// that is not merely stuck.
func (s *space) withPods(r rollout, pods []*corev1.Pod, settled func(*corev1.Pod) bool) verdict {
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	var notes []string
	var problems []*problem
	var ready int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if podReady(p) {
			if settled(p) {
				ready++
			}
			continue
		}
		note, prob := diagnosePod(p, s.warningsAbout(p.UID))
		if note != "" {
			notes = append(notes, fmt.Sprintf("pod/%s: %s", p.Name, note))
		}
		if prob != nil {
			problems = append(problems, prob)
		}
	}
	if r.problem != nil {
		notes = append([]string{r.problem.summary()}, notes...)
	}
	v := verdict{message: r.message, problem: r.problem}
	if v.problem == nil {
		// A problem that fails at once comes before a stuck one.
		for _, p := range problems {
			if v.problem == nil || (v.problem.stuck && !p.stuck) {
				v.problem = p
			}
		}
	}
	if r.done && (v.problem == nil || v.problem.stuck) {
		// Waiting for the pods' news or for them to settle takes a moment
		// and needs no progress line.
		return verdict{
			ready:   ready >= r.readyPods,
			message: fmt.Sprintf("rolled out, waiting to see %d of its pods ready and running...", r.readyPods),
			quiet:   true,
		}
	}
	v.message = withNotes(v.message, notes)
	return v
}

// withNotes puts lines about pods under a workload's message.
func withNotes(message string, notes []string) string {
	if len(notes) > maxPodNotes {
		notes = append(notes[:maxPodNotes], fmt.Sprintf("and %d more pods", len(notes)-maxPodNotes))
	}
	for _, n := range notes {
		message += "\n    - " + n
	}
	return message
}

// judgeJob judges a Job by its conditions and its pods; a failed Job's
// problem tells of its newest failed pod.
func (s *space) judgeJob(j *batchv1.Job, settled func(*corev1.Pod) bool) verdict {
	r := jobRollout(j)
	pods := indexed[*corev1.Pod](s.pods, byController, j.UID)
	var lastFailed *corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodFailed && (lastFailed == nil || lastFailed.CreationTimestamp.Before(&p.CreationTimestamp)) {
			lastFailed = p
		}
	}
	var notes []string
	if lastFailed != nil {
		f := podFailure(lastFailed)
		if r.problem != nil {
			r.problem.pod, r.problem.container, r.problem.logs = f.pod, f.container, f.logs
			r.problem.message += "; last failed pod: " + f.message
		} else {
			notes = append(notes, fmt.Sprintf("pod/%s failed: %s", lastFailed.Name, f.message))
		}
	}
	v := s.withPods(r, pods, settled)
	if !v.ready {
		v.message = withNotes(v.message, notes)
	}
	return v
}
