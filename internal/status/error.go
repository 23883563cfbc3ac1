package status

import (
	"fmt"
	"strings"
)

// Reasons skiff gives a failure itself; the others are the kubelet's or a
// controller's own words (ErrImagePull, CreateContainerConfigError, ...).
const (
	// ReasonDeadlineExceeded: some workloads were not ready when
	// Options.Deadline ran out.
	ReasonDeadlineExceeded = "DeadlineExceeded"
	// ReasonCrashLoopBackOff: a container keeps exiting.
	ReasonCrashLoopBackOff = "CrashLoopBackOff"
	// ReasonOOMKilled: a container was killed for exceeding its memory limit.
	ReasonOOMKilled = "OOMKilled"
	// ReasonUnschedulable: no node can run a pod.
	ReasonUnschedulable = "Unschedulable"
	// ReasonFailedMount: a pod's volume cannot be mounted.
	ReasonFailedMount = "FailedMount"
	// ReasonFailedCreate: a controller cannot create the workload's pods.
	ReasonFailedCreate = "FailedCreate"
	// ReasonProgressDeadlineExceeded: a Deployment made no progress within
	// its spec.progressDeadlineSeconds.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonJobFailed: a Job failed (its backoffLimit was exceeded, ...).
	ReasonJobFailed = "JobFailed"
	// ReasonPodFailed: a standalone pod ended in phase Failed.
	ReasonPodFailed = "PodFailed"
)

// Error explains why deployed workloads did not become healthy: what
// failed, why, and what to do about it. Error() is several lines, meant to
// be shown to a user as it is.
type Error struct {
	// Resource is the workload, "deployment/web", with "namespace:" in
	// front when the deploy spans several namespaces. It is empty for
	// ReasonDeadlineExceeded, which covers several resources.
	Resource string
	// Namespace is the workload's namespace.
	Namespace string
	// Pod and Container name where the failure was seen, when there is one.
	Pod, Container string
	// Reason is the cause in one word: one of the Reason constants or the
	// kubelet's or a controller's reason (ErrImagePull, ImagePullBackOff,
	// InvalidImageName, CreateContainerConfigError, RunContainerError, ...).
	// It is empty for a resource that was still waiting without a problem.
	Reason string
	// Message says why, with the cluster's own message where it has one.
	Message string
	// Hint says what to do next.
	Hint string
	// LogLines are the last lines the failing container wrote; of its
	// previous run when it has been restarted.
	LogLines []string
	// Unready lists, for ReasonDeadlineExceeded, every resource that was
	// not ready and its last status.
	Unready []*Error
}

// Error renders the failure over several lines: the resource and reason,
// the container's last log lines and a hint.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Reason == ReasonDeadlineExceeded {
		b.WriteString(e.Message)
		b.WriteString(":")
		for _, u := range e.Unready {
			b.WriteString("\n - ")
			u.write(&b, "   ")
		}
		if e.Hint != "" {
			fmt.Fprintf(&b, "\nhint: %s", e.Hint)
		}
		return b.String()
	}
	e.write(&b, "")
	return b.String()
}

// write renders one resource's failure or status, indenting continuation
// lines by indent.
func (e *Error) write(b *strings.Builder, indent string) {
	switch {
	case e.Resource == "":
	case e.Reason == "":
		b.WriteString(e.Resource + ": ")
	case e.Pod == "":
		fmt.Fprintf(b, "%s failed (%s): ", e.Resource, e.Reason)
	default:
		fmt.Fprintf(b, "%s failed (%s): pod %s: ", e.Resource, e.Reason, e.Pod)
	}
	b.WriteString(strings.ReplaceAll(e.Message, "\n", "\n"+indent))
	if len(e.LogLines) > 0 {
		of := "the container"
		if e.Container != "" {
			of = "container " + e.Container
		}
		fmt.Fprintf(b, "\n%s  last log lines of %s:", indent, of)
		for _, l := range e.LogLines {
			fmt.Fprintf(b, "\n%s    > %s", indent, l)
		}
	}
	if e.Hint != "" && e.Reason != ReasonDeadlineExceeded {
		fmt.Fprintf(b, "\n%s  hint: %s", indent, e.Hint)
	}
}
