package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// KubeExecutor runs commands in pods through the API server's exec
// subresource, as kubectl exec does: over WebSocket, falling back to SPDY
// when the server or a proxy does not upgrade to WebSocket.
type KubeExecutor struct {
	config *rest.Config
	client rest.Interface
}

// NewKubeExecutor returns an Executor for the cluster config points to
// (kube.Config.REST).
func NewKubeExecutor(config *rest.Config) (*KubeExecutor, error) {
	cs, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster for file sync: %w", err)
	}
	return &KubeExecutor{config: config, client: cs.CoreV1().RESTClient()}, nil
}

// Exec implements Executor.
func (k *KubeExecutor) Exec(ctx context.Context, t Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	u := k.client.Post().Resource("pods").Namespace(t.Namespace).Name(t.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: t.Container,
			Command:   cmd,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec).URL()
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
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	return execError(err)
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
