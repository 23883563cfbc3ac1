package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/kube/typed"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/output"
)

// Log prefixes, as Skaffold's deploy.logs.prefix names them.
const (
	// LogPrefixAuto is "[pod container]", or "[container]" when the pod
	// has the container's name. It is the default.
	LogPrefixAuto = "auto"
	// LogPrefixContainer is "[container]".
	LogPrefixContainer = "container"
	// LogPrefixPodAndContainer is "[pod container]".
	LogPrefixPodAndContainer = "podAndContainer"
	// LogPrefixNone prints lines as the container wrote them.
	LogPrefixNone = "none"
)

// LogOptions says whose logs a LogTailer streams and how it prints them.
type LogOptions struct {
	// Namespaces are the namespaces whose pods are followed.
	Namespaces []string
	// Selector picks the pods; nil means every pod in the namespaces.
	Selector labels.Selector
	// Color colours each pod's prefix; the caller decides, from whether
	// the output is a terminal.
	Color bool
	// Since drops lines written before it (to the second, as the API
	// server filters); zero means each container's whole log.
	Since time.Time
	// Prefix is one of the LogPrefix values; empty means LogPrefixAuto.
	Prefix string
	// Log receives warnings about streams that fail; nil drops them.
	Log *log.Logger
	// Events receives an ApplicationLogEvent per line printed, and a
	// PodEvent per change of a pod's phase, readiness, restarts or
	// waiting reason; nil: none.
	Events *event.Bus
	// Pods, when set, is told of each change of a pod followed, deleted
	// once it is being deleted or gone (skiff debug's debugging
	// containers). It must not block.
	Pods func(pod *corev1.Pod, deleted bool)
}

// LogTailer streams the logs of every container (init and ephemeral
// containers too) of the pods LogOptions selects, as they appear and
// restart, one whole prefixed line at a time.
type LogTailer struct {
	api  typed.API
	out  *output.Lines
	opts LogOptions
	// openLogs opens a container's log; tests replace it.
	openLogs func(ctx context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error)
	// settleTimeout bounds how long a stream that ended waits for the pod's
	// status to say whether its container stopped.
	settleTimeout time.Duration

	mu        sync.Mutex
	started   bool
	stopped   bool
	cancel    context.CancelFunc
	informers typed.Informers
	tracked   map[string]bool           // container IDs already streamed
	colors    map[types.UID]int         // pod -> index in logColors
	pods      map[string]event.PodEvent // namespace/name -> the last PodEvent published
	wg        sync.WaitGroup
}

// NewLogTailer returns a LogTailer writing to out; Start begins streaming.
func NewLogTailer(api typed.API, out io.Writer, opts LogOptions) *LogTailer {
	t := &LogTailer{
		api:           api,
		out:           output.NewLines(out),
		opts:          opts,
		settleTimeout: 5 * time.Second,
		tracked:       map[string]bool{},
		colors:        map[types.UID]int{},
		pods:          map[string]event.PodEvent{},
	}
	t.openLogs = func(ctx context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
		return api.Pods(namespace).GetLogs(pod, o).Stream(ctx)
	}
	return t
}

// Start watches the pods and streams their containers' logs until ctx ends
// or Stop is called. It returns once the pods that already exist are
// known, or with an error when they cannot be listed.
func (t *LogTailer) Start(ctx context.Context) error {
	switch t.opts.Prefix {
	case "", LogPrefixAuto, LogPrefixContainer, LogPrefixPodAndContainer, LogPrefixNone:
	default:
		return fmt.Errorf("log prefix %q is not one of auto, container, podAndContainer, none", t.opts.Prefix)
	}
	if len(t.opts.Namespaces) == 0 {
		return errors.New("tailing logs: no namespace to follow pods in")
	}
	selector := labels.Everything()
	if t.opts.Selector != nil {
		selector = t.opts.Selector
	}
	// An informer retries a failed list for ever; one list up front turns
	// a missing permission into an error.
	for _, ns := range t.opts.Namespaces {
		_, err := t.api.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String(), Limit: 1})
		if err != nil {
			return fmt.Errorf("tailing logs: listing pods in namespace %s: %w", ns, err)
		}
	}

	t.mu.Lock()
	if t.started || t.stopped {
		t.mu.Unlock()
		return errors.New("tailing logs: a LogTailer starts only once")
	}
	t.started = true
	ctx, t.cancel = context.WithCancel(ctx)
	var synced []cache.InformerSynced
	for _, ns := range t.opts.Namespaces {
		inf := typed.NewInformer(t.api.Pods(ns), &corev1.Pod{}, func(o *metav1.ListOptions) { o.LabelSelector = selector.String() })
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { t.podChanged(ctx, obj) },
			UpdateFunc: func(_, obj any) { t.podChanged(ctx, obj) },
			DeleteFunc: t.podDeleted,
		}); err != nil {
			t.mu.Unlock()
			t.Stop()
			return fmt.Errorf("tailing logs in namespace %s: %w", ns, err)
		}
		t.informers.Run(ctx, inf)
		synced = append(synced, inf.HasSynced)
	}
	t.mu.Unlock()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("tailing logs: %w", context.Cause(ctx))
	}
	return nil
}

// Stop ends every stream and waits for them, printing a last line that
// had no newline yet. It may be called more than once, and without Start.
func (t *LogTailer) Stop() {
	t.mu.Lock()
	t.stopped = true
	if t.cancel != nil {
		t.cancel()
	}
	t.mu.Unlock()
	t.informers.Wait()
	t.wg.Wait()
}

// podChanged starts a stream for each container instance of pod not seen
// before. A restarted container has a new ID, so it gets a new stream. A
// pod being deleted gets no new streams: first seen then, it is left from
// an earlier run (dev's Ctrl-C does not wait for pods to stop), and its
// logs are not this one's.
func (t *LogTailer) podChanged(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || ctx.Err() != nil {
		return
	}
	if t.opts.Pods != nil {
		t.opts.Pods(pod, pod.DeletionTimestamp != nil)
	}
	t.publishPod(podEvent(pod, pod.DeletionTimestamp != nil))
	if pod.DeletionTimestamp != nil {
		return
	}
	for _, st := range containerStatuses(pod) {
		// No ID yet: the container is waiting to be created (its image
		// pulling, say); a later update brings the ID.
		if st.ContainerID == "" || t.tracked[st.ContainerID] {
			continue
		}
		t.tracked[st.ContainerID] = true
		s := &containerStream{
			namespace: pod.Namespace,
			pod:       pod.Name,
			container: st.Name,
			id:        st.ContainerID,
			w:         t.out.Prefixed(t.prefix(pod, st.Name)),
			events:    t.opts.Events,
		}
		t.wg.Add(1)
		go t.stream(ctx, s, pod.DeepCopy())
	}
}

// podDeleted publishes that a pod is gone.
func (t *LogTailer) podDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		if t.opts.Pods != nil {
			t.opts.Pods(pod, true)
		}
		t.publishPod(podEvent(pod, true))
	}
}

// publishPod publishes e when it differs from the pod's last one; t.mu
// is held.
func (t *LogTailer) publishPod(e event.PodEvent) {
	if t.opts.Events == nil {
		return
	}
	key := e.Namespace + "/" + e.PodName
	if last, ok := t.pods[key]; ok && last == e {
		return
	}
	if e.Deleted {
		delete(t.pods, key) // a pod of the same name may come back
	} else {
		t.pods[key] = e
	}
	t.opts.Events.Publish(event.Event{PodEvent: &e})
}

// podEvent is the PodEvent of pod's state.
func podEvent(pod *corev1.Pod, deleted bool) event.PodEvent {
	e := event.PodEvent{PodName: pod.Name, Namespace: pod.Namespace, Phase: string(pod.Status.Phase), Deleted: deleted}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			e.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, st := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		e.Restarts += st.RestartCount
		if w := st.State.Waiting; w != nil && e.Reason == "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			e.Reason = w.Reason
		}
	}
	return e
}

// containerStatuses lists the statuses of all of pod's containers.
func containerStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses)
}

// logColors are the prefix colours, in the order Skaffold hands them out:
// bright red, green, yellow, blue, magenta, then red, green, yellow, blue,
// magenta and bright cyan.
var logColors = []string{"91", "92", "93", "94", "95", "31", "32", "33", "34", "35", "96"}

// prefix is what goes in front of each line of container in pod; t.mu is
// held.
func (t *LogTailer) prefix(pod *corev1.Pod, container string) string {
	p := logPrefix(t.opts.Prefix, pod.Name, container)
	if p == "" {
		return ""
	}
	if !t.opts.Color {
		return p + " "
	}
	i, ok := t.colors[pod.UID]
	if !ok {
		i = len(t.colors) % len(logColors)
		t.colors[pod.UID] = i
	}
	return "\x1b[" + logColors[i] + "m" + p + "\x1b[0m "
}

// logPrefix is Skaffold's prefix for a line of container in pod, without
// colour or the space after it.
func logPrefix(mode, pod, container string) string {
	switch mode {
	case LogPrefixNone:
		return ""
	case LogPrefixContainer:
		return "[" + container + "]"
	case LogPrefixPodAndContainer:
		return "[" + pod + " " + container + "]"
	default:
		if pod == container {
			return "[" + container + "]"
		}
		return "[" + pod + " " + container + "]"
	}
}

// containerStream is the log of one container instance (one container ID)
// and where printing it has got to.
type containerStream struct {
	namespace, pod, container, id string
	w                             *output.PrefixWriter
	events                        *event.Bus

	// newest is the latest timestamp printed, recent the timestamps
	// printed that are at most a second or two older: what a stream that
	// resumes from newest's second sends again.
	newest  time.Time
	recent  []time.Time
	pruneAt int
	// skip is how many lines of the current stream were printed already.
	skip int
	// resumed is set when the current stream repeats the tail of an
	// earlier one.
	resumed bool
	// partial is a last line without a newline yet.
	partial []byte
}

// instance says what a pod's status says of one container instance.
type instance int

const (
	instanceGone     instance = iota // no longer known: its log is gone too
	instanceRunning                  // the container's current instance, running
	instanceStopped                  // the current instance, terminated for good
	instancePrevious                 // the instance before the current one
)

func instanceOf(pod *corev1.Pod, container, id string) instance {
	for _, st := range containerStatuses(pod) {
		if st.Name != container {
			continue
		}
		switch {
		case st.ContainerID == id && st.State.Running != nil:
			return instanceRunning
		case st.ContainerID == id && st.State.Terminated != nil:
			return instanceStopped
		case st.LastTerminationState.Terminated != nil && st.LastTerminationState.Terminated.ContainerID == id:
			return instancePrevious
		}
	}
	return instanceGone
}

// stream prints one container instance's log: it follows it while the
// container runs and, when the stream ends, reads what the stream may have
// missed before the container stopped, or resumes a stream that dropped.
func (t *LogTailer) stream(ctx context.Context, s *containerStream, pod *corev1.Pod) {
	defer t.wg.Done()
	defer s.flush()
	failures := 0
	for ctx.Err() == nil {
		state := instanceOf(pod, s.container, s.id)
		if state == instanceGone {
			return
		}
		o := &corev1.PodLogOptions{
			Container:  s.container,
			Follow:     state == instanceRunning,
			Previous:   state == instancePrevious,
			Timestamps: true,
		}
		if since := s.resumeFrom(); !since.IsZero() {
			o.SinceTime = &metav1.Time{Time: since}
		} else if !t.opts.Since.IsZero() {
			o.SinceTime = &metav1.Time{Time: t.opts.Since}
		}
		err := t.copyLog(ctx, s, o)
		if ctx.Err() != nil {
			return
		}
		if apierrors.IsNotFound(err) {
			// The pod may have been deleted, as a rollout or a Ctrl-C
			// cleanup deletes pods: then its log is over, with nothing
			// to warn about.
			if pod = t.settle(ctx, s, false); pod == nil {
				return
			}
		}
		if err != nil {
			failures++
			if state != instanceRunning && failures == 5 {
				t.warn("logs of container %s of pod %s in namespace %s: %v; giving up on this stopped container's log", s.container, s.pod, s.namespace, err)
				return
			}
			if failures == 1 {
				t.warn("logs of container %s of pod %s in namespace %s: %v; retrying", s.container, s.pod, s.namespace, err)
			}
			if !sleep(ctx, min(time.Duration(failures)*time.Second, 5*time.Second)) {
				return
			}
		} else {
			failures = 0
		}
		if state != instanceRunning && err == nil {
			return // the whole log of a stopped container is printed
		}
		// A follow stream ends when its container stops, or when the
		// connection drops. The pod's status tells which, once the kubelet
		// has reported the stop: wait for that a little.
		pod = t.settle(ctx, s, err == nil)
		if pod == nil {
			return
		}
	}
}

// settle fetches the pod until its status no longer shows s's container
// running or, after a stream failed (clean is false), once. It returns nil
// when the pod is gone or ctx ends.
func (t *LogTailer) settle(ctx context.Context, s *containerStream, clean bool) *corev1.Pod {
	deadline := time.Now().Add(t.settleTimeout)
	for {
		pod, err := t.api.Pods(s.namespace).Get(ctx, s.pod, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err == nil && (!clean || instanceOf(pod, s.container, s.id) != instanceRunning || time.Now().After(deadline)):
			return pod
		case err != nil && ctx.Err() != nil:
			return nil
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func (t *LogTailer) warn(format string, args ...any) {
	t.opts.Log.Warnf(format, args...)
}

// copyLog reads one log stream to its end, printing the lines not printed
// before.
func (t *LogTailer) copyLog(ctx context.Context, s *containerStream, o *corev1.PodLogOptions) error {
	rc, err := t.openLogs(ctx, s.namespace, s.pod, o)
	if err != nil {
		return err
	}
	defer rc.Close()
	// A line cut short by the end of the last stream comes again whole.
	s.partial = nil
	r := bufio.NewReaderSize(rc, 32<<10)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			s.partial = line
			if err == io.EOF {
				return nil
			}
			return err
		}
		s.line(line)
	}
}

// resumeFrom returns where a new stream of s starts so that it misses
// nothing: the second of the newest line printed. It sets s.skip to the
// number of lines from then on that were printed already. Zero means
// nothing was printed yet.
func (s *containerStream) resumeFrom() time.Time {
	if s.newest.IsZero() {
		return time.Time{}
	}
	// The server drops lines older than the time it is given, line by line,
	// in the log's order: the lines it sends again are those printed at
	// or after that time, first.
	since := s.newest.Truncate(time.Second)
	s.skip = 0
	for _, ts := range s.recent {
		if !ts.Before(since) {
			s.skip++
		}
	}
	s.resumed = true
	return since
}

// line handles one line of a stream, "TIMESTAMP message\n".
func (s *containerStream) line(raw []byte) {
	ts, msg, ok := splitTimestamp(raw)
	if s.resumed {
		s.resumed = false
		if !ok {
			// The tail of a long line whose start is older than the resume
			// point: the server sends it without a timestamp.
			return
		}
	}
	if s.skip > 0 {
		s.skip--
		return
	}
	if ok {
		s.printed(ts)
	}
	s.w.Write(msg)
	s.events.Publish(event.Event{ApplicationLogEvent: &event.ApplicationLogEvent{PodName: s.pod, ContainerName: s.container, Message: string(msg)}})
}

// printed records the timestamp of a printed line.
func (s *containerStream) printed(ts time.Time) {
	if ts.After(s.newest) {
		s.newest = ts
	}
	s.recent = append(s.recent, ts)
	if len(s.recent) >= max(256, s.pruneAt) {
		// Keep what a resume can ask for again: the newest line's second.
		keep := s.newest.Add(-2 * time.Second)
		s.recent = slices.DeleteFunc(s.recent, func(t time.Time) bool { return t.Before(keep) })
		s.pruneAt = 2 * len(s.recent)
	}
}

// flush prints a last line that has no newline, unless it is the
// kubelet's word that the container is gone (removedText).
func (s *containerStream) flush() {
	if len(s.partial) > 0 && string(s.partial) != removedText(s.id) {
		s.line(append(s.partial, '\n'))
	}
	s.partial = nil
	s.w.Flush()
}

// removedText is what the kubelet sends as the whole log of container id
// once the runtime no longer has it (a rollout removed its pod), with the
// status OK that it had sent before it looked: the text is not the
// container's, and comes without a timestamp or a newline.
func removedText(id string) string { return "unable to retrieve container logs for " + id }

// splitTimestamp splits the timestamp the server put in front of a line
// (timestamps=true) from the line.
func splitTimestamp(raw []byte) (time.Time, []byte, bool) {
	i := bytes.IndexByte(raw, ' ')
	if i < 0 {
		return time.Time{}, raw, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(raw[:i]))
	if err != nil {
		return time.Time{}, raw, false
	}
	return ts, raw[i+1:], true
}
