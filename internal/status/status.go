// Package status waits, after a deploy, until the deployed workloads are
// healthy, and fails fast, saying what failed, why and what to do, when
// they cannot become healthy: Skaffold's status check, driven by watches.
package status

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/kube/typed"
	"skiff.dev/skiff/internal/output"
)

// DefaultDeadline is how long Check waits when Options.Deadline is 0, as
// Skaffold's statusCheckDeadlineSeconds defaults to.
const DefaultDeadline = 10 * time.Minute

// Options configure Check.
type Options struct {
	// Deadline bounds the whole check (statusCheckDeadlineSeconds);
	// DefaultDeadline when 0.
	Deadline time.Duration
	// TolerateFailures keeps waiting through failures until the deadline
	// (tolerateFailuresUntilDeadline) instead of failing at the first.
	TolerateFailures bool
	// Out receives the progress lines; nil discards them.
	Out io.Writer
	// Events receives a StatusCheckSubtaskEvent per resource when its
	// progress message changes, when it is ready and when it fails.
	Events *event.Bus
}

// timing holds the check's delays; tests shorten them.
type timing struct {
	// stuckGrace is how long a problem that may clear by itself (a pod no
	// node can run yet, a volume not mounted yet) lasts before it fails.
	stuckGrace time.Duration
	// settle is how long a progress message must stay before it is
	// printed, so that a quick rollout prints no line per step.
	settle time.Duration
	// readyHold is how long a container without a readiness or startup
	// probe must have been seen running before its pod counts as ready:
	// the kubelet counts it ready as soon as it runs, and tells that it
	// exited only at its next look, a second later on an idle node (its
	// relist period), later on a busy one.
	readyHold time.Duration
	// tick is how often the watched state is judged again although no
	// watch reported a change, for stuckGrace, settle and readyHold.
	tick time.Duration
}

var defaultTiming = timing{
	stuckGrace: 30 * time.Second,
	settle:     300 * time.Millisecond,
	readyHold:  2 * time.Second,
	tick:       100 * time.Millisecond,
}

// Check waits for the workloads among objs (as returned by server-side
// apply) to be ready: Deployments, StatefulSets and DaemonSets rolled out
// as `kubectl rollout status` sees it, Jobs complete, standalone Pods Ready
// or Succeeded, in all namespaces they are in. Other kinds are ignored.
//
// It watches the workloads and their pods, prints a line to opts.Out when
// a workload's state changes, and returns a *Error as soon as a pod of a
// workload's current revision fails in a way that waiting will not cure
// (an image that cannot be pulled, a container that keeps exiting, ...),
// unless opts.TolerateFailures, or when the deadline passes.
func Check(ctx context.Context, api typed.API, objs []*unstructured.Unstructured, opts Options) error {
	return check(ctx, api, objs, opts, defaultTiming)
}

func check(ctx context.Context, api typed.API, objs []*unstructured.Unstructured, opts Options, t timing) error {
	start := time.Now()
	ws := workloads(objs)
	if len(ws) == 0 {
		return nil
	}
	kinds := map[string]map[kind]bool{}
	for _, w := range ws {
		if kinds[w.namespace] == nil {
			kinds[w.namespace] = map[kind]bool{}
		}
		kinds[w.namespace][w.kind] = true
	}
	watcher, err := newWatcher(api, kinds)
	if err != nil {
		return fmt.Errorf("status check: %w", err)
	}
	c := &checker{
		api:          api,
		watcher:      watcher,
		out:          opts.Out,
		events:       opts.Events,
		timing:       t,
		tolerate:     opts.TolerateFailures,
		pending:      len(ws),
		stuckSince:   map[string]time.Time{},
		runningSince: map[string]time.Time{},
	}
	if c.out == nil {
		c.out = io.Discard
	}
	for _, w := range ws {
		c.tracked = append(c.tracked, &tracked{workload: w, last: verdict{message: "waiting for the cluster to answer..."}})
	}
	deadline := opts.Deadline
	if deadline <= 0 {
		deadline = DefaultDeadline
	}

	fmt.Fprintln(c.out, "Waiting for deployments to stabilize...")
	wctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		watcher.stop()
	}()
	synced := watcher.start(wctx)
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	tick := time.NewTicker(t.tick)
	defer tick.Stop()
	ready := false
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("status check cancelled: %w", context.Cause(ctx))
		case <-timeout.C:
			return c.deadlineError(ctx, deadline)
		case err := <-watcher.fatal:
			return fmt.Errorf("status check: %w; skiff needs to list and watch the workloads, their pods and events", err)
		case <-synced:
			ready, synced = true, nil
		case <-watcher.changed:
		case <-tick.C:
		}
		if !ready {
			continue
		}
		if err := c.judge(ctx, time.Now()); err != nil {
			return err
		}
		if c.pending == 0 {
			fmt.Fprintf(c.out, "Deployments stabilized in %s\n", output.Duration(time.Since(start)))
			return nil
		}
	}
}

// workloads picks the workloads among the applied objects, once each, in
// their order.
func workloads(objs []*unstructured.Unstructured) []*workload {
	var ws []*workload
	seen := map[string]bool{}
	namespaces := map[string]bool{}
	for _, o := range objs {
		k := kindOf(o)
		if k == "" {
			continue
		}
		ns := o.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		key := ns + "/" + string(k) + "/" + o.GetName()
		if seen[key] {
			continue
		}
		seen[key] = true
		namespaces[ns] = true
		ws = append(ws, &workload{kind: k, namespace: ns, name: o.GetName(), uid: o.GetUID(), generation: o.GetGeneration()})
	}
	for _, w := range ws {
		w.label = string(w.kind) + "/" + w.name
		if len(namespaces) > 1 {
			w.label = w.namespace + ":" + w.label
		}
	}
	return ws
}

// A checker judges the tracked workloads each time the watched state
// changes.
type checker struct {
	api      typed.API
	watcher  *watcher
	out      io.Writer
	events   *event.Bus
	timing   timing
	tolerate bool
	tracked  []*tracked
	pending  int
	// stuckSince is when each stuck problem, by workload, pod and
	// reason, was first seen.
	stuckSince map[string]time.Time
	// runningSince is when each run of a container without a readiness
	// or startup probe was first seen running.
	runningSince map[string]time.Time
}

// tracked is a workload and what the check knows of it.
type tracked struct {
	*workload
	done bool
	last verdict
	// message is the current progress message, since when it is, and
	// printed the last one printed.
	message, printed string
	since            time.Time
}

// judge judges every pending workload: it reports those that became
// ready, returns the first failure, and prints progress.
func (c *checker) judge(ctx context.Context, now time.Time) error {
	seen := map[string]bool{}
	for _, t := range c.tracked {
		if t.done {
			continue
		}
		v := c.watcher.spaces[t.namespace].judge(t.workload, func(p *corev1.Pod) bool { return c.settled(p, now) })
		t.last = v
		if v.ready {
			t.done = true
			c.pending--
			still := ""
			if c.pending > 0 {
				still = fmt.Sprintf(" [%d/%d deployment(s) still pending]", c.pending, len(c.tracked))
			}
			fmt.Fprintf(c.out, " - %s is ready.%s\n", t.label, still)
			c.events.Publish(resourceEvent(t.label, event.Succeeded, "ready", nil))
			continue
		}
		if p := v.problem; p != nil && !c.tolerate {
			key := t.label + "\x00" + p.pod + "\x00" + p.reason
			seen[key] = true
			since, ok := c.stuckSince[key]
			if !ok {
				since = now
				c.stuckSince[key] = now
			}
			if !p.stuck || now.Sub(since) >= c.timing.stuckGrace {
				err := c.failure(ctx, t, p)
				c.events.Publish(resourceEvent(t.label, event.Failed, p.message, err))
				return err
			}
		}
		if v.quiet {
			continue
		}
		if v.message != t.message {
			t.message, t.since = v.message, now
		}
		if t.message != t.printed && now.Sub(t.since) >= c.timing.settle {
			fmt.Fprintf(c.out, " - %s: %s\n", t.label, t.message)
			c.events.Publish(resourceEvent(t.label, event.InProgress, t.message, nil))
			t.printed = t.message
		}
	}
	for key := range c.stuckSince {
		if !seen[key] {
			delete(c.stuckSince, key)
		}
	}
	return nil
}

// resourceEvent is the StatusCheckSubtaskEvent of the resource label
// ("deployment/web") in status, with its message and error.
func resourceEvent(label, status, message string, err error) event.Event {
	return event.Event{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{ID: label, TaskID: "StatusCheck", Resource: label, Status: status, Message: message, ActionableErr: event.Err(err)}}
}

// settled tells whether a ready pod has run long enough to be trusted:
// each of its containers without a readiness or startup probe has been
// running for readyHold, by the node's clock (which has seconds only) or
// by the check's.
func (c *checker) settled(p *corev1.Pod, now time.Time) bool {
	probed := map[string]bool{}
	for _, ct := range p.Spec.Containers {
		probed[ct.Name] = ct.ReadinessProbe != nil || ct.StartupProbe != nil
	}
	ok := true
	for _, s := range p.Status.ContainerStatuses {
		if probed[s.Name] || s.State.Running == nil || now.Sub(s.State.Running.StartedAt.Time) >= c.timing.readyHold+time.Second {
			continue
		}
		key := fmt.Sprintf("%s/%s/%d", p.UID, s.Name, s.RestartCount)
		first, seen := c.runningSince[key]
		if !seen {
			first = now
			c.runningSince[key] = now
		}
		if now.Sub(first) < c.timing.readyHold {
			ok = false
		}
	}
	return ok
}

// failure turns a workload's problem into the error Check returns, with
// the failing container's last log lines.
func (c *checker) failure(ctx context.Context, t *tracked, p *problem) *Error {
	e := &Error{
		Resource:  t.label,
		Namespace: t.namespace,
		Pod:       p.pod,
		Container: p.container,
		Reason:    p.reason,
		Message:   p.message,
		Hint:      p.hint,
	}
	if p.logs != nil {
		e.LogLines = lastLogLines(ctx, c.api, p.logs)
	}
	return e
}

// deadlineError lists the workloads that were not ready in time and their
// last status, and publishes each as Failed.
func (c *checker) deadlineError(ctx context.Context, deadline time.Duration) *Error {
	e := &Error{
		Reason:  ReasonDeadlineExceeded,
		Message: fmt.Sprintf("%d of %d resources were not ready within %s", c.pending, len(c.tracked), deadline),
		Hint:    "if they only need longer, raise deploy.statusCheckDeadlineSeconds; otherwise fix what their status shows",
	}
	if err := c.watcher.lastError(); err != nil {
		e.Message += fmt.Sprintf(" (the last error watching the cluster: %v)", err)
	}
	for _, t := range c.tracked {
		if t.done {
			continue
		}
		u := &Error{Resource: t.label, Namespace: t.namespace, Message: t.last.message}
		if p := t.last.problem; p != nil {
			u = c.failure(ctx, t, p)
		}
		e.Unready = append(e.Unready, u)
		c.events.Publish(resourceEvent(t.label, event.Failed, "not ready within "+deadline.String()+": "+u.Message, u))
	}
	return e
}
