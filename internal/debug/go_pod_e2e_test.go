//go:build e2e

package debug_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// goDeployment is the user's manifest of the Go app: two replicas, a
// liveness probe, and a restricted security context (non-root, every
// capability dropped), under which dlv still traces its child.
const goDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: %s
        ports:
        - containerPort: 8080
        livenessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
          timeoutSeconds: 1
          failureThreshold: 1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`

// TestGoPodE2E debugs the Go app in a pod of the local cluster, the way
// skiff debug will: the support image and the app are pushed to the
// cluster's registry, the Deployment is transformed and applied in a
// namespace that enforces the restricted Pod Security Standard, the init
// container fills the emptyDir (as its non-root user), and through
// port-forwards a Delve client stops a request in main.handler, reads the
// request, and continues; the app answers again, and no container has
// restarted (the transform removed the one-second liveness probe).
func TestGoPodE2E(t *testing.T) {
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
	registry := os.Getenv("SKIFF_LOCAL_REGISTRY")
	if registry == "" {
		registry = "127.0.0.1:5001"
	}
	reg := image.NewRegistry(nil)

	support, err := debug.SupportImage(supportFiles(t), debug.Go)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	supportRef, pushed, err := deliver.Push(t.Context(), reg, registry+"/"+debug.SupportRepo(debug.Go), support)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("support image %s (pushed: %v, %v)", supportRef, pushed, time.Since(start).Round(time.Millisecond))
	app, cfg := goAppImage(t)
	d, err := app.Digest()
	if err != nil {
		t.Fatal(err)
	}
	digest, err := reg.Push(t.Context(), registry+"/skiff-e2e-debug-go:"+d.Hex[:16], app)
	if err != nil {
		t.Fatal(err)
	}
	appRef := registry + "/skiff-e2e-debug-go@" + digest

	ms, err := render.Parse("web.yaml", []byte(fmt.Sprintf(goDeployment, appRef)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := debug.Transform(ms, []debug.Artifact{{Image: artifact.Image{Name: "web", Ref: appRef}, Config: cfg}}, debug.Options{
		SupportImage: func(debug.Runtime) (string, error) { return supportRef, nil },
	})
	if err != nil || len(res.Containers) != 1 {
		t.Fatalf("Transform: %+v, %v; want the web container debugged", res, err)
	}
	var dep appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(ms[0].Object.Object, &dep); err != nil {
		t.Fatal(err)
	}
	ns := testutil.Namespace(t, cs, "skiff-e2e-debug-")
	// The restricted Pod Security Standard, enforced: the init container
	// the transform adds must not get the pod refused.
	nsObj, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(t.Context(), nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), &dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := readyPod(t, cs, ns, "app=web")

	fw := kube.NewForwarder(kc, kubetest.API(cs), io.Discard, nil)
	t.Cleanup(fw.Stop)
	addr := map[string]string{}
	for name, port := range map[string]int32{"http": 8080, "dlv": res.Containers[0].Ports[0].Port} {
		a, err := fw.Add(t.Context(), kube.Forward{Type: "pod", Name: pod, Namespace: ns, Port: intstr.FromInt32(port), LocalPort: testutil.FreePort(t)})
		if err != nil {
			t.Fatal(err)
		}
		addr[name] = a
	}
	waitServing(t, addr["http"], "hello probe 1")
	breakInHandler(t, addr["dlv"], addr["http"])
	p, err := cs.CoreV1().Pods(ns).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Status.ContainerStatuses {
		if st.RestartCount != 0 {
			t.Errorf("container %s restarted %d times while paused at the breakpoint", st.Name, st.RestartCount)
		}
	}
}

// readyPod waits for the one ready pod of the Deployment (replicas 1 after
// the transform) and returns its name.
func readyPod(t *testing.T, cs kubernetes.Interface, ns, selector string) string {
	t.Helper()
	var name string
	testutil.WaitFor(t, 2*time.Minute, "a ready pod "+selector+" in "+ns, func(ctx context.Context) (bool, string) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		status := fmt.Sprintf("%d pods", len(pods.Items))
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == "Ready" && c.Status == "True" && p.DeletionTimestamp == nil {
					name = p.Name
					return len(pods.Items) == 1, status
				}
			}
			for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
				if w := s.State.Waiting; w != nil {
					status += fmt.Sprintf("; %s: %s %s", s.Name, w.Reason, w.Message)
				}
				if x := s.State.Terminated; x != nil && x.ExitCode != 0 {
					status += fmt.Sprintf("; %s exited %d: %s", s.Name, x.ExitCode, x.Message)
				}
			}
		}
		return false, status
	})
	return name
}
