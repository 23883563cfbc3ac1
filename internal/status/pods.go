package status

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A problem is a failure seen in a workload or in one of its pods.
type problem struct {
	reason, message, hint string
	pod, container        string
	// logs names the container whose last lines explain the problem.
	logs *logSource
	// stuck problems can clear by themselves (a volume still being
	// provisioned, resources that terminating pods will free), so they fail
	// only once they have lasted a while.
	stuck bool
}

// summary is the problem on one line, as a progress line shows it.
func (p *problem) summary() string {
	return p.reason + ": " + p.message
}

// logSource is a container whose log explains a failure.
type logSource struct {
	namespace, pod, container string
	// previous asks for the log of the container's previous run, which
	// ended; the current one is waiting to restart.
	previous bool
}

// Kubelet reasons for a container waiting to be created or started.
var (
	imagePullReasons = map[string]bool{
		"ErrImagePull":              true,
		"ImagePullBackOff":          true,
		"ErrImageNeverPull":         true,
		"RegistryUnavailable":       true,
		"SignatureValidationFailed": true,
		"ErrImageInspect":           true,
	}
	createReasons = map[string]bool{
		"CreateContainerConfigError": true,
		"CreateContainerError":       true,
		"RunContainerError":          true,
		"PreCreateHookError":         true,
		"PreStartHookError":          true,
		"PostStartHookError":         true,
	}
	// startFailures are the reasons of a container that ran no program.
	startFailures = map[string]bool{"StartError": true, "ContainerCannotRun": true}
	// missingConfig matches the kubelet's message for a volume of a
	// ConfigMap or Secret that does not exist.
	missingConfig = regexp.MustCompile(`\b(configmap|secret) "[^"]*" not found`)
	// pendingReasons are the Warning events that explain a pod stuck in
	// phase Pending; others (MissingClusterDNS, ...) are noise there.
	pendingReasons = map[string]bool{
		"FailedCreatePodSandBox": true,
		"FailedAttachVolume":     true,
		"NetworkNotReady":        true,
		"FailedSync":             true,
	}
)

// warnings are the latest Warning events about one pod.
type warnings []*corev1.Event

// latest returns the newest event with the given reason about the given
// container ("" for any container, or the pod itself) whose message
// starts with one of prefixes (any message when there is none).
func (w warnings) latest(reason, container string, prefixes ...string) *corev1.Event {
	var found *corev1.Event
	for _, e := range w {
		if e.Reason != reason || (container != "" && !aboutContainer(e, container)) {
			continue
		}
		if len(prefixes) > 0 && !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(e.Message, p) }) {
			continue
		}
		if found == nil || eventTime(e).After(eventTime(found)) {
			found = e
		}
	}
	return found
}

func aboutContainer(e *corev1.Event, container string) bool {
	fp := e.InvolvedObject.FieldPath
	return fp == "spec.containers{"+container+"}" || fp == "spec.initContainers{"+container+"}"
}

// diagnosePod looks at a pod of a workload's current revision that is not
// ready. It returns a note for the progress line ("" when nothing is worth
// saying) and the problem that keeps the pod from becoming ready, if any.
func diagnosePod(pod *corev1.Pod, w warnings) (string, *problem) {
	if p := unschedulable(pod); p != nil {
		return p.summary(), p
	}
	statuses := containerStatuses(pod)
	for _, s := range statuses {
		if p := containerProblem(pod, s, w); p != nil {
			p.pod = pod.Name
			if p.container == "" {
				p.container = s.status.Name
			}
			return p.summary(), p
		}
	}
	// A mount that failed once (a cache not synced yet) may have worked
	// on the kubelet's retry; one that keeps failing is repeated. A
	// missing ConfigMap or Secret stays missing, as it does for env; a
	// volume may still be provisioned or attached.
	if e := w.latest("FailedMount", ""); e != nil && eventCount(e) > 1 && pod.Status.Phase == corev1.PodPending {
		msg := oneLine(e.Message)
		p := &problem{
			reason:  ReasonFailedMount,
			message: "a volume cannot be mounted: " + msg,
			hint:    "create the ConfigMap, Secret or PersistentVolumeClaim the volume refers to, or fix the volume",
			pod:     pod.Name,
			stuck:   !missingConfig.MatchString(msg),
		}
		return p.summary(), p
	}
	if e := w.latest("Unhealthy", ""); e != nil {
		return oneLine(e.Message), nil
	}
	for _, s := range statuses {
		if n := containerNote(s.status); n != "" {
			return n, nil
		}
	}
	if pod.Status.Phase == corev1.PodPending {
		var last *corev1.Event
		for _, e := range w {
			if pendingReasons[e.Reason] && (last == nil || eventTime(e).After(eventTime(last))) {
				last = e
			}
		}
		if last != nil {
			return last.Reason + ": " + oneLine(last.Message), nil
		}
	}
	return "", nil
}

// eventCount is how often an event happened.
func eventCount(e *corev1.Event) int32 {
	if e.Series != nil {
		return max(e.Count, e.Series.Count)
	}
	return e.Count
}

// eventTime is when an event was last seen.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// unschedulable reports the scheduler's reason a pod has no node. It may
// clear (terminating pods free resources, a volume gets bound), so it is
// a stuck problem.
func unschedulable(pod *corev1.Pod) *problem {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return &problem{
				reason:  ReasonUnschedulable,
				message: "no node can run the pod: " + oneLine(c.Message),
				hint:    "lower the pod's resources.requests, fix its nodeSelector, affinity, tolerations or volumes, or add nodes",
				pod:     pod.Name,
				stuck:   true,
			}
		}
	}
	return nil
}

// A containerStatus is a container's status with what the pod says of how
// it restarts.
type containerStatus struct {
	status corev1.ContainerStatus
	// restarts tells whether the kubelet restarts the container when it
	// exits (restartPolicy Always or OnFailure, or a sidecar).
	restarts bool
}

// containerStatuses lists the init containers' statuses, then the others'.
func containerStatuses(pod *corev1.Pod) []containerStatus {
	restarts := pod.Spec.RestartPolicy != corev1.RestartPolicyNever
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	var out []containerStatus
	for _, s := range pod.Status.InitContainerStatuses {
		out = append(out, containerStatus{s, restarts || sidecars[s.Name]})
	}
	for _, s := range pod.Status.ContainerStatuses {
		out = append(out, containerStatus{s, restarts})
	}
	return out
}

// containerProblem finds in a container's state a failure that will not
// go away by waiting: an image that cannot be pulled, a container that
// cannot be created or started, one that keeps exiting or runs out of
// memory.
func containerProblem(pod *corev1.Pod, cs containerStatus, w warnings) *problem {
	s := cs.status
	logs := &logSource{namespace: pod.Namespace, pod: pod.Name, container: s.Name}
	switch {
	case s.State.Waiting != nil:
		reason, msg := s.State.Waiting.Reason, oneLine(s.State.Waiting.Message)
		switch {
		case imagePullReasons[reason]:
			return imagePullProblem(s, reason, msg)
		case reason == "InvalidImageName":
			return &problem{
				reason:  reason,
				message: fmt.Sprintf("container %s has an invalid image reference %q: %s", s.Name, s.Image, msg),
				hint:    "fix the container's image in the manifest, or the artifact's image name in skaffold.yaml",
			}
		case createReasons[reason]:
			return createProblem(s, reason, msg)
		case reason == "CrashLoopBackOff":
			logs.previous = true
			return exitProblem(s, s.LastTerminationState.Terminated, w, logs)
		}
	case s.State.Terminated != nil:
		t := s.State.Terminated
		if t.Reason == ReasonOOMKilled || startFailures[t.Reason] || (cs.restarts && t.ExitCode != 0 && s.RestartCount > 0) {
			return exitProblem(s, t, w, logs)
		}
	case s.State.Running != nil && !s.Ready:
		if t := s.LastTerminationState.Terminated; t != nil && t.Reason == ReasonOOMKilled {
			logs.previous = true
			return exitProblem(s, t, w, logs)
		}
	}
	return nil
}

func imagePullProblem(s corev1.ContainerStatus, reason, msg string) *problem {
	hint := "check that the image exists (was it built and pushed?) and that the cluster can reach its registry"
	lower := strings.ToLower(msg)
	switch {
	case reason == "ErrImageNeverPull":
		hint = "the image is not on the node and imagePullPolicy is Never: load the image into the cluster, or use another pull policy"
	case strings.Contains(lower, "unauthorized") || strings.Contains(lower, "authentication required") || strings.Contains(lower, "denied") || strings.Contains(lower, "403 forbidden"):
		hint = "the registry refused the pull: give the pod imagePullSecrets (or its ServiceAccount) with credentials for the registry; " + hint
	}
	return &problem{
		reason:  reason,
		message: fmt.Sprintf("container %s cannot pull image %s: %s", s.Name, s.Image, msg),
		hint:    hint,
	}
}

func createProblem(s corev1.ContainerStatus, reason, msg string) *problem {
	hint := "fix the container's settings that the message names, then deploy again"
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "configmap") || strings.Contains(lower, "secret"):
		hint = "create the ConfigMap or Secret the container refers to (env, envFrom, volumes) and deploy it with the app, or mark the reference optional"
	case strings.Contains(lower, "runasnonroot"):
		hint = "the pod requires runAsNonRoot but the image runs as root: set securityContext.runAsUser, or use an image with a non-root USER"
	case reason == "RunContainerError":
		hint = "check that the container's command exists in the image and is built for the node's platform"
	}
	return &problem{
		reason:  reason,
		message: fmt.Sprintf("container %s cannot be started: %s", s.Name, msg),
		hint:    hint,
	}
}

// exitProblem explains a container that ended: killed for its memory,
// unable to run its program, or exiting again and again.
func exitProblem(s corev1.ContainerStatus, t *corev1.ContainerStateTerminated, w warnings, logs *logSource) *problem {
	if t == nil {
		return &problem{
			reason:  ReasonCrashLoopBackOff,
			message: fmt.Sprintf("container %s keeps exiting%s", s.Name, restarted(s.RestartCount)),
			hint:    "the log lines show why it exits: fix the program, its command and args or its configuration, then deploy again",
			logs:    logs,
		}
	}
	switch {
	case t.Reason == ReasonOOMKilled:
		return &problem{
			reason:  ReasonOOMKilled,
			message: fmt.Sprintf("container %s was killed for using more memory than its limit (exit code %d)%s", s.Name, t.ExitCode, restarted(s.RestartCount)),
			hint:    "raise the container's resources.limits.memory, or make the program use less memory",
			logs:    logs,
		}
	case startFailures[t.Reason]:
		return &problem{
			reason:  t.Reason,
			message: fmt.Sprintf("container %s cannot run its program: %s", s.Name, oneLine(t.Message)),
			hint:    "check that the container's command (or the image's entrypoint) exists in the image and is built for the node's platform",
		}
	}
	msg := fmt.Sprintf("container %s keeps exiting: exit code %d", s.Name, t.ExitCode)
	if t.Reason != "" {
		msg += " (" + t.Reason + ")"
	}
	if m := oneLine(t.Message); m != "" {
		msg += ": " + m
	}
	msg += restarted(s.RestartCount)
	hint := "the log lines show why it exits: fix the program, its command and args or its configuration, then deploy again"
	if t.ExitCode == 0 {
		hint = "the program ends although its pod restarts it: a Deployment's container must keep running (run-to-completion work belongs in a Job)"
	}
	if e := w.latest("Unhealthy", s.Name, "Liveness", "Startup"); e != nil {
		msg += "; the kubelet killed it: " + oneLine(e.Message)
		hint = "the probe fails: check its port, path and command, or give the program time to start (a startupProbe, initialDelaySeconds)"
	}
	return &problem{reason: ReasonCrashLoopBackOff, message: msg, hint: hint, logs: logs}
}

// restarted says how often a container was restarted, if it was.
func restarted(n int32) string {
	switch n {
	case 0:
		return ""
	case 1:
		return ", restarted once"
	}
	return fmt.Sprintf(", restarted %d times", n)
}

// containerNote is a line about a container that is not ready but has no
// problem (yet): waiting for something, or exited once.
func containerNote(s corev1.ContainerStatus) string {
	switch {
	case s.State.Waiting != nil:
		switch r := s.State.Waiting.Reason; r {
		case "", "ContainerCreating", "PodInitializing":
		default:
			if m := oneLine(s.State.Waiting.Message); m != "" {
				return fmt.Sprintf("container %s is waiting: %s: %s", s.Name, r, m)
			}
			return fmt.Sprintf("container %s is waiting: %s", s.Name, r)
		}
	case s.State.Terminated != nil && s.State.Terminated.ExitCode != 0:
		t := s.State.Terminated
		return fmt.Sprintf("container %s exited with code %d (%s)", s.Name, t.ExitCode, t.Reason)
	}
	return ""
}

// podFailure explains a pod in phase Failed: a standalone pod or one of a
// Job's.
func podFailure(pod *corev1.Pod) *problem {
	p := &problem{reason: ReasonPodFailed, pod: pod.Name, message: "the pod failed"}
	if pod.Status.Reason != "" {
		p.message = fmt.Sprintf("the pod failed: %s: %s", pod.Status.Reason, oneLine(pod.Status.Message))
	}
	for _, cs := range containerStatuses(pod) {
		s := cs.status
		t := s.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		p.container = s.Name
		p.message = fmt.Sprintf("container %s exited with code %d", s.Name, t.ExitCode)
		if t.Reason != "" {
			p.message += " (" + t.Reason + ")"
		}
		if m := oneLine(t.Message); m != "" {
			p.message += ": " + m
		}
		p.logs = &logSource{namespace: pod.Namespace, pod: pod.Name, container: s.Name}
		break
	}
	p.hint = "the log lines show why the container failed: fix it, then deploy again"
	if p.logs == nil {
		p.hint = "kubectl describe pod " + pod.Name + " shows the pod's events"
	}
	return p
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
