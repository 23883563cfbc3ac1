package status

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/internal/kube/typed"
)

// Indexes of the watched objects.
const (
	// byController indexes pods, ReplicaSets and ControllerRevisions by
	// the UID of the object that controls them.
	byController = "controller"
	// byObject indexes events by the UID of the object they are about.
	byObject = "object"
)

// A watcher keeps a copy, kept current by watches, of what the status
// check looks at in each namespace the workloads are in: the workloads,
// their pods and the objects between (ReplicaSets, ControllerRevisions),
// and Warning events.
type watcher struct {
	spaces map[string]*space
	// changed receives a value, without blocking, whenever a watched
	// object changes.
	changed chan struct{}
	// fatal receives the first error that waiting will not cure: access
	// to a kind is forbidden.
	fatal chan error

	wg sync.WaitGroup

	mu sync.Mutex
	// lastErr is the last error a watch met; watches retry, and the
	// deadline's error shows it.
	lastErr error
}

// A space is the watched objects of one namespace; an informer is nil
// when no workload in the namespace needs it.
type space struct {
	pods, replicaSets, revisions, events        cache.SharedIndexInformer
	deployments, statefulSets, daemonSets, jobs cache.SharedIndexInformer
}

// newWatcher prepares the informers that the workloads, by namespace and
// kind, need; start starts them.
func newWatcher(api typed.API, kinds map[string]map[kind]bool) (*watcher, error) {
	w := &watcher{
		spaces:  map[string]*space{},
		changed: make(chan struct{}, 1),
		fatal:   make(chan error, 1),
	}
	for ns, ks := range kinds {
		s := &space{pods: typed.NewInformer(api.Pods(ns), &corev1.Pod{}, nil)}
		if ks[kindDeployment] {
			s.deployments = typed.NewInformer(api.Deployments(ns), &appsv1.Deployment{}, nil)
			s.replicaSets = typed.NewInformer(api.ReplicaSets(ns), &appsv1.ReplicaSet{}, nil)
		}
		if ks[kindStatefulSet] {
			s.statefulSets = typed.NewInformer(api.StatefulSets(ns), &appsv1.StatefulSet{}, nil)
		}
		if ks[kindDaemonSet] {
			s.daemonSets = typed.NewInformer(api.DaemonSets(ns), &appsv1.DaemonSet{}, nil)
			s.revisions = typed.NewInformer(api.ControllerRevisions(ns), &appsv1.ControllerRevision{}, nil)
		}
		if ks[kindJob] {
			s.jobs = typed.NewInformer(api.Jobs(ns), &batchv1.Job{}, nil)
		}
		s.events = typed.NewInformer(api.Events(ns), &corev1.Event{}, func(o *metav1.ListOptions) {
			o.FieldSelector = "type=" + corev1.EventTypeWarning
		})
		if err := s.events.AddIndexers(cache.Indexers{byObject: eventObject}); err != nil {
			return nil, err
		}
		for _, inf := range s.all() {
			if err := inf.SetTransform(stripManagedFields); err != nil {
				return nil, err
			}
		}
		for _, inf := range []cache.SharedIndexInformer{s.pods, s.replicaSets, s.revisions} {
			if inf == nil {
				continue
			}
			if err := inf.AddIndexers(cache.Indexers{byController: controllerUID}); err != nil {
				return nil, err
			}
		}
		for _, inf := range s.all() {
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    func(any) { w.signal() },
				UpdateFunc: func(any, any) { w.signal() },
				DeleteFunc: func(any) { w.signal() },
			}); err != nil {
				return nil, err
			}
			if err := inf.SetWatchErrorHandlerWithContext(w.watchError(ns)); err != nil {
				return nil, err
			}
		}
		w.spaces[ns] = s
	}
	return w, nil
}

// all returns the space's informers.
func (s *space) all() []cache.SharedIndexInformer {
	var out []cache.SharedIndexInformer
	for _, inf := range []cache.SharedIndexInformer{s.pods, s.replicaSets, s.revisions, s.events, s.deployments, s.statefulSets, s.daemonSets, s.jobs} {
		if inf != nil {
			out = append(out, inf)
		}
	}
	return out
}

// start runs the informers until ctx ends and returns a channel that is
// closed once every one has listed its objects.
func (w *watcher) start(ctx context.Context) <-chan struct{} {
	var synced []cache.DoneChecker
	for _, s := range w.spaces {
		for _, inf := range s.all() {
			w.wg.Go(func() { inf.RunWithContext(ctx) })
			synced = append(synced, inf.HasSyncedChecker())
		}
	}
	ready := make(chan struct{})
	w.wg.Go(func() {
		// WaitFor, unlike WaitForCacheSync, does not poll.
		if cache.WaitFor(ctx, "", synced...) {
			close(ready)
			w.signal()
		}
	})
	return ready
}

// stop waits for the informers that start ran to end; the caller has
// ended their context.
func (w *watcher) stop() {
	w.wg.Wait()
}

func (w *watcher) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// watchError handles an error of a watch in namespace ns: one that
// retrying will not cure (no access) ends the check, the others are kept
// for the deadline's error while the watch retries.
func (w *watcher) watchError(ns string) cache.WatchErrorHandlerWithContext {
	return func(ctx context.Context, r *cache.Reflector, err error) {
		if ctx.Err() != nil {
			return
		}
		err = fmt.Errorf("watching %s in namespace %s: %w", r.TypeDescription(), ns, err)
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			select {
			case w.fatal <- err:
			default:
			}
			return
		}
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
	}
}

// lastError returns the last error a watch met.
func (w *watcher) lastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// stripManagedFields drops what the status check never reads.
func stripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func controllerUID(obj any) ([]string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func eventObject(obj any) ([]string, error) {
	if e, ok := obj.(*corev1.Event); ok {
		return []string{string(e.InvolvedObject.UID)}, nil
	}
	return nil, nil
}

// get returns the object ns/name of an informer.
func get[T any](inf cache.SharedIndexInformer, ns, name string) (T, bool) {
	var zero T
	if inf == nil {
		return zero, false
	}
	obj, ok, err := inf.GetIndexer().GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return zero, false
	}
	t, ok := obj.(T)
	return t, ok
}

// indexed returns the objects of an informer that an index files under uid.
func indexed[T any](inf cache.SharedIndexInformer, index string, uid types.UID) []T {
	if inf == nil {
		return nil
	}
	objs, err := inf.GetIndexer().ByIndex(index, string(uid))
	if err != nil {
		return nil
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// warningsAbout returns the Warning events about the object uid.
func (s *space) warningsAbout(uid types.UID) warnings {
	var out warnings
	for _, e := range indexed[*corev1.Event](s.events, byObject, uid) {
		if e.Type == corev1.EventTypeWarning {
			out = append(out, e)
		}
	}
	return out
}
