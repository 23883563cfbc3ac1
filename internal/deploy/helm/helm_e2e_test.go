//go:build e2e

package helm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/provenance"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/repo"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/testutil"
)

// These tests install releases on the local cluster of hack/cluster.sh
// and read them back with the Helm SDK (action.List, action.History), as
// `helm list` and `helm history` would:
//
//	eval "$(hack/cluster.sh env)"; go test -tags e2e ./internal/deploy/helm/
//
// Each works in a namespace of its own and removes it.

// localRegistry is hack/cluster.sh's registry, on loopback.
const localRegistry = "127.0.0.1:5001"

func connect(t *testing.T) (*kube.Config, kubernetes.Interface) {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal(`KUBECONFIG is not set: run eval "$(hack/cluster.sh env)" first`)
	}
	kc, err := kube.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubetest.Clientset(kc.REST, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return kc, cs
}

func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// namespace makes a namespace for the test and deletes it at the end.
func namespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns := uniqueName(t, "skiff-helm-")
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleaning up namespace %s: %v", ns, err)
		}
	})
	return ns
}

// writeFiles writes files (path: content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// chartFiles is a chart "web": a Deployment of .Values.replicas pods of
// .Values.image and a post-install/post-upgrade hook, a ConfigMap that
// records the revision it ran for.
var chartFiles = map[string]string{
	"Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	"values.yaml": "replicas: 1\nimage: app\n",
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: web
        image: {{ .Values.image }}
`,
	"templates/hook.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
data:
  revision: "{{ .Release.Revision }}"
`,
}

// load loads the skaffold.yaml in dir.
func load(t *testing.T, dir string) []*config.Config {
	t.Helper()
	p, err := config.Load(config.Options{File: filepath.Join(dir, "skaffold.yaml"), Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return p.Configs
}

// helmConfig is a Helm action configuration for ns, to read releases as
// the helm command would.
func helmConfig(t *testing.T, kc *kube.Config, ns string) *action.Configuration {
	t.Helper()
	d, err := New(kc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.configuration(ns)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// history is the release's revisions and their statuses, oldest first,
// as `helm history` lists them.
func history(t *testing.T, cfg *action.Configuration, name string) []string {
	t.Helper()
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

// TestE2EInstallUpgradeHookPostRendererDelete installs a local chart
// release through the flags' post-renderer (which makes 5 replicas, as
// Skaffold's helm-hook test expects) and skiff's (a label), upgrades it,
// sees its hook run for both revisions and helm record both, and deletes
// it.
func TestE2EInstallUpgradeHookPostRendererDelete(t *testing.T) {
	kc, cs := connect(t)
	ns := namespace(t, cs)
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "chart"), chartFiles)
	writeFiles(t, dir, map[string]string{
		"replicas.sh": "#!/bin/sh\nsed 's/replicas: 1$/replicas: 5/'\n",
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
deploy:
  helm:
    flags:
      install: [--post-renderer, ./replicas.sh, --timeout=2m]
      upgrade: [--post-renderer=./replicas.sh, --description, upgraded by skiff]
    releases:
    - name: web
      chartPath: chart
      namespace: ` + ns + `
      setValueTemplates:
        image: "{{.IMAGE_FULLY_QUALIFIED_app}}"
`,
	})
	images := []artifact.Image{{Name: "app", Ref: "registry.k8s.io/pause:3.10"}}
	rels, err := render.HelmInstalls(load(t, dir), render.Options{Images: images, WorkDir: dir}, BuildDependencies)
	if err != nil {
		t.Fatal(err)
	}
	var out testutil.Buffer
	posts := 0
	d, err := New(kc, Options{Out: &out, PostRender: func(b []byte) ([]byte, error) {
		posts++
		return bytes.ReplaceAll(b, []byte("  name: web\n"), []byte("  name: web\n  labels: {skiff.dev/test: post-rendered}\n")), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := helmConfig(t, kc, ns)
	t.Cleanup(func() { _ = d.Delete(context.Background(), rels) })

	objs, err := d.Deploy(t.Context(), rels)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	if got := history(t, cfg, "web"); strings.Join(got, ",") != "deployed" {
		t.Fatalf("history after install = %v, want [deployed]", got)
	}
	dep, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 5 {
		t.Errorf("replicas = %d, want 5 (the flags' post-renderer)", *dep.Spec.Replicas)
	}
	if dep.Labels["skiff.dev/test"] != "post-rendered" {
		t.Errorf("labels = %v, want skiff's post-render's label too", dep.Labels)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != "registry.k8s.io/pause:3.10" {
		t.Errorf("image = %s, want the built image from setValueTemplates", img)
	}
	found := false
	for _, o := range objs {
		found = found || (o.GetKind() == "Deployment" && o.GetName() == "web" && o.GetNamespace() == ns)
	}
	if !found {
		t.Errorf("Deploy returned %d objects, not Deployment %s/web", len(objs), ns)
	}
	hook := func() string {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(t.Context(), "web-hook", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the chart's post-install hook: %v", err)
		}
		return cm.Data["revision"]
	}
	if got := hook(); got != "1" {
		t.Errorf("hook ran for revision %q, want 1", got)
	}

	if _, err := d.Deploy(t.Context(), rels); err != nil {
		t.Fatalf("upgrade: %v\n%s", err, out.String())
	}
	if got := history(t, cfg, "web"); strings.Join(got, ",") != "superseded,deployed" {
		t.Fatalf("history after upgrade = %v, want [superseded deployed]", got)
	}
	if got := hook(); got != "2" {
		t.Errorf("hook ran for revision %q, want 2 (post-upgrade)", got)
	}
	rel, err := action.NewGet(cfg).Run("web")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Info.Description != "upgraded by skiff" {
		t.Errorf("description = %q, want flags.upgrade's", rel.Info.Description)
	}
	if len(rel.Hooks) != 1 || rel.Hooks[0].LastRun.Phase != release.HookPhaseSucceeded {
		t.Errorf("hooks = %+v, want one that succeeded", rel.Hooks)
	}
	if posts != 2 {
		t.Errorf("skiff's post-render ran %d times, want 2", posts)
	}
	list := action.NewList(cfg)
	listed, err := list.Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Name != "web" || listed[0].Version != 2 {
		t.Errorf("helm list = %v, want web at revision 2", listed)
	}
	for _, want := range []string{"helm release web (namespace " + ns + ") installed: revision 1, chart web-0.1.0", "upgraded: revision 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	if err := d.Delete(t.Context(), rels); err != nil {
		t.Fatal(err)
	}
	if got := history(t, cfg, "web"); got != nil {
		t.Errorf("history after delete = %v, want no release", got)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment after delete: %v, want not found", err)
	}
	if err := d.Delete(t.Context(), rels); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not installed, nothing to uninstall") {
		t.Errorf("a second delete does not say there was nothing to uninstall:\n%s", out.String())
	}
}

// TestE2ERemoteCharts installs a chart from an HTTP chart repository (an
// index.yaml and the archive, served on loopback) and from the local OCI
// registry, and leaves them at their revision on the next deploy (a
// remote chart's upgradeOnChange is off by default).
func TestE2ERemoteCharts(t *testing.T) {
	kc, cs := connect(t)
	ns := namespace(t, cs)
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "src"), chartFiles)
	ch, err := loader.Load(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	ch.Metadata.Version = "0.2.0"
	archive, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}

	// The HTTP repository.
	index := repo.NewIndexFile()
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	digest, err := provenance.DigestFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := index.MustAdd(ch.Metadata, filepath.Base(archive), srv.URL+"/charts", digest); err != nil {
		t.Fatal(err)
	}
	indexFile := filepath.Join(dir, "index.yaml")
	if err := index.WriteFile(indexFile, 0o644); err != nil {
		t.Fatal(err)
	}
	indexData, err := os.ReadFile(indexFile)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		served []string
	)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served = append(served, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/charts/index.yaml":
			w.Write(indexData)
		case "/charts/" + filepath.Base(archive):
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	})

	// The OCI registry.
	ociRepo := "oci://" + localRegistry + "/" + uniqueName(t, "skiff-e2e-charts-")
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Push(data, strings.TrimPrefix(ociRepo, "oci://")+"/web:0.2.0"); err != nil {
		t.Fatal(err)
	}

	writeFiles(t, dir, map[string]string{"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
deploy:
  helm:
    releases:
    - name: from-http
      repo: ` + srv.URL + `/charts
      remoteChart: web
      version: 0.2.0
      namespace: ` + ns + `
      setValues: {image: registry.k8s.io/pause:3.10}
    - name: from-oci
      remoteChart: ` + ociRepo + `/web
      version: 0.2.0
      namespace: ` + ns + `
      setValues: {image: registry.k8s.io/pause:3.10}
`})
	rels, err := render.HelmInstalls(load(t, dir), render.Options{WorkDir: dir}, BuildDependencies)
	if err != nil {
		t.Fatal(err)
	}
	var out testutil.Buffer
	d, err := New(kc, Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Delete(context.Background(), rels) })
	if _, err := d.Deploy(t.Context(), rels); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	cfg := helmConfig(t, kc, ns)
	for _, name := range []string{"from-http", "from-oci"} {
		rel, err := action.NewGet(cfg).Run(name)
		if err != nil {
			t.Fatalf("release %s: %v", name, err)
		}
		if rel.Chart.Metadata.Version != "0.2.0" || rel.Version != 1 {
			t.Errorf("release %s: chart version %s revision %d, want 0.2.0 and 1", name, rel.Chart.Metadata.Version, rel.Version)
		}
		if _, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			t.Errorf("release %s: %v", name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(served, " "), "/charts/index.yaml") {
		t.Errorf("the HTTP repository served %v, not its index", served)
	}

	if _, err := d.Deploy(t.Context(), rels); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"from-http", "from-oci"} {
		if got := history(t, cfg, name); len(got) != 1 {
			t.Errorf("release %s history = %v after a second deploy, want one revision (upgradeOnChange is off for remote charts)", name, got)
		}
	}
	if !strings.Contains(out.String(), "left at revision 1: upgradeOnChange is off") {
		t.Errorf("output does not say the releases were left alone:\n%s", out.String())
	}
}
