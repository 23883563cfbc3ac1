package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/typed"
)

// KubeExecutor runs commands in pods through the API server's exec
// subresource, as kubectl exec does: over WebSocket, falling back to SPDY
// when the server or a proxy does not upgrade to WebSocket.
type KubeExecutor struct {
	config *rest.Config
	api    typed.API
}

// ErrUnavailable means an exec could not start because the pod or the
// container does not exist or is not running; the error says which.
var ErrUnavailable = errors.New("the container is not available")

// NewKubeExecutor returns an Executor for the cluster kc.
func NewKubeExecutor(kc *kube.Config) (*KubeExecutor, error) {
	api, err := kc.API(0)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster for file sync: %w", err)
	}
	return &KubeExecutor{config: kc.REST, api: api}, nil
}

// Exec implements Executor.
func (k *KubeExecutor) Exec(ctx context.Context, t Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	u := k.api.CoreREST().Post().Resource("pods").Namespace(t.Namespace).Name(t.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: t.Container,
			Command:   cmd,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, typed.ParameterCodec).URL()
	spdy, err := remotecommand.NewSPDYExecutor(k.config, "POST", u)
	if err != nil {
		return fmt.Errorf("exec in %s: %w", t, err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(k.config, "GET", u.String())
	if err != nil {
		return fmt.Errorf("exec in %s: %w", t, err)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return fmt.Errorf("exec in %s: %w", t, err)
	}
	err = execError(ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr}))
	var ee *ExitError
	if err == nil || ctx.Err() != nil || errors.As(err, &ee) || errors.Is(err, ErrNotFound) {
		return err
	}
	return k.unavailable(ctx, t, err)
}

// unavailable explains an exec that did not start: the API server and the
// kubelet answer "pods not found" or "container not found", so it looks
// the pod up and says whether the pod or the container is missing or not
// running, wrapping ErrUnavailable. Otherwise it returns err.
func (k *KubeExecutor) unavailable(ctx context.Context, t Target, err error) error {
	pod, gerr := k.api.Pods(t.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(gerr):
		return fmt.Errorf("%w: the pod does not exist; it was deleted or replaced (a rollout or a restart makes new pods), so sync to the pods that run now", ErrUnavailable)
	case gerr != nil:
		return err
	case pod.DeletionTimestamp != nil:
		return fmt.Errorf("%w: the pod is being deleted; sync to the pods that replace it", ErrUnavailable)
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return fmt.Errorf("%w: the pod has %s and runs no containers; sync to the pods that run now", ErrUnavailable, pod.Status.Phase)
	}
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if !containerIn(pod, t.Container) {
		return fmt.Errorf("%w: the pod has no container %q (it has %s); sync to one of those", ErrUnavailable, t.Container, strings.Join(names, ", "))
	}
	statuses := append(append(pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses...), pod.Status.EphemeralContainerStatuses...)
	for _, s := range statuses {
		if s.Name != t.Container || s.State.Running != nil {
			continue
		}
		state := "not started"
		switch {
		case s.State.Waiting != nil:
			state = "waiting: " + s.State.Waiting.Reason
		case s.State.Terminated != nil:
			state = "terminated: " + s.State.Terminated.Reason
		}
		return fmt.Errorf("%w: the container is not running (%s); sync again once it runs, `kubectl describe pod -n %s %s` says why it does not", ErrUnavailable, state, t.Namespace, t.Pod)
	}
	return err
}

// containerIn reports whether the pod has a container, init container or
// ephemeral container called name.
func containerIn(pod *corev1.Pod, name string) bool {
	for _, c := range append(pod.Spec.Containers, pod.Spec.InitContainers...) {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// execError maps the runtime's errors to ExitError and ErrNotFound.
func execError(err error) error {
	if err == nil {
		return nil
	}
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		return &ExitError{Code: ce.Code}
	}
	// The runtime fails the exec itself, e.g. runc's `exec: "tar":
	// executable file not found in $PATH`.
	msg := err.Error()
	if strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") {
		return fmt.Errorf("%w: %s", ErrNotFound, msg)
	}
	return err
}
