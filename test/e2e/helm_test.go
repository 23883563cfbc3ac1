//go:build e2e

package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"skiff.dev/skiff/internal/kube"
)

// helmHistory lists release name's revisions in namespace ns and their
// statuses, oldest first, as `helm history` does (Helm SDK, Secrets
// storage, the KUBECONFIG cluster); nil when there is no such release.
func helmHistory(t testing.TB, ns, name string) []string {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.Namespace = &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	rels, err := action.NewHistory(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rels))
	for _, r := range rels {
		out[r.Version-1] = r.Info.Status.String()
	}
	return out
}

// TestRunHelmRelease: skiff run installs deploy.helm's release as a Helm
// release, through the flags' post-renderer (5 replicas, as Skaffold's
// helm-hook test expects) with the built image and skiff's labels, and
// the status check waits for it; a second run upgrades it (revision 2),
// the chart's hook runs each time, and skiff delete uninstalls it.
func TestRunHelmRelease(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	prefix := "helmrel-" + randomSuffix(t)
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
deploy:
  helm:
    flags:
      install: [--post-renderer, ./replicas.sh]
      upgrade: [--post-renderer, ./replicas.sh]
    releases:
    - name: greeter
      chartPath: chart
`,
		"app/go.mod":        "module example.com/app\n\ngo 1.25\n",
		"app/main.go":       helloSource(t),
		"replicas.sh":       "#!/bin/sh\nsed 's/replicas: 1$/replicas: 5/'\n",
		"chart/Chart.yaml":  "apiVersion: v2\nname: greeter\nversion: 0.1.0\n",
		"chart/values.yaml": "image: " + prefix + "\n",
		"chart/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
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
		"chart/templates/hook.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
data:
  revision: "{{ .Release.Revision }}"
`,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	check := func(revision string, history string) {
		t.Helper()
		d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "greeter", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the release's deployment: %v", err)
		}
		image := d.Spec.Template.Spec.Containers[0].Image
		if !strings.Contains(image, "/"+prefix+":") {
			t.Errorf("deployment runs %s, want the built %s", image, prefix)
		}
		if *d.Spec.Replicas != 5 || d.Status.ReadyReplicas != 5 {
			t.Errorf("deployment: %d replicas, %d ready; want 5 and 5 (the post-renderer's, waited for by the status check)", *d.Spec.Replicas, d.Status.ReadyReplicas)
		}
		if d.Labels[kube.ProjectLabel] == "" || d.Spec.Template.Labels[kube.ProjectLabel] == "" {
			t.Errorf("deployment labels %v, pod labels %v: want skiff's %s", d.Labels, d.Spec.Template.Labels, kube.ProjectLabel)
		}
		cm, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "greeter-hook", metav1.GetOptions{})
		if err != nil || cm.Data["revision"] != revision {
			t.Errorf("the chart's hook: %v %v, want it run for revision %s", cm.Data, err, revision)
		}
		if got := strings.Join(helmHistory(t, ns, "greeter"), ","); got != history {
			t.Errorf("helm history = %s, want %s", got, history)
		}
	}

	_, stderr, err := skiff(t, dir, "run", "-n", ns)
	if err != nil {
		t.Fatalf("skiff run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "helm release greeter (namespace "+ns+") installed: revision 1") {
		t.Errorf("skiff run does not report the install:\n%s", stderr)
	}
	check("1", "deployed")

	if _, stderr, err = skiff(t, dir, "run", "-n", ns); err != nil {
		t.Fatalf("second skiff run: %v\n%s", err, stderr)
	}
	check("2", "superseded,deployed")

	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
	if got := helmHistory(t, ns, "greeter"); got != nil {
		t.Errorf("helm history after skiff delete = %v, want no release", got)
	}
	if _, err := c.client.AppsV1().Deployments(ns).Get(ctx, "greeter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the deployment after skiff delete: %v, want not found", err)
	}
}
