package kubejob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/typed"
)

// cleanupTimeout bounds the deletion of a Job after its run, which goes
// on after Ctrl-C.
const cleanupTimeout = 30 * time.Second

// syncTimeout bounds the first list of the Job and its pods.
const syncTimeout = 30 * time.Second

// waitingFailures are the reasons a container waits that end the run: the
// cluster cannot pull its image or cannot make the container.
var waitingFailures = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"}

// Run runs job, made by Manifest (one container), on the cluster of cs:
// it creates the Job (after deleting a Job of the same name that skiff
// left behind), streams its container's log to out, and waits until the
// container ends or timeout (0: none) passes. A non-zero exit code, an image the
// cluster cannot pull, a pod the Job cannot create and a run longer than
// timeout are errors that say which. The Job and its pod are deleted
// afterwards, also when ctx ends (Ctrl-C).
func Run(ctx context.Context, api typed.API, job *batchv1.Job, timeout time.Duration, out io.Writer) (err error) {
	ns, name := job.Namespace, job.Name
	where := "Job " + ns + "/" + name
	container := job.Spec.Template.Spec.Containers[0].Name
	jobs := api.Jobs(ns)
	if err := removeLeftover(ctx, jobs, name, where); err != nil {
		return err
	}
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{FieldManager: kube.FieldManager})
	if err != nil {
		return fmt.Errorf("creating %s: %w", where, err)
	}
	selector := labels.SelectorFromSet(labels.Set{"job-name": name})
	if created.Spec.Selector != nil {
		if s, err := metav1.LabelSelectorAsSelector(created.Spec.Selector); err == nil {
			selector = s
		}
	}
	defer func() {
		if cerr := remove(ctx, api, created, selector); cerr != nil {
			err = errors.Join(err, fmt.Errorf("deleting %s after its run: %w; delete it with kubectl delete job -n %s %s", where, cerr, ns, name))
		}
	}()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if timeout > 0 {
		var cancelT context.CancelFunc
		runCtx, cancelT = context.WithTimeout(runCtx, timeout)
		defer cancelT()
	}
	w, err := watchJob(runCtx, api, created, selector)
	if err != nil {
		return timedOut(ctx, runCtx, container, timeout, fmt.Errorf("watching %s: %w", where, err))
	}
	// The log is read until the container ends; Run returns once it is
	// read, so nothing is written to out afterwards.
	var logDone chan struct{}
	var logErr error
	// said is the last reason to wait that was printed.
	var said string
	defer func() {
		if logDone != nil {
			cancel()
			<-logDone
		}
	}()
	for {
		st := w.state(container)
		if st.started && logDone == nil {
			logDone = make(chan struct{})
			go func() {
				defer close(logDone)
				logErr = streamLog(runCtx, api, ns, st.pod, container, out)
			}()
		}
		if st.failure != "" {
			return fmt.Errorf("%s: %s", where, st.failure)
		}
		if st.waiting != "" && st.waiting != said && logDone == nil {
			fmt.Fprintf(out, "(%s is waiting: %s)\n", where, st.waiting)
			said = st.waiting
		}
		if st.ended != nil {
			select {
			case <-logDone:
				if logErr != nil {
					fmt.Fprintf(out, "(the log of pod %s ended early: %v)\n", st.pod, logErr)
				}
			case <-runCtx.Done():
				return timedOut(ctx, runCtx, container, timeout, runCtx.Err())
			}
			if code := st.ended.ExitCode; code != 0 {
				return fmt.Errorf("%s exited with code %d in %s; its output is above", container, code, where)
			}
			return nil
		}
		select {
		case <-w.changed:
		case <-runCtx.Done():
			return timedOut(ctx, runCtx, container, timeout, runCtx.Err())
		}
	}
}

// timedOut is the error of a run that ended early: the timeout's when
// it passed, ctx's cause when ctx ended, else err.
func timedOut(ctx, runCtx context.Context, container string, timeout time.Duration, err error) error {
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case runCtx.Err() != nil:
		return fmt.Errorf("%s still ran after its timeout of %s; its Job was deleted", container, timeout)
	}
	return err
}

// removeLeftover deletes the Job called name that an earlier run of skiff
// left (killed before it could delete it) and waits until it is gone; a
// Job of that name that skiff did not make is an error.
func removeLeftover(ctx context.Context, jobs typed.Resource[*batchv1.Job, *batchv1.JobList], name, where string) error {
	old, err := jobs.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking for an earlier %s: %w", where, err)
	}
	if old.Labels[kube.ManagedByLabel] != kube.ManagedBy {
		return fmt.Errorf("%s exists and skiff did not create it; delete it or rename the test or container", where)
	}
	err = jobs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: new(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the %s an earlier run left: %w", where, err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(time.Minute); ; {
		_, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s an earlier run left is still there a minute after its deletion (%v); delete it with kubectl delete job", where, err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// remove deletes job and, at once, its pods, whose containers may still
// run after a timeout or Ctrl-C; it goes on when ctx has ended.
func remove(ctx context.Context, api typed.API, job *batchv1.Job, pods labels.Selector) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	err := api.Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: new(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: &job.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	pc := api.Pods(job.Namespace)
	list, err := pc.List(ctx, metav1.ListOptions{LabelSelector: pods.String()})
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range list.Items {
		err := pc.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting its pod %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// streamLog copies container's log in pod to out until the container ends.
func streamLog(ctx context.Context, api typed.API, ns, pod, container string, out io.Writer) error {
	rc, err := api.Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true}).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(out, rc)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// watcher follows a Job, its pods and its events; changed receives a
// value after each change.
type watcher struct {
	job     *batchv1.Job
	jobs    cache.Indexer
	pods    cache.Indexer
	events  cache.Indexer
	changed chan struct{}
}

// watchJob starts watching job, its pods (by selector) and the events
// about it, until ctx ends.
func watchJob(ctx context.Context, api typed.API, job *batchv1.Job, selector labels.Selector) (*watcher, error) {
	w := &watcher{job: job, changed: make(chan struct{}, 1)}
	poke := func() {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}
	jobs := typed.NewInformer(api.Jobs(job.Namespace), &batchv1.Job{}, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", job.Name).String()
	})
	pods := typed.NewInformer(api.Pods(job.Namespace), &corev1.Pod{}, func(o *metav1.ListOptions) { o.LabelSelector = selector.String() })
	events := typed.NewInformer(api.Events(job.Namespace), &corev1.Event{}, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("involvedObject.uid", string(job.UID)).String()
	})
	var synced []cache.InformerSynced
	for i, inf := range []cache.SharedIndexInformer{jobs, pods, events} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
		// The events only explain a pod that does not come; one who may
		// not read them still runs Jobs.
		if i < 2 {
			synced = append(synced, inf.HasSynced)
		}
	}
	w.jobs, w.pods, w.events = jobs.GetIndexer(), pods.GetIndexer(), events.GetIndexer()
	for _, inf := range []cache.SharedIndexInformer{jobs, pods, events} {
		go inf.RunWithContext(ctx)
	}
	wait, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), synced...) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("no answer from the cluster within %s to a watch of the Job and its pods (may you list and watch jobs and pods in namespace %s?)", syncTimeout, job.Namespace)
	}
	poke()
	return w, nil
}

// runState is where a Job's container stands.
type runState struct {
	// pod is the pod that runs the container; started says the container
	// has started, so that its log can be read.
	pod     string
	started bool
	// ended is the container's end, nil while it runs.
	ended *corev1.ContainerStateTerminated
	// failure says why the container cannot run or end well, when it
	// cannot.
	failure string
	// waiting says why the pod waits, when it may wait for ever: the
	// cluster has no node for it.
	waiting string
}

// state is where the container called container of the Job stands now.
func (w *watcher) state(container string) runState {
	var st runState
	var pod *corev1.Pod
	for _, o := range w.pods.List() {
		p := o.(*corev1.Pod)
		if pod == nil || p.CreationTimestamp.After(pod.CreationTimestamp.Time) {
			pod = p
		}
	}
	if pod != nil {
		st.pod = pod.Name
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name != container {
				continue
			}
			switch s := cs.State; {
			case s.Terminated != nil:
				st.started, st.ended = true, s.Terminated
				return st
			case s.Running != nil:
				st.started = true
			case s.Waiting != nil && slices.Contains(waitingFailures, s.Waiting.Reason):
				st.failure = fmt.Sprintf("container %s of pod %s cannot start: %s: %s (its image is %s: the cluster must be able to pull it; push it to a registry the cluster reads, e.g. skiff build --push)", container, pod.Name, s.Waiting.Reason, s.Waiting.Message, containerImage(pod, container))
				return st
			}
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				st.waiting = fmt.Sprintf("pod %s is unschedulable: %s", pod.Name, c.Message)
			}
		}
		if pod.Status.Phase == corev1.PodFailed {
			st.failure = fmt.Sprintf("pod %s failed before container %s ended: %s", pod.Name, container, podFailure(pod))
			return st
		}
	}
	if o, ok, _ := w.jobs.GetByKey(w.job.Namespace + "/" + w.job.Name); ok {
		for _, c := range o.(*batchv1.Job).Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				st.failure = fmt.Sprintf("the Job failed: %s: %s", c.Reason, c.Message)
				return st
			}
		}
	} else if !st.started {
		st.failure = "the Job was deleted before its container ran"
		return st
	}
	if pod == nil {
		for _, o := range w.events.List() {
			if e := o.(*corev1.Event); e.InvolvedObject.UID == w.job.UID && e.Reason == "FailedCreate" {
				st.failure = "the Job cannot create its pod: " + e.Message
				return st
			}
		}
	}
	return st
}

// containerImage is the image of pod's container called name.
func containerImage(pod *corev1.Pod, name string) string {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return c.Image
		}
	}
	return "unknown"
}

// podFailure says why pod failed: an init container's exit code, or the
// pod's reason and message.
func podFailure(pod *corev1.Pod) string {
	for _, cs := range pod.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("init container %s exited with code %d", cs.Name, t.ExitCode)
		}
	}
	if pod.Status.Reason == "" && pod.Status.Message == "" {
		return "the cluster gives no reason"
	}
	return pod.Status.Reason + ": " + pod.Status.Message
}
