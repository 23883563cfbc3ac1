//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/cli"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/testutil"
)

// running is a skiff command running in process in the background, as a
// user runs `skiff run --tail` in a terminal until Ctrl-C.
type running struct {
	cancel      context.CancelFunc
	done        chan error
	out, errOut *testutil.Buffer
}

// skiffBackground starts skiff with args on dir's skaffold.yaml; the test
// stops it with stop (Ctrl-C) or when it ends.
func skiffBackground(t testing.TB, dir string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	r := &running{cancel: cancel, done: make(chan error, 1), out: &testutil.Buffer{}, errOut: &testutil.Buffer{}}
	args = append(args, "-f", filepath.Join(dir, "skaffold.yaml"))
	go func() {
		r.done <- cli.Run(ctx, cli.IOStreams{In: strings.NewReader(""), Out: r.out, ErrOut: r.errOut}, args)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitFor waits until the command's stderr matches re and returns the
// first submatch (or the whole match); it fails the test when the command
// ends first.
func (r *running) waitFor(t testing.TB, timeout time.Duration, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := re.FindStringSubmatch(r.errOut.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case err := <-r.done:
			r.done <- err
			// It may have printed it and ended since the last look.
			if m := re.FindStringSubmatch(r.errOut.String()); m != nil {
				return m[len(m)-1]
			}
			t.Fatalf("skiff ended (%v) before printing %q\nstderr:\n%s", err, re, r.errOut)
		case <-deadline:
			t.Fatalf("skiff did not print %q within %s\nstderr:\n%s", re, timeout, r.errOut)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop cancels the command, as Ctrl-C does, and returns its error.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(time.Minute):
		t.Fatalf("skiff did not stop within a minute of Ctrl-C\nstderr:\n%s", r.errOut)
		return nil
	}
}

// helloSource is the Go server the end-to-end projects build.
func helloSource(t testing.TB) string {
	t.Helper()
	src, err := os.ReadFile("testdata/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// managedObjects lists what skiff deployed in namespace: every kind a
// project deploys here, by skiff's managed-by label.
func (c *cluster) managedObjects(ctx context.Context, namespace string) ([]string, error) {
	sel := metav1.ListOptions{LabelSelector: kube.ManagedByLabel + "=" + kube.ManagedBy}
	var out []string
	deps, err := c.client.AppsV1().Deployments(namespace).List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		out = append(out, "deployment/"+d.Name)
	}
	svcs, err := c.client.CoreV1().Services(namespace).List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs.Items {
		out = append(out, "service/"+s.Name)
	}
	cms, err := c.client.CoreV1().ConfigMaps(namespace).List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, cm := range cms.Items {
		out = append(out, "configmap/"+cm.Name)
	}
	pods, err := c.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: kube.ProjectLabel})
	if err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		out = append(out, "pod/"+p.Name)
	}
	secrets, err := c.client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: "applyset.kubernetes.io/id"})
	if err != nil {
		return nil, err
	}
	for _, s := range secrets.Items {
		out = append(out, "secret/"+s.Name)
	}
	cms, err = c.client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: "applyset.kubernetes.io/id"})
	if err != nil {
		return nil, err
	}
	for _, cm := range cms.Items {
		out = append(out, "configmap/"+cm.Name)
	}
	return out, nil
}

// readyPods returns the names of the Ready pods matching selector.
func (c *cluster) readyPods(ctx context.Context, namespace, selector string) ([]string, error) {
	pods, err := c.podsOf(ctx, namespace, selector)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				names = append(names, p.Name)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

var forwardURL = regexp.MustCompile(`Port forwarding deployment/hello\b.*-> http://(\S+)`)

// TestRunHelloAnswersThroughPortForward runs the README's example with
// `skiff run --tail --port-forward`: two replicas become ready, the app
// answers through skiff's forward, also after the pod behind it is
// deleted, logs arrive with pod and container prefixes; a second run
// restarts no pod (only the objects' run-id label changes); delete leaves
// nothing behind.
func TestRunHelloAnswersThroughPortForward(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir, err := filepath.Abs("../../examples/hello")
	if err != nil {
		t.Fatal(err)
	}

	r := skiffBackground(t, dir, "run", "-n", ns, "--tail", "--port-forward", "--cache-artifacts=false")
	addr := r.waitFor(t, 5*time.Minute, forwardURL)
	if !strings.Contains(r.errOut.String(), "deployment/hello is ready") {
		t.Errorf("no readiness line for deployment/hello before forwarding:\n%s", r.errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pods, err := c.readyPods(ctx, ns, "app=hello")
	if err != nil || len(pods) != 2 {
		t.Fatalf("want 2 ready hello pods after skiff run, got %v (err %v)", pods, err)
	}
	answer, err := httpGet(ctx, "http://"+addr+"/")
	if err != nil || !strings.Contains(answer, "Hello from skiff!") {
		t.Fatalf("GET http://%s/ through skiff's forward: %q, %v", addr, answer, err)
	}
	served := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(answer), "Hello from skiff! (pod "), ")")

	// The forward moves to another ready pod when its pod goes away.
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, served, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "an answer from another pod through the same forward", func(ctx context.Context) (bool, string, error) {
		got, err := httpGet(ctx, "http://"+addr+"/")
		if err != nil {
			return false, err.Error(), nil
		}
		return !strings.Contains(got, served), got, nil
	})
	waitFor(t, time.Minute, "prefixed log lines of both replicas", func(context.Context) (bool, string, error) {
		logs := r.out.String()
		n := 0
		for _, p := range pods {
			if strings.Contains(logs, "["+p+" hello] ") || strings.Contains(logs, "["+p+"] ") {
				n++
			}
		}
		return n == 2, logs, nil
	})
	if err := r.stop(t); err != nil {
		t.Fatalf("skiff run after Ctrl-C: %v\nstderr:\n%s", err, r.errOut)
	}

	// The app keeps running after skiff run ends; running it again with
	// nothing changed restarts no pod.
	var before []string
	waitFor(t, 2*time.Minute, "two ready hello pods again", func(ctx context.Context) (bool, string, error) {
		before, err = c.readyPods(ctx, ns, "app=hello")
		return err == nil && len(before) == 2, fmt.Sprint(before, err), nil
	})
	_, stderr, err := skiff(t, dir, "run", "-n", ns)
	if err != nil {
		t.Fatalf("second skiff run: %v\n%s", err, stderr)
	}
	after, err := c.readyPods(ctx, ns, "app=hello")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, after) {
		t.Errorf("an unchanged run replaced pods: before %v, after %v", before, after)
	}

	_, stderr, err = skiff(t, dir, "delete", "-n", ns)
	if err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
	left, err := c.managedObjects(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("skiff delete left %v in %s\n%s", left, ns, stderr)
	}
}

// TestRunKustomizeTwoArtifacts deploys two Go artifacts through a
// kustomize overlay: both workloads run the images skiff built, with the
// overlay's patch applied.
func TestRunKustomizeTwoArtifacts(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	prefix := "kz-" + randomSuffix(t)
	src := helloSource(t)
	dir := t.TempDir()
	workload := func(name string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  replicas: 1
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: ` + name + `
        image: ` + prefix + `-` + name + `
        ports: [{containerPort: 8080}]
`
	}
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + prefix + `
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: ` + prefix + `-web
    context: web
    ko: {main: .}
  - image: ` + prefix + `-api
    context: api
    ko: {main: .}
manifests:
  kustomize:
    paths: [overlays/dev]
deploy:
  kubectl: {}
`,
		"web/go.mod":                      "module example.com/web\n\ngo 1.25\n",
		"web/main.go":                     src,
		"api/go.mod":                      "module example.com/api\n\ngo 1.25\n",
		"api/main.go":                     src,
		"base/kustomization.yaml":         "resources: [web.yaml, api.yaml]\n",
		"base/web.yaml":                   workload("web"),
		"base/api.yaml":                   workload("api"),
		"overlays/dev/kustomization.yaml": "resources: [../../base]\ncommonLabels: {tier: dev}\npatches:\n- path: replicas.yaml\n",
		"overlays/dev/replicas.yaml":      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n",
	})
	buildFile := filepath.Join(t.TempDir(), "build.json")
	_, stderr, err := skiff(t, dir, "build", "--file-output", buildFile)
	if err != nil {
		t.Fatalf("skiff build: %v\n%s", err, stderr)
	}
	built := readBuilds(t, buildFile)

	_, stderr, err = skiff(t, dir, "run", "-n", ns)
	if err != nil {
		t.Fatalf("skiff run: %v\n%s", err, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, replicas := range map[string]int32{"web": 2, "api": 1} {
		d, err := c.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment %s after skiff run: %v\n%s", name, err, stderr)
		}
		if got, want := d.Spec.Template.Spec.Containers[0].Image, built[prefix+"-"+name]; got != want {
			t.Errorf("deployment %s runs %s, want the built %s", name, got, want)
		}
		if d.Status.ReadyReplicas != replicas || d.Labels["tier"] != "dev" {
			t.Errorf("deployment %s: %d ready replicas (want %d), labels %v (want the overlay's tier=dev)", name, d.Status.ReadyReplicas, replicas, d.Labels)
		}
	}
	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
}

// TestRunHelmChart deploys a local Helm chart whose image comes from
// setValueTemplates, with a values file and setValues.
func TestRunHelmChart(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	prefix := "helm-" + randomSuffix(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + prefix + `
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: ` + prefix + `
    context: app
    ko: {main: .}
manifests:
  helm:
    releases:
    - name: greeter
      chartPath: chart
      valuesFiles: [values-dev.yaml]
      setValues:
        replicas: 2
      setValueTemplates:
        image: "{{.IMAGE_FULLY_QUALIFIED_` + strings.ReplaceAll(prefix, "-", "_") + `}}"
deploy:
  kubectl: {}
`,
		"app/go.mod":        "module example.com/app\n\ngo 1.25\n",
		"app/main.go":       helloSource(t),
		"chart/Chart.yaml":  "apiVersion: v2\nname: greeter\nversion: 0.1.0\n",
		"chart/values.yaml": "replicas: 1\nimage: unset\ngreeting: default\n",
		"values-dev.yaml":   "greeting: from-values-file\n",
		"chart/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  annotations:
    greeting: {{ .Values.greeting }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
`,
	})
	_, stderr, err := skiff(t, dir, "run", "-n", ns)
	if err != nil {
		t.Fatalf("skiff run: %v\n%s", err, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "greeter", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's deployment: %v\n%s", err, stderr)
	}
	image := d.Spec.Template.Spec.Containers[0].Image
	if !strings.Contains(image, "/"+prefix+":") || d.Status.ReadyReplicas != 2 || d.Annotations["greeting"] != "from-values-file" {
		t.Errorf("deployment greeter: image %s (want the built %s), %d ready (want 2), greeting %q (want the values file's)",
			image, prefix, d.Status.ReadyReplicas, d.Annotations["greeting"])
	}
	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
}

// failingProject is a one-deployment project whose container runs args
// with image.
func failingProject(t testing.TB, name, image string, args []string) string {
	dir := t.TempDir()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + name + `
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: ` + name + `
    context: app
    ko: {main: .}
manifests:
  rawYaml: [k8s/*.yaml]
deploy:
  kubectl: {}
  statusCheckDeadlineSeconds: 600
`,
		"app/go.mod":  "module example.com/app\n\ngo 1.25\n",
		"app/main.go": helloSource(t),
		"k8s/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  replicas: 1
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: app
        image: ` + image + `
        args: [` + strings.Join(quoted, ", ") + `]
`,
	})
	return dir
}

// TestRunFailsFastOnCrashLoop: a container that exits at once makes
// skiff run fail with the reason and the container's last log lines,
// long before the ten-minute deadline.
func TestRunFailsFastOnCrashLoop(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	name := "crash-" + randomSuffix(t)
	dir := failingProject(t, name, name, []string{"explode"})
	_, stderr, err := skiff(t, dir, "run", "-n", ns)
	if err == nil {
		t.Fatalf("skiff run of a crashing app succeeded:\n%s", stderr)
	}
	msg := err.Error()
	for _, want := range []string{"deployment/" + name, `unknown command \"explode\"`} {
		if !strings.Contains(msg, want) && !strings.Contains(msg, strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("the error does not mention %s:\n%s", want, msg)
		}
	}
	if strings.Contains(strings.ToLower(msg), "deadline") {
		t.Errorf("skiff run waited for the deadline instead of failing fast:\n%s", msg)
	}
}

// TestRunFailsFastOnUnpullableImage: an image that is not in the
// registry makes skiff run fail with the pull error and what to check.
func TestRunFailsFastOnUnpullableImage(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	name := "nopull-" + randomSuffix(t)
	missing := c.localRegistry(t) + "/skiff-e2e-missing:" + randomSuffix(t)
	dir := failingProject(t, name, missing, nil)
	_, stderr, err := skiff(t, dir, "run", "-n", ns)
	if err == nil {
		t.Fatalf("skiff run with an unpullable image succeeded:\n%s", stderr)
	}
	msg := err.Error()
	if !strings.Contains(msg, missing) || !(strings.Contains(msg, "ErrImagePull") || strings.Contains(msg, "ImagePullBackOff")) {
		t.Errorf("the error does not name the image and the pull failure:\n%s", msg)
	}
	if strings.Contains(strings.ToLower(msg), "deadline") {
		t.Errorf("skiff run waited for the deadline instead of failing fast:\n%s", msg)
	}
}

// TestDockerDeployer runs a project with deploy.docker: skiff run starts
// the built image as a container on the local daemon with its port bound
// to loopback, and skiff delete removes the container and its network.
func TestDockerDeployer(t *testing.T) {
	docker := newDocker(t)
	name := "dock-" + randomSuffix(t)
	port := testutil.FreePort(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: ` + name + `
build:
  tagPolicy: {inputDigest: {}}
  local: {push: false}
  artifacts:
  - image: ` + name + `
    context: app
    ko: {main: .}
deploy:
  docker:
    images: [` + name + `]
portForward:
- resourceType: container
  resourceName: ` + name + `
  port: 8080
  localPort: ` + fmt.Sprint(port) + `
`,
		"app/go.mod":  "module example.com/app\n\ngo 1.25\n",
		"app/main.go": helloSource(t),
	})
	t.Cleanup(func() {
		if _, stderr, err := skiff(t, dir, "delete"); err != nil {
			t.Errorf("skiff delete at cleanup: %v\n%s", err, stderr)
		}
	})
	_, stderr, err := skiff(t, dir, "run")
	if err != nil {
		t.Fatalf("skiff run with the docker deployer: %v\n%s", err, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitFor(t, 30*time.Second, "the container to answer on "+url, func(ctx context.Context) (bool, string, error) {
		got, err := httpGet(ctx, url)
		if err != nil {
			return false, err.Error(), nil
		}
		return strings.Contains(got, "hello from"), got, nil
	})

	_, stderr, err = skiff(t, dir, "delete")
	if err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
	project := client.Filters{}.Add("label", kube.ProjectLabel)
	containers, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: project})
	if err != nil {
		t.Fatal(err)
	}
	networks, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: project})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers.Items {
		if strings.HasPrefix(c.Labels[kube.ProjectLabel], name) {
			t.Errorf("skiff delete left container %v", c.Names)
		}
	}
	for _, n := range networks.Items {
		if strings.HasPrefix(n.Labels[kube.ProjectLabel], name) {
			t.Errorf("skiff delete left network %s", n.Name)
		}
	}
}
