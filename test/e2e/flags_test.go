//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/cli"
)

// skiffIn is skiff with stdin.
func skiffIn(t testing.TB, dir, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args = append(args, "-f", filepath.Join(dir, "skaffold.yaml"))
	err = cli.Run(ctx, cli.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, args)
	return out.String(), errOut.String(), err
}

// TestSkaffoldFlagsOnCluster: Skaffold's pipe build -q | deploy -a -
// deploys what was built, with -l's labels on the Deployment and its
// pods; delete --dry-run deletes nothing; a change to an immutable field
// fails without --force and recreates the Deployment with it.
func TestSkaffoldFlagsOnCluster(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	prefix := "flags-" + randomSuffix(t)
	dir := t.TempDir()
	manifest := func(version string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app, version: ` + version + `}
  template:
    metadata:
      labels: {app: app, version: ` + version + `}
    spec:
      containers:
      - name: app
        image: ` + prefix + `
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
  - image: ` + prefix + `
    context: app
    ko: {main: .}
manifests:
  rawYaml: [k8s.yaml]
deploy:
  kubectl: {}
`,
		"app/go.mod":  "module example.com/app\n\ngo 1.25\n",
		"app/main.go": helloSource(t),
		"k8s.yaml":    manifest("v1"),
	})
	built, stderr, err := skiff(t, dir, "build", "-q")
	if err != nil {
		t.Fatalf("skiff build -q: %v\n%s", err, stderr)
	}
	if !strings.HasPrefix(built, `{"builds":[{"imageName":"`+prefix+`","tag":"`) {
		t.Fatalf("build -q printed %q, want Skaffold's build output", built)
	}
	_, stderr, err = skiffIn(t, dir, built, "deploy", "-a", "-", "-n", ns, "-l", "team=e2e")
	if err != nil {
		t.Fatalf("skiff deploy -a -: %v\n%s", err, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(built, `"tag":"`+img+`"`) {
		t.Errorf("the deployment runs %s, not the image of build -q: %s", img, built)
	}
	if d.Labels["team"] != "e2e" || d.Spec.Template.Labels["team"] != "e2e" {
		t.Errorf("-l team=e2e: deployment labels %v, pod labels %v", d.Labels, d.Spec.Template.Labels)
	}

	_, stderr, err = skiff(t, dir, "delete", "--dry-run", "-n", ns)
	if err != nil || !strings.Contains(stderr, "deployment.apps/app would be deleted") {
		t.Fatalf("delete --dry-run: %v\n%s", err, stderr)
	}
	if _, err := c.client.AppsV1().Deployments(ns).Get(ctx, "app", metav1.GetOptions{}); err != nil {
		t.Fatalf("the deployment is gone after delete --dry-run: %v", err)
	}

	// A new selector cannot be applied in place.
	if err := os.WriteFile(filepath.Join(dir, "k8s.yaml"), []byte(manifest("v2")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = skiffIn(t, dir, built, "deploy", "-a", "-", "-n", ns)
	if err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("deploy of a changed selector without --force: %v\n%s", err, stderr)
	}
	_, stderr, err = skiffIn(t, dir, built, "deploy", "-a", "-", "-n", ns, "--force")
	if err != nil || !strings.Contains(stderr, "deployment.apps/app recreated (--force)") {
		t.Fatalf("deploy --force: %v\n%s", err, stderr)
	}
	now, err := c.client.AppsV1().Deployments(ns).Get(ctx, "app", metav1.GetOptions{})
	if err != nil || now.UID == d.UID || now.Spec.Selector.MatchLabels["version"] != "v2" || now.Status.ReadyReplicas != 1 {
		t.Errorf("after deploy --force: %v, uid %s (was %s), selector %v, ready %d", err, now.UID, d.UID, now.Spec.Selector.MatchLabels, now.Status.ReadyReplicas)
	}
	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
}
