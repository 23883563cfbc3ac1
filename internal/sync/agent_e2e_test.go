//go:build e2e

package sync_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/testutil"
)

// agentAppServer is the FROM scratch app: it serves the files under /app.
const agentAppServer = `package main

import (
	"log"
	"net/http"
)

func main() {
	log.Fatal(http.ListenAndServe(":8080", http.FileServer(http.Dir("/app"))))
}
`

// TestAgentE2E delivers skiff-agent into both replicas of a Deployment of
// a FROM scratch image (no tar, no shell) through deliver.Inject, syncs a
// new file, an overwrite, a nested file and a deletion into both pods with
// AgentTransport, and checks them over HTTP through a port-forward to each
// pod; a path outside the sync root is refused, and TarTransport fails
// with ErrNoTar.
func TestAgentE2E(t *testing.T) {
	kc, cs := clusterE2E(t)
	registry := registryE2E()
	reg := image.NewRegistry(nil)

	agentImg, err := deliver.Image(goBuildStatic(t, "skiff.dev/skiff/cmd/skiff-agent", ""))
	if err != nil {
		t.Fatal(err)
	}
	agentRef, pushed, err := deliver.Push(t.Context(), reg, registry+"/skiff-agent", agentImg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent image %s (pushed: %v)", agentRef, pushed)
	if _, pushed, err := deliver.Push(t.Context(), reg, registry+"/skiff-agent", agentImg); err != nil || pushed {
		t.Errorf("second push of the agent image: pushed=%v, %v; want it skipped", pushed, err)
	}
	appRef := pushScratchApp(t, reg, registry, 0)

	ns := testutil.Namespace(t, cs, "skiff-e2e-sync-")
	pods := createAgentDeployment(t, cs, ns, appRef, agentRef, nil)

	ex, err := sync.NewKubeExecutor(kc)
	if err != nil {
		t.Fatal(err)
	}
	fw := kube.NewForwarder(kc, kubetest.API(cs), io.Discard, nil)
	t.Cleanup(fw.Stop)
	addrs := map[string]string{}
	for _, pod := range pods {
		addr, err := fw.Add(t.Context(), kube.Forward{Type: "pod", Name: pod, Namespace: ns, Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
		if err != nil {
			t.Fatal(err)
		}
		addrs[pod] = addr
		checkServed(t, addr, map[string]string{"/hello.txt": "v1\n", "/old.txt": "old\n", "/new.txt": "", "/a/b/c.txt": ""})
	}

	local := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(local, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := local
	op := func(kind sync.OpKind, local, dest string) sync.Op {
		return sync.Op{Kind: kind, Local: local, Base: base, Dest: dest, Root: "/app"}
	}
	ops := []sync.Op{
		op(sync.Write, write("new.txt", "new\n"), "/app/new.txt"),
		op(sync.Write, write("hello.txt", "v2\n"), "/app/hello.txt"),
		op(sync.Write, write("a/b/c.txt", "nested\n"), "/app/a/b/c.txt"),
		op(sync.Delete, filepath.Join(local, "old.txt"), "/app/old.txt"),
	}
	tr := &sync.AgentTransport{Exec: ex}
	t.Cleanup(tr.Close)
	for _, pod := range pods {
		if err := tr.Sync(t.Context(), sync.Target{Namespace: ns, Pod: pod, Container: "app"}, ops); err != nil {
			t.Fatalf("sync to %s: %v", pod, err)
		}
	}
	for _, pod := range pods {
		checkServed(t, addrs[pod], map[string]string{"/hello.txt": "v2\n", "/new.txt": "new\n", "/a/b/c.txt": "nested\n", "/keep.txt": "keep\n", "/old.txt": ""})
	}

	target := sync.Target{Namespace: ns, Pod: pods[0], Container: "app"}
	t.Run("outside the allowed destination", func(t *testing.T) {
		evil := write("evil", "evil\n")
		for _, dest := range []string{"/etc/evil", "/app/../etc/evil"} {
			err := tr.Sync(t.Context(), target, []sync.Op{op(sync.Write, evil, dest)})
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), "refus") || !strings.Contains(err.Error(), pods[0]) {
				t.Errorf("writing %s with root /app: %v; want a refusal naming the pod", dest, err)
			}
		}
	})
	t.Run("TarTransport has no tar", func(t *testing.T) {
		err := (&sync.TarTransport{Exec: ex}).Sync(t.Context(), target, ops[:1])
		t.Logf("error: %v", err)
		if !errors.Is(err, sync.ErrNoTar) {
			t.Errorf("tar sync into a FROM scratch image: %v; want ErrNoTar", err)
		}
		// Issue 11: with 2,000 files (2 MB) on stdin, an exec of the
		// missing program sometimes reported success. Every try must fail.
		var many []sync.Op
		for i := range 2000 {
			rel := fmt.Sprintf("many/f%04d.txt", i)
			many = append(many, op(sync.Write, write(rel, strings.Repeat("x", 1000)), "/app/"+rel))
		}
		for i := range 10 {
			if err := (&sync.TarTransport{Exec: ex}).Sync(t.Context(), target, many); !errors.Is(err, sync.ErrNoTar) {
				t.Errorf("try %d: tar sync of 2,000 files into a FROM scratch image: %v; want ErrNoTar", i, err)
			}
		}
	})
	t.Run("one session per pod", func(t *testing.T) {
		// Five syncs into both replicas at once, as skiff dev sends them:
		// each pod's agent is exec'd once, and serves every sync.
		counted := &countingExec{Executor: ex}
		tr := &sync.AgentTransport{Exec: counted}
		defer tr.Close()
		for i := range 5 {
			content := fmt.Sprintf("edit %d\n", i)
			edit := []sync.Op{op(sync.Write, write("edit.txt", content), "/app/edit.txt")}
			errs := make(chan error, len(pods))
			for _, pod := range pods {
				go func() {
					errs <- tr.Sync(t.Context(), sync.Target{Namespace: ns, Pod: pod, Container: "app"}, edit)
				}()
			}
			for range pods {
				if err := <-errs; err != nil {
					t.Fatalf("sync %d: %v", i, err)
				}
			}
			for _, pod := range pods {
				checkServed(t, addrs[pod], map[string]string{"/edit.txt": content})
			}
		}
		if n := counted.count(); n != len(pods) {
			t.Errorf("5 syncs into %d pods ran %d execs, want one per pod", len(pods), n)
		}
	})
	t.Run("timing", func(t *testing.T) {
		two := []sync.Op{op(sync.Write, write("t1.txt", "one\n"), "/app/t1.txt"), op(sync.Write, write("t2.txt", "two\n"), "/app/t2.txt")}
		// A new transport: the first sync opens the session.
		tr := &sync.AgentTransport{Exec: ex}
		defer tr.Close()
		var times []time.Duration
		for range 20 {
			start := time.Now()
			if err := tr.Sync(t.Context(), target, two); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		sorted := slices.Clone(times)
		slices.Sort(sorted)
		t.Logf("AgentTransport sync of 2 files to one pod: first %v, median of %d %v (all, sorted: %v)", times[0], len(sorted), sorted[len(sorted)/2], sorted)
		checkServed(t, addrs[pods[0]], map[string]string{"/t1.txt": "one\n", "/t2.txt": "two\n"})
	})
}

// countingExec counts the execs it runs through Executor.
type countingExec struct {
	sync.Executor
	mu gosync.Mutex
	n  int
}

func (c *countingExec) Exec(ctx context.Context, t sync.Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Executor.Exec(ctx, t, cmd, stdin, stdout, stderr)
}

func (c *countingExec) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// checkServed GETs each path from the app at addr; "" means 404.
func checkServed(t *testing.T, addr string, want map[string]string) {
	t.Helper()
	for p, w := range want {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Errorf("GET %s from %s: %v", p, addr, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		switch {
		case err != nil:
			t.Errorf("GET %s from %s: %v", p, addr, err)
		case w == "" && resp.StatusCode != http.StatusNotFound:
			t.Errorf("GET %s from %s: %s %q; want 404", p, addr, resp.Status, body)
		case w != "" && (resp.StatusCode != http.StatusOK || string(body) != w):
			t.Errorf("GET %s from %s: %s %q; want %q", p, addr, resp.Status, body, w)
		}
	}
}

// goBuildStatic builds a Go package (or, with src, a main package of that
// source) static for linux on this machine, and returns the binary's path.
func goBuildStatic(t *testing.T, pkg, src string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, pkg)
	if src != "" {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+pkg+"\n\ngo 1.26\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd.Args[len(cmd.Args)-1] = "."
		cmd.Dir = dir
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// pushScratchApp builds the file server into a FROM scratch image with
// /server and /app/{hello,old,keep}.txt, /app and its files owned by uid
// (and gid) owner, pushes it and returns it by digest.
func pushScratchApp(t *testing.T, reg *image.Registry, registry string, owner int) string {
	t.Helper()
	server, err := os.ReadFile(goBuildStatic(t, "server", agentAppServer))
	if err != nil {
		t.Fatal(err)
	}
	files := func(tw *tar.Writer) error {
		for _, f := range []struct {
			name string
			mode int64
			data string
		}{
			{"server", 0o755, string(server)},
			{"app/", 0o755, ""},
			{"app/hello.txt", 0o644, "v1\n"},
			{"app/old.txt", 0o644, "old\n"},
			{"app/keep.txt", 0o644, "keep\n"},
		} {
			h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
			if strings.HasPrefix(f.name, "app/") {
				h.Uid, h.Gid = owner, owner
			}
			if strings.HasSuffix(f.name, "/") {
				h.Typeflag = tar.TypeDir
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := tw.Write([]byte(f.data)); err != nil {
				return err
			}
		}
		return nil
	}
	return pushImage(t, reg, registry+"/skiff-e2e-scratch-app", fmt.Sprintf("e2e-owner%d", owner), files, func(c *v1.Config) {
		c.Entrypoint = []string{"/server"}
	})
}

// createAgentDeployment creates a 2-replica Deployment of appRef whose pod
// template went through deliver.Inject, and returns its ready pods; secure,
// if not nil, changes the pod spec before Inject.
func createAgentDeployment(t *testing.T, cs kubernetes.Interface, ns, appRef, agentRef string, secure func(*corev1.PodSpec)) []string {
	t.Helper()
	replicas, grace := int32(2), int64(1)
	labels := map[string]string{"app": "scratch"}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "scratch", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers:                    []corev1.Container{{Name: "app", Image: appRef, Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}},
				},
			},
		},
	}
	if secure != nil {
		secure(&d.Spec.Template.Spec)
	}
	obj, err := kruntime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	ms := []render.Manifest{{Object: &unstructured.Unstructured{Object: obj}}}
	if n, err := deliver.Inject(ms, agentRef, func(img string) bool { return img == appRef }); err != nil || n != 1 {
		t.Fatalf("Inject = %d, %v; want 1 pod template", n, err)
	}
	d = &appsv1.Deployment{}
	if err := kruntime.DefaultUnstructuredConverter.FromUnstructured(ms[0].Object.Object, d); err != nil {
		t.Fatal(err)
	}
	if init := d.Spec.Template.Spec.InitContainers; len(init) != 1 || init[0].Image != agentRef {
		t.Fatalf("init containers after Inject: %+v", init)
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Deployment %s/scratch: %v", ns, err)
	}
	var ready []string
	testutil.WaitFor(t, 3*time.Minute, "2 ready pods of scratch", func(ctx context.Context) (bool, string) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=scratch"})
		if err != nil {
			return false, err.Error()
		}
		ready = nil
		var states []string
		for _, p := range pods.Items {
			ok := p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
			for _, c := range p.Status.ContainerStatuses {
				ok = ok && c.Ready
			}
			if ok {
				ready = append(ready, p.Name)
			}
			states = append(states, fmt.Sprintf("%s %s %+v %+v", p.Name, p.Status.Phase, p.Status.InitContainerStatuses, p.Status.ContainerStatuses))
		}
		return len(ready) == 2, fmt.Sprint(states)
	})
	return ready
}
