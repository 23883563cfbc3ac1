//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/yaml"
)

// cluster is the Kubernetes cluster under test, as KUBECONFIG names it.
type cluster struct {
	config *rest.Config
	client kubernetes.Interface
}

// newCluster connects to the cluster of the current KUBECONFIG context.
func newCluster(t testing.TB) *cluster {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: run `make e2e`, or `hack/cluster.sh up && eval \"$(hack/cluster.sh env)\"` before go test -tags e2e")
	}
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatalf("loading the kubeconfig %s: %v", os.Getenv("KUBECONFIG"), err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("creating a Kubernetes client: %v", err)
	}
	return &cluster{config: config, client: client}
}

// localRegistry returns the host:port of the registry the cluster pulls
// from, as its KEP-1755 local-registry-hosting ConfigMap publishes it. When
// SKIFF_LOCAL_REGISTRY is set (hack/cluster.sh env sets it), both must agree.
func (c *cluster) localRegistry(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cm, err := c.client.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, "local-registry-hosting", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the cluster's local registry from ConfigMap kube-public/local-registry-hosting: %v", err)
	}
	var hosting struct {
		Host string `json:"host"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["localRegistryHosting.v1"]), &hosting); err != nil || hosting.Host == "" {
		t.Fatalf("ConfigMap kube-public/local-registry-hosting has no localRegistryHosting.v1 host (err: %v): %q", err, cm.Data)
	}
	if env := os.Getenv("SKIFF_LOCAL_REGISTRY"); env != "" && env != hosting.Host {
		t.Fatalf("SKIFF_LOCAL_REGISTRY=%s but the cluster publishes the registry %s", env, hosting.Host)
	}
	return hosting.Host
}

// newNamespace creates a namespace for one test and deletes it, waiting
// until it is gone, when the test ends.
func (c *cluster) newNamespace(t testing.TB) string {
	t.Helper()
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	name := "skiff-e2e-" + hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"skiff.dev/e2e": "true"}}}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	// Pods can be created once the namespace has its default ServiceAccount.
	waitFor(t, time.Minute, "the default ServiceAccount in "+name, func(ctx context.Context) (bool, string, error) {
		_, err := c.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "not created yet", nil
		}
		return err == nil, fmt.Sprint(err), nil
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
			return
		}
		waitFor(t, 2*time.Minute, "namespace "+name+" to be deleted", func(ctx context.Context) (bool, string, error) {
			ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, "", nil
			}
			if err != nil {
				return false, err.Error(), nil
			}
			return false, fmt.Sprintf("phase %s", ns.Status.Phase), nil
		})
	})
	return name
}

// podsOf lists the pods that match a label selector.
func (c *cluster) podsOf(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	list, err := c.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// logs returns a container's log so far.
func (c *cluster) logs(ctx context.Context, namespace, pod, container string) (string, error) {
	data, err := c.client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	return string(data), err
}

// exec runs command in a container with stdin attached and returns what it
// wrote to stdout and stderr.
func (c *cluster) exec(ctx context.Context, namespace, pod, container string, command []string, stdin io.Reader) (stdout, stderr []byte, err error) {
	req := c.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	executor, err := remotecommand.NewSPDYExecutor(c.config, http.MethodPost, req.URL())
	if err != nil {
		return nil, nil, fmt.Errorf("exec %v in %s/%s: %w", command, namespace, pod, err)
	}
	var out, errOut bytes.Buffer
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Stderr: &errOut})
	if err != nil {
		return out.Bytes(), errOut.Bytes(), fmt.Errorf("exec %v in %s/%s: %w (stderr: %s)", command, namespace, pod, err, strings.TrimSpace(errOut.String()))
	}
	return out.Bytes(), errOut.Bytes(), nil
}

// portForward forwards a port on 127.0.0.1, chosen by the system, to
// podPort of a pod through the apiserver (SPDY), until the test ends. It
// returns the local port.
func (c *cluster) portForward(t testing.TB, namespace, pod string, podPort int) int {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(c.config)
	if err != nil {
		t.Fatalf("port-forward to %s/%s: %v", namespace, pod, err)
	}
	u, err := url.Parse(c.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL().String())
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	var errOut bytes.Buffer
	forwarder, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", podPort)}, stop, ready, io.Discard, &errOut)
	if err != nil {
		t.Fatalf("port-forward to %s/%s: %v", namespace, pod, err)
	}
	done := make(chan error, 1)
	go func() { done <- forwarder.ForwardPorts() }()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward to %s/%s:%d ended before it was ready: %v %s", namespace, pod, podPort, err, errOut.String())
	case <-time.After(time.Minute):
		t.Fatalf("port-forward to %s/%s:%d was not ready within a minute: %s", namespace, pod, podPort, errOut.String())
	}
	ports, err := forwarder.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("port-forward to %s/%s: no local port (%v)", namespace, pod, err)
	}
	return int(ports[0].Local)
}

// httpGet fetches a URL on loopback and returns the body of a 200 answer.
func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body), nil
}
