//go:build e2e

package kube_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/testutil"
)

// e2eCluster is the cluster of the current KUBECONFIG context.
type e2eCluster struct {
	kc *kube.Config
	cs kubernetes.Interface
}

func newE2ECluster(t *testing.T) *e2eCluster {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: run `hack/cluster.sh up && eval \"$(hack/cluster.sh env)\"` before go test -tags e2e")
	}
	kc, err := kube.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubetest.Clientset(kc.REST, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &e2eCluster{kc: kc, cs: cs}
}

// newNamespace creates a namespace for one test and deletes it when the
// test ends.
func (c *e2eCluster) newNamespace(t *testing.T) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "skiff-e2e-kube-" + hex.EncodeToString(suffix)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"skiff.dev/e2e": "true"}}}
	if _, err := c.cs.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	testutil.WaitFor(t, time.Minute, "the default ServiceAccount in "+name, func(ctx context.Context) (bool, string) {
		_, err := c.cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
			return
		}
		for ctx.Err() == nil {
			if _, err := c.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Errorf("namespace %s was not deleted within 2 minutes", name)
	})
	return name
}

var (
	podserverOnce  sync.Once
	podserverImage string
	podserverErr   error
)

// podserver builds testdata/podserver into a FROM scratch image, pushes it
// to the cluster's registry and returns it by digest; once per test run.
func (c *e2eCluster) podserver(t *testing.T) string {
	t.Helper()
	podserverOnce.Do(func() { podserverImage, podserverErr = c.buildPodserver(t.Context()) })
	if podserverErr != nil {
		t.Fatal(podserverErr)
	}
	return podserverImage
}

func (c *e2eCluster) buildPodserver(ctx context.Context) (string, error) {
	host, ok, err := image.LocalRegistry(ctx, kubetest.API(c.cs))
	if err != nil || !ok {
		return "", fmt.Errorf("the cluster advertises no local registry (err: %v); hack/cluster.sh up sets one up", err)
	}
	dir, err := os.MkdirTemp("", "podserver")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	binary := filepath.Join(dir, "app")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, ".")
	build.Dir = "testdata/podserver"
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build testdata/podserver: %v\n%s", err, out)
	}
	program, err := os.ReadFile(binary)
	if err != nil {
		return "", err
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(program)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	tw.Write(program)
	if err := tw.Close(); err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil
	})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/app"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	repo := host + "/skiff-e2e/podserver"
	digest, err := image.NewRegistry([]string{host}).Push(ctx, repo+":latest", img)
	if err != nil {
		return "", fmt.Errorf("pushing the podserver image to %s: %w", host, err)
	}
	return repo + "@" + digest, nil
}

// createApp creates a Deployment of replicas podservers (container
// "server", port 8080 named http, an init container "init") labelled
// app=name and with the project label, and a Service name (port 80 named
// http to the container port named http), and waits until they are ready.
func (c *e2eCluster) createApp(t *testing.T, ns, name, project string, replicas int32) *appsv1.Deployment {
	t.Helper()
	img := c.podserver(t)
	labels := map[string]string{"app": name, kube.ProjectLabel: project}
	grace := int64(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					InitContainers:                []corev1.Container{{Name: "init", Image: img, Args: []string{"init"}}},
					Containers: []corev1.Container{{
						Name:  "server",
						Image: img,
						Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
						}}},
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
	d, err := c.cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Deployment %s/%s: %v", ns, name, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if _, err := c.cs.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Service %s/%s: %v", ns, name, err)
	}
	c.waitReady(t, ns, name, int(replicas))
	return d
}

// waitReady waits until the app has n ready pods and no other pods.
func (c *e2eCluster) waitReady(t *testing.T, ns, name string, n int) []string {
	t.Helper()
	var ready []string
	testutil.WaitFor(t, 3*time.Minute, fmt.Sprintf("%d ready pods of %s", n, name), func(ctx context.Context) (bool, string) {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return false, err.Error()
		}
		ready = nil
		var states []string
		for _, p := range pods.Items {
			ok := p.DeletionTimestamp == nil
			for _, cond := range p.Status.Conditions {
				ok = ok && (cond.Type != corev1.PodReady || cond.Status == corev1.ConditionTrue)
			}
			if ok && p.Status.Phase == corev1.PodRunning {
				ready = append(ready, p.Name)
			}
			states = append(states, fmt.Sprintf("%s %s", p.Name, p.Status.Phase))
		}
		return len(ready) == n && len(pods.Items) == n, fmt.Sprint(states)
	})
	return ready
}

// get fetches url on a new connection and returns the body of a 200.
func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 40 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(body)), nil
}
