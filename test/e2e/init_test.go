//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// copyWithoutConfig copies the example src into a fresh directory, leaving
// its skaffold.yaml out.
func copyWithoutConfig(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "skaffold.yaml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// initRunDelete runs skiff init in dir, then skiff run into a fresh
// namespace, checks that each deployment of want (name -> the image its
// manifest names) is ready and runs the image skiff built, and deletes.
func initRunDelete(t *testing.T, c *cluster, dir string, want map[string]string) {
	t.Helper()
	ns := c.newNamespace(t)
	_, stderr, err := skiff(t, dir, "init")
	if err != nil {
		t.Fatalf("skiff init: %v\n%s", err, stderr)
	}
	config, _ := os.ReadFile(filepath.Join(dir, "skaffold.yaml"))
	_, stderr, err = skiff(t, dir, "run", "-n", ns)
	if err != nil {
		t.Fatalf("skiff run with the generated config: %v\n%s\nconfig:\n%s", err, stderr, config)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, image := range want {
		d, err := c.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment %s after skiff run: %v\n%s", name, err, stderr)
		}
		// The manifest's image is replaced by the built reference
		// (registry/image:tag@digest).
		got := d.Spec.Template.Spec.Containers[0].Image
		if d.Status.ReadyReplicas < 1 || got == image || !strings.Contains(got, "/"+image+":") {
			t.Errorf("deployment %s: %d ready replicas, image %s; want a ready pod of the built %s\nconfig:\n%s\n%s", name, d.Status.ReadyReplicas, got, image, config, stderr)
		}
	}
	if _, stderr, err := skiff(t, dir, "delete", "-n", ns); err != nil {
		t.Fatalf("skiff delete: %v\n%s", err, stderr)
	}
}

// TestInitExamples: skiff init writes a config for each example (its
// skaffold.yaml removed) that builds and deploys it.
func TestInitExamples(t *testing.T) {
	c := newCluster(t)
	for _, ex := range []string{"hello", "sync"} {
		t.Run(ex, func(t *testing.T) {
			src, err := filepath.Abs(filepath.Join("../../examples", ex))
			if err != nil {
				t.Fatal(err)
			}
			initRunDelete(t, c, copyWithoutConfig(t, src), map[string]string{ex: ex})
		})
	}
}

// TestInitMultiService: a project of a Dockerfile service and two Go
// services (one with its main package under cmd/), each with a manifest
// naming its image by its directory, and a third-party image: skiff init
// pairs them, and the config builds and deploys all three.
func TestInitMultiService(t *testing.T) {
	c := newCluster(t)
	prefix := "init-" + randomSuffix(t)
	bb, err := lookBusyboxE2E()
	if err != nil {
		t.Skip(err)
	}
	busybox, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	src := helloSource(t)
	deployment := func(name, image string, args string) string {
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
        image: ` + image + args + `
`
	}
	dir := t.TempDir()
	web, api, worker := prefix+"-web", prefix+"-api", prefix+"-worker"
	writeTree(t, dir, map[string]string{
		web + "/Dockerfile":            "FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\"]\n",
		web + "/index.html":            "hello\n",
		api + "/go.mod":                "module example.com/api\n\ngo 1.25\n",
		api + "/main.go":               src,
		worker + "/go.mod":             "module example.com/worker\n\ngo 1.25\n",
		worker + "/cmd/worker/main.go": src,
		"k8s/web.yaml":                 deployment("web", web, ""),
		"k8s/api.yaml":                 deployment("api", api, ""),
		"k8s/worker.yaml":              deployment("worker", worker, ""),
		"k8s/notes.yaml":               "title: not a manifest\n",
	})
	if err := os.WriteFile(filepath.Join(dir, web, "busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	initRunDelete(t, c, dir, map[string]string{"web": web, "api": api, "worker": worker})
}
