//go:build e2e

package sync_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/testutil"
)

// TestTarE2E syncs edits, a new nested file, a deletion and an executable
// through TarTransport into both replicas of a Deployment whose image has
// busybox's sh and tar, checks the result by exec and through a
// port-forward to each pod's httpd, checks the errors for a
// missing pod and a container that is not running, and logs sync timings.
func TestTarE2E(t *testing.T) {
	kc, cs := clusterE2E(t)
	img := pushBusybox(t, cs)
	ns := testutil.Namespace(t, cs, "skiff-e2e-sync-")
	pods := createDeployment(t, cs, ns, img)

	ex, err := sync.NewKubeExecutor(kc)
	if err != nil {
		t.Fatal(err)
	}
	tr := &sync.TarTransport{Exec: ex}

	local := t.TempDir()
	write := func(rel, content string, mode os.FileMode) string {
		p := filepath.Join(local, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := local
	op := func(kind sync.OpKind, local, dest string) sync.Op {
		return sync.Op{Kind: kind, Local: local, Base: base, Dest: dest, Root: "/app"}
	}
	ops := []sync.Op{
		op(sync.Write, write("index.html", "v2\n", 0o644), "/app/index.html"),
		op(sync.Write, write("a/b/new.txt", "new\n", 0o600), "/app/a/b/new.txt"),
		op(sync.Write, write("run.sh", "#!/bin/sh\necho ran\n", 0o755), "/app/run.sh"),
		op(sync.Delete, filepath.Join(local, "old.txt"), "/app/old.txt"),
	}
	for _, pod := range pods {
		target := sync.Target{Namespace: ns, Pod: pod, Container: "web"}
		if err := tr.Sync(t.Context(), target, ops); err != nil {
			t.Fatalf("sync to %s: %v", pod, err)
		}
	}
	for _, pod := range pods {
		target := sync.Target{Namespace: ns, Pod: pod, Container: "web"}
		for _, c := range []struct {
			cmd  []string
			want string
		}{
			{[]string{"cat", "/app/index.html"}, "v2\n"},
			{[]string{"cat", "/app/a/b/new.txt"}, "new\n"},
			{[]string{"cat", "/app/keep.txt"}, "keep\n"},
			{[]string{"/app/run.sh"}, "ran\n"},
			{[]string{"stat", "-c", "%a %n", "/app/index.html", "/app/a/b/new.txt", "/app/run.sh"}, "644 /app/index.html\n600 /app/a/b/new.txt\n755 /app/run.sh\n"},
			{[]string{"ls", "/app"}, "a\nindex.html\nkeep.txt\nrun.sh\n"},
		} {
			if got := execOut(t, ex, target, c.cmd...); got != c.want {
				t.Errorf("%s: %s = %q, want %q", pod, strings.Join(c.cmd, " "), got, c.want)
			}
		}
	}

	t.Run("served", func(t *testing.T) {
		f := kube.NewForwarder(kc, kubetest.API(cs), io.Discard, nil)
		t.Cleanup(f.Stop)
		for _, pod := range pods {
			addr, err := f.Add(t.Context(), kube.Forward{Type: "pod", Name: pod, Namespace: ns, Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]string{"/index.html": "200 v2\n", "/a/b/new.txt": "200 new\n", "/old.txt": "404"} {
				if got := httpGet(t, "http://"+addr+path); !strings.HasPrefix(got, want) {
					t.Errorf("%s: GET %s = %q, want %q", pod, path, got, want)
				}
			}
		}
	})
	t.Run("missing pod", func(t *testing.T) {
		target := sync.Target{Namespace: ns, Pod: "web-gone", Container: "web"}
		err := tr.Sync(t.Context(), target, ops[:1])
		t.Logf("error: %v", err)
		if err == nil || !strings.Contains(err.Error(), "web-gone") || !strings.Contains(err.Error(), "container web") || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("sync to a pod that does not exist: %v; want an error naming the pod, its container and saying it does not exist", err)
		}
	})
	t.Run("missing container", func(t *testing.T) {
		target := sync.Target{Namespace: ns, Pod: pods[0], Container: "nope"}
		err := tr.Sync(t.Context(), target, ops[:1])
		t.Logf("error: %v", err)
		if err == nil || !strings.Contains(err.Error(), "container nope") || !strings.Contains(err.Error(), "no container") {
			t.Errorf("sync to a container the pod does not have: %v; want an error naming the container and saying the pod has none", err)
		}
	})
	t.Run("container not running", func(t *testing.T) {
		pod := createWaitingPod(t, cs, ns, img)
		target := sync.Target{Namespace: ns, Pod: pod, Container: "web"}
		err := tr.Sync(t.Context(), target, ops[:1])
		t.Logf("error: %v", err)
		if err == nil || !strings.Contains(err.Error(), pod) || !strings.Contains(err.Error(), "not running") {
			t.Errorf("sync to a container that has not started: %v; want an error naming the pod and saying it is not running", err)
		}
	})

	t.Run("timing", func(t *testing.T) {
		two := []sync.Op{
			op(sync.Write, write("t1.txt", "one\n", 0o644), "/app/t1.txt"),
			op(sync.Write, write("t2.txt", "two\n", 0o644), "/app/t2.txt"),
		}
		targets := []sync.Target{{Namespace: ns, Pod: pods[0], Container: "web"}, {Namespace: ns, Pod: pods[1], Container: "web"}}
		fresh, err := sync.NewKubeExecutor(kc)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := (&sync.TarTransport{Exec: fresh}).Sync(t.Context(), targets[0], two); err != nil {
			t.Fatal(err)
		}
		t.Logf("first sync of 2 files to 1 pod with a new executor: %s", time.Since(start).Round(100*time.Microsecond))
		mixed := append(two[:2:2], op(sync.Delete, filepath.Join(local, "t3.txt"), "/app/t3.txt"))
		for _, c := range []struct {
			what string
			ops  []sync.Op
			pods int
		}{
			{"2 files to 1 pod", two, 1},
			{"2 files to 2 pods in sequence", two, 2},
			{"2 files and a deletion to 1 pod", mixed, 1},
		} {
			var times []time.Duration
			for range 20 {
				start := time.Now()
				for _, target := range targets[:c.pods] {
					if err := tr.Sync(t.Context(), target, c.ops); err != nil {
						t.Fatal(err)
					}
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			t.Logf("sync of %s: median %s of 20 (min %s, max %s)", c.what,
				times[len(times)/2].Round(100*time.Microsecond), times[0].Round(100*time.Microsecond), times[len(times)-1].Round(100*time.Microsecond))
		}
	})
}

// httpGet returns the status code and body of a GET of url, on a new
// connection.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// execOut runs cmd in target and returns its stdout, failing the test when
// it fails.
func execOut(t *testing.T, ex sync.Executor, target sync.Target, cmd ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := ex.Exec(t.Context(), target, cmd, nil, &stdout, &stderr); err != nil {
		t.Fatalf("exec %s in %s: %v: %s", strings.Join(cmd, " "), target, err, stderr.String())
	}
	return stdout.String()
}

// pushBusybox pushes an image of the host's static busybox, with sh, tar
// and the usual tools linked to it and an /app directory that its httpd
// serves, to the cluster's registry and returns it by digest.
func pushBusybox(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	host, ok, err := image.LocalRegistry(t.Context(), kubetest.API(cs))
	if err != nil || !ok {
		t.Fatalf("the cluster advertises no local registry (err: %v); hack/cluster.sh up sets one up", err)
	}
	program, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("reading the static busybox (Debian package busybox-static): %v", err)
	}
	files := func(tw *tar.Writer) error {
		for _, d := range []string{"bin/", "app/", "tmp/"} {
			if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(program)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(program); err != nil {
			return err
		}
		for _, tool := range []string{"sh", "tar", "rm", "mkdir", "cat", "ls", "stat", "sleep", "httpd"} {
			if err := tw.WriteHeader(&tar.Header{Name: "bin/" + tool, Linkname: "busybox", Mode: 0o777, Typeflag: tar.TypeSymlink}); err != nil {
				return err
			}
		}
		for name, content := range map[string]string{"app/index.html": "v1\n", "app/old.txt": "old\n", "app/keep.txt": "keep\n"} {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, content); err != nil {
				return err
			}
		}
		return nil
	}
	return pushImage(t, image.NewRegistry([]string{host}), host+"/skiff-e2e/busybox", "latest", files, func(c *v1.Config) {
		c.Env = []string{"PATH=/bin"}
		c.Cmd = []string{"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/app"}
	})
}

// createDeployment creates a two-replica Deployment "web" of img (container
// "web") and returns its pods once both run.
func createDeployment(t *testing.T, cs kubernetes.Interface, ns, img string) []string {
	t.Helper()
	replicas, grace := int32(2), int64(1)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "web", Image: img,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Deployment %s/web: %v", ns, err)
	}
	var running []string
	testutil.WaitFor(t, 3*time.Minute, "2 running pods of web", func(ctx context.Context) (bool, string) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err.Error()
		}
		running = nil
		var states []string
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running = append(running, p.Name)
			}
			states = append(states, fmt.Sprintf("%s %s", p.Name, p.Status.Phase))
		}
		return len(running) == 2, fmt.Sprint(states)
	})
	return running
}

// createWaitingPod creates a pod whose init container sleeps, so that its
// container "web" is created but never started, and returns its name once
// the init container runs.
func createWaitingPod(t *testing.T, cs kubernetes.Interface, ns, img string) string {
	t.Helper()
	grace := int64(1)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "waiting", Namespace: ns},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			InitContainers:                []corev1.Container{{Name: "init", Image: img, Command: []string{"sleep", "3600"}}},
			Containers:                    []corev1.Container{{Name: "web", Image: img}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s/waiting: %v", ns, err)
	}
	testutil.WaitFor(t, 3*time.Minute, "the init container of waiting to run", func(ctx context.Context) (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "waiting", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, s := range p.Status.InitContainerStatuses {
			if s.State.Running != nil {
				return true, ""
			}
		}
		return false, string(p.Status.Phase)
	})
	return "waiting"
}

// clusterE2E connects to the local cluster that `hack/cluster.sh env`
// points KUBECONFIG to.
func clusterE2E(t *testing.T) (*kube.Config, kubernetes.Interface) {
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
	return kc, cs
}

// registryE2E is the local cluster's registry: $SKIFF_LOCAL_REGISTRY, which
// `hack/cluster.sh env` sets, else hack/cluster.sh's default.
func registryE2E() string {
	if r := os.Getenv("SKIFF_LOCAL_REGISTRY"); r != "" {
		return r
	}
	return "127.0.0.1:5001"
}
