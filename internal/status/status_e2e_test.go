//go:build e2e

package status_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/status"
)

// The end-to-end tests run against the local cluster that hack/cluster.sh
// starts: eval "$(hack/cluster.sh env)" && go test -tags e2e ./internal/status/

// testApp is the program in the test image. With no argument it serves
// HTTP on :8080; "crash" prints lines and exits 1, "exit" prints a line
// and exits 0, "oom" allocates memory until it is killed.
const testApp = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "crash":
			for i := 1; i <= 12; i++ {
				fmt.Printf("crash line %d\n", i)
			}
			fmt.Println("fatal: giving up")
			os.Exit(1)
		case "exit":
			fmt.Println("done")
			return
		case "oom":
			var chunks [][]byte
			for {
				b := make([]byte, 8<<20)
				for i := range b {
					b[i] = 1
				}
				chunks = append(chunks, b)
			}
		}
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

var (
	appOnce sync.Once
	appRef  string
	appErr  error
)

// testImage builds testApp into a FROM scratch image and pushes it to the
// cluster's registry, once per test run; it returns the image by digest.
func testImage(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() { appRef, appErr = buildTestImage(t.TempDir()) })
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appRef
}

func buildTestImage(dir string) (string, error) {
	registry := os.Getenv("SKIFF_LOCAL_REGISTRY")
	if registry == "" {
		return "", errors.New(`SKIFF_LOCAL_REGISTRY is not set: eval "$(hack/cluster.sh env)" first`)
	}
	for file, data := range map[string]string{"go.mod": "module example.com/app\n\ngo 1.25\n", "main.go": testApp} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "app", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	program, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		return "", err
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(program)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(program); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config.Entrypoint = []string{"/app"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	ref, err := name.ParseReference(registry + "/skiff-status-e2e:latest")
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(digest.String()).String(), nil
}

// client connects to the cluster of KUBECONFIG.
func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal(`KUBECONFIG is not set: eval "$(hack/cluster.sh env)" first`)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// namespace creates a namespace for one test, ready for pods, and deletes
// it when the test ends.
func namespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	ns := "skiff-status-" + hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"skiff.dev/e2e": "true"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns, err)
		}
	})
	for {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return ns
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s has no default ServiceAccount", ns)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// applied returns a created object as server-side apply returns it.
func applied(t *testing.T, obj runtime.Object, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u
}

func podSpec(image string, args ...string) corev1.PodSpec {
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: new(int64),
		Containers: []corev1.Container{{
			Name:            "app",
			Image:           image,
			Args:            args,
			ImagePullPolicy: corev1.PullIfNotPresent,
		}},
	}
}

func deployment(name string, replicas int32, spec corev1.PodSpec) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

func createDeployment(t *testing.T, cs kubernetes.Interface, ns string, d *appsv1.Deployment) *unstructured.Unstructured {
	t.Helper()
	created, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return applied(t, created, appsv1.SchemeGroupVersion.WithKind("Deployment"))
}

// check runs status.Check and logs its output and how long it took.
func check(t *testing.T, cs kubernetes.Interface, objs []*unstructured.Unstructured, opts status.Options) (string, error, time.Duration) {
	t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	if opts.Deadline == 0 {
		opts.Deadline = 3 * time.Minute
	}
	start := time.Now()
	err := status.Check(context.Background(), kubetest.API(cs), objs, opts)
	took := time.Since(start)
	t.Logf("Check took %s; output:\n%s", took.Round(time.Millisecond), out.String())
	if err != nil {
		t.Logf("error:\n%v", err)
	}
	return out.String(), err, took
}

func asError(t *testing.T, err error) *status.Error {
	t.Helper()
	var se *status.Error
	if !errors.As(err, &se) {
		t.Fatalf("Check returned %T %v, want a *status.Error", err, err)
	}
	return se
}

func TestE2EHealthyDeployment(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	spec := podSpec(testImage(t))
	spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1,
	}
	obj := createDeployment(t, cs, ns, deployment("web", 2, spec))
	available := availableAt(t, cs, ns, "web", 2)
	out, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	returned := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Waiting for deployments to stabilize...\n", " - deployment/web is ready.\n", "Deployments stabilized in "} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	select {
	case at := <-available:
		lag := returned.Sub(at)
		t.Logf("Check returned %s after the deployment reported 2 available replicas", lag.Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Errorf("Check returned, but the deployment has not reported 2 available replicas")
	}

	// A second check of the same deployment, unchanged, succeeds too.
	if _, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{}); err != nil {
		t.Fatal(err)
	}

	// A broken change: the old pods keep running, the new one crashes.
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Args = []string{"crash"}
	d, err = cs.AppsV1().Deployments(ns).Update(context.Background(), d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err, took := check(t, cs, []*unstructured.Unstructured{applied(t, d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}, status.Options{})
	se := asError(t, err)
	if se.Reason != status.ReasonCrashLoopBackOff || !strings.HasPrefix(se.Pod, "web-") || len(se.LogLines) == 0 {
		t.Errorf("a broken redeploy: got %q in pod %q, want CrashLoopBackOff with log lines", se.Reason, se.Pod)
	}
	pod, err := cs.CoreV1().Pods(ns).Get(context.Background(), se.Pod, metav1.GetOptions{})
	if err != nil || len(pod.Spec.Containers[0].Args) == 0 || pod.Spec.Containers[0].Args[0] != "crash" {
		t.Errorf("the failing pod %s is not of the new revision (%v)", se.Pod, err)
	}
	t.Logf("a broken redeploy failed after %s", took.Round(time.Millisecond))
}

// availableAt reports when a deployment first reports n available
// replicas of its current generation.
func availableAt(t *testing.T, cs kubernetes.Interface, ns, name string, n int32) <-chan time.Time {
	t.Helper()
	w, err := cs.AppsV1().Deployments(ns).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	at := make(chan time.Time, 1)
	go func() {
		for ev := range w.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok && d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == n && d.Status.UpdatedReplicas == n {
				at <- time.Now()
				return
			}
		}
	}()
	return at
}

func TestE2ECrashLoopFailsFastWithLogs(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	obj := createDeployment(t, cs, ns, deployment("crasher", 1, podSpec(testImage(t), "crash")))
	_, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	se := asError(t, err)
	if se.Reason != status.ReasonCrashLoopBackOff || se.Resource != "deployment/crasher" || se.Container != "app" {
		t.Errorf("got reason %q resource %q container %q, want CrashLoopBackOff deployment/crasher app", se.Reason, se.Resource, se.Container)
	}
	if !strings.Contains(se.Message, "exit code 1") {
		t.Errorf("the message does not give the exit code: %s", se.Message)
	}
	if len(se.LogLines) != 10 || se.LogLines[9] != "fatal: giving up" || se.LogLines[0] != "crash line 4" {
		t.Errorf("want the last 10 log lines, crash line 4 to fatal: giving up; got %q", se.LogLines)
	}
	if strings.Contains(strings.ToLower(err.Error()), "deadline") {
		t.Errorf("the error speaks of a deadline:\n%v", err)
	}
}

func TestE2EUnpullableImageFailsFast(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	image := os.Getenv("SKIFF_LOCAL_REGISTRY") + "/does-not-exist:1"
	obj := createDeployment(t, cs, ns, deployment("nopull", 1, podSpec(image)))
	_, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	se := asError(t, err)
	if se.Reason != "ErrImagePull" && se.Reason != "ImagePullBackOff" {
		t.Errorf("reason %q, want ErrImagePull or ImagePullBackOff", se.Reason)
	}
	if !strings.Contains(se.Message, image) || !strings.Contains(se.Hint, "pushed") {
		t.Errorf("the error does not name the image and say what to check:\n%v", err)
	}
}

func TestE2EMissingConfigMapFailsFast(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	spec := podSpec(testImage(t))
	spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}
	obj := createDeployment(t, cs, ns, deployment("noconfig", 1, spec))
	_, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	se := asError(t, err)
	if se.Reason != "CreateContainerConfigError" || !strings.Contains(se.Message, `configmap "settings" not found`) {
		t.Errorf("got %q: %s, want CreateContainerConfigError naming the ConfigMap", se.Reason, se.Message)
	}
}

func TestE2EMissingConfigMapVolumeFailsFast(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	spec := podSpec(testImage(t))
	spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}
	obj := createDeployment(t, cs, ns, deployment("novolume", 1, spec))
	_, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	se := asError(t, err)
	if se.Reason != status.ReasonFailedMount || !strings.Contains(se.Message, `configmap "missing" not found`) {
		t.Errorf("got %q: %s, want FailedMount naming the ConfigMap", se.Reason, se.Message)
	}
}

func TestE2EProbes(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	wrongPort := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(9999)}}
	ready := podSpec(testImage(t))
	ready.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: wrongPort, PeriodSeconds: 1}
	live := *ready.DeepCopy()
	live.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: wrongPort, PeriodSeconds: 1, FailureThreshold: 1}

	// Probes of a port the program does not listen on: the failing
	// liveness probe makes the kubelet kill the container again and
	// again, a crash loop caused by the probe.
	obj := createDeployment(t, cs, ns, deployment("unlive", 1, live))
	_, err, took := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	se := asError(t, err)
	if se.Reason != status.ReasonCrashLoopBackOff || !strings.Contains(se.Message, "Liveness probe failed") || !strings.Contains(se.Hint, "probe") {
		t.Errorf("got %q: %s (hint: %s), want a crash loop caused by the liveness probe", se.Reason, se.Message, se.Hint)
	}
	t.Logf("a failing liveness probe failed the check after %s", took.Round(time.Millisecond))

	// A failing readiness probe may pass later: the check waits, and the
	// deadline's error shows the probe's message.
	obj = createDeployment(t, cs, ns, deployment("unready", 1, ready))
	_, err, _ = check(t, cs, []*unstructured.Unstructured{obj}, status.Options{Deadline: 10 * time.Second})
	se = asError(t, err)
	if se.Reason != status.ReasonDeadlineExceeded || len(se.Unready) != 1 || !strings.Contains(se.Unready[0].Message, "Readiness probe failed") {
		t.Errorf("want a deadline error with the readiness probe's failure, got:\n%v", err)
	}
}

func TestE2EOOMKilled(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	spec := podSpec(testImage(t), "oom")
	spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	obj := createDeployment(t, cs, ns, deployment("hungry", 1, spec))
	_, err, _ := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	if se := asError(t, err); se.Reason != status.ReasonOOMKilled {
		t.Errorf("reason %q, want OOMKilled", se.Reason)
	}
}

func TestE2EUnschedulable(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	spec := podSpec(testImage(t))
	spec.NodeSelector = map[string]string{"skiff.dev/no-such-node": "true"}
	obj := createDeployment(t, cs, ns, deployment("nowhere", 1, spec))
	_, err, took := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{})
	se := asError(t, err)
	if se.Reason != status.ReasonUnschedulable || !strings.Contains(se.Message, "node(s) didn't match") {
		t.Errorf("got %q: %s, want Unschedulable with the scheduler's message", se.Reason, se.Message)
	}
	if took < 25*time.Second {
		t.Errorf("an unschedulable pod failed after %s, before its grace period", took)
	}
}

func TestE2EStatefulSetAndDaemonSet(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	image := testImage(t)
	labels := map[string]string{"app": "db"}
	replicas := int32(2)
	ss, err := cs.AppsV1().StatefulSets(ns).Create(context.Background(), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(image)},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dlabels := map[string]string{"app": "agent"}
	ds, err := cs.AppsV1().DaemonSets(ns).Create(context.Background(), &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: dlabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: dlabels}, Spec: podSpec(image)},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{
		applied(t, ss, appsv1.SchemeGroupVersion.WithKind("StatefulSet")),
		applied(t, ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet")),
	}
	out, err, _ := check(t, cs, objs, status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" - statefulset/db is ready.", " - daemonset/agent is ready."} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}

	// A new template: the check waits for the new revision's pods, and a
	// crashing one fails it, though the old pods run.
	ss, err = cs.AppsV1().StatefulSets(ns).Get(context.Background(), "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ss.Spec.Template.Spec.Containers[0].Args = []string{"crash"}
	updated, err := cs.AppsV1().StatefulSets(ns).Update(context.Background(), ss, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err, _ = check(t, cs, []*unstructured.Unstructured{applied(t, updated, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))}, status.Options{})
	if se := asError(t, err); se.Reason != status.ReasonCrashLoopBackOff || se.Pod != "db-1" {
		t.Errorf("got %q in pod %q, want CrashLoopBackOff in db-1, the first pod updated", se.Reason, se.Pod)
	}
}

func TestE2EJobAndPods(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	image := testImage(t)
	ctx := context.Background()

	jobSpec := podSpec(image, "exit")
	jobSpec.RestartPolicy = corev1.RestartPolicyNever
	job, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: jobSpec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	server, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "server"}, Spec: podSpec(image)}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onceSpec := podSpec(image, "exit")
	onceSpec.RestartPolicy = corev1.RestartPolicyNever
	once, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "once"}, Spec: onceSpec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := corev1.SchemeGroupVersion.WithKind("Pod")
	objs := []*unstructured.Unstructured{applied(t, job, batchv1.SchemeGroupVersion.WithKind("Job")), applied(t, server, pod), applied(t, once, pod)}
	out, err, _ := check(t, cs, objs, status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" - job/migrate is ready.", " - pod/server is ready.", " - pod/once is ready."} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

func TestE2EJobFails(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	spec := podSpec(testImage(t), "crash")
	spec.RestartPolicy = corev1.RestartPolicyNever
	backoff := int32(0)
	job, err := cs.BatchV1().Jobs(ns).Create(context.Background(), &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "broken"},
		Spec:       batchv1.JobSpec{BackoffLimit: &backoff, Template: corev1.PodTemplateSpec{Spec: spec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err, _ = check(t, cs, []*unstructured.Unstructured{applied(t, job, batchv1.SchemeGroupVersion.WithKind("Job"))}, status.Options{})
	se := asError(t, err)
	if se.Reason != status.ReasonJobFailed || !strings.Contains(se.Message, "BackoffLimitExceeded") || !strings.Contains(se.Message, "exited with code 1") {
		t.Errorf("got %q: %s, want JobFailed, BackoffLimitExceeded and the exit code", se.Reason, se.Message)
	}
	if len(se.LogLines) == 0 || se.LogLines[len(se.LogLines)-1] != "fatal: giving up" {
		t.Errorf("want the failed pod's last log lines, got %q", se.LogLines)
	}
}

func TestE2ECancel(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	image := os.Getenv("SKIFF_LOCAL_REGISTRY") + "/does-not-exist:1"
	obj := createDeployment(t, cs, ns, deployment("waiting", 1, podSpec(image)))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	// Without the cancel, Check would wait for the image until its
	// 3-minute deadline and then report that.
	err := status.Check(ctx, kubetest.API(cs), []*unstructured.Unstructured{obj}, status.Options{TolerateFailures: true})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Check returned %v, want context.Canceled", err)
	}
}

func TestE2ETolerateFailuresUntilDeadline(t *testing.T) {
	t.Parallel()
	cs := client(t)
	ns := namespace(t, cs)
	obj := createDeployment(t, cs, ns, deployment("crasher", 1, podSpec(testImage(t), "crash")))
	_, err, took := check(t, cs, []*unstructured.Unstructured{obj}, status.Options{TolerateFailures: true, Deadline: 20 * time.Second})
	se := asError(t, err)
	if se.Reason != status.ReasonDeadlineExceeded || len(se.Unready) != 1 || se.Unready[0].Reason != status.ReasonCrashLoopBackOff {
		t.Errorf("want a deadline error listing the crash loop, got:\n%v", err)
	}
	if took < 20*time.Second {
		t.Errorf("Check returned after %s, before the deadline", took)
	}
}
