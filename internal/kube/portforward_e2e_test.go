//go:build e2e

package kube_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/testutil"
)

// TestE2EForward forwards to a two-replica Deployment and its Service by
// port number and by name, and keeps answering while its pods are
// deleted, rolled out and all replaced at once.
func TestE2EForward(t *testing.T) {
	c := newE2ECluster(t)
	ns := c.newNamespace(t)
	project := "web-" + ns
	c.createApp(t, ns, "web", project, 2)
	out := &testutil.Buffer{}
	f := kube.NewForwarder(c.kc, kubetest.API(c.cs), out, log.New(out, log.LevelWarn))
	t.Cleanup(f.Stop)
	defer func() { t.Logf("forwarder output:\n%s", out) }()

	var service string
	for _, tc := range []struct {
		name   string
		fw     kube.Forward
		remote string
	}{
		{"service by number", kube.Forward{Type: "service", Name: "web", Namespace: ns, Port: intstr.FromInt32(80), LocalPort: testutil.FreePort(t)}, "80"},
		{"service by name", kube.Forward{Type: "service", Name: "web", Namespace: ns, Port: intstr.FromString("http"), LocalPort: testutil.FreePort(t)}, `http \(80\)`},
		{"deployment by number", kube.Forward{Type: "deployment", Name: "web", Namespace: ns, Port: intstr.FromInt32(8080)}, "8080"},
		{"deployment by name", kube.Forward{Type: "deployment", Name: "web", Namespace: ns, Port: intstr.FromString("http"), LocalPort: testutil.FreePort(t)}, `http \(8080\)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, err := f.Add(t.Context(), tc.fw)
			if err != nil {
				t.Fatal(err)
			}
			report := regexp.MustCompile(fmt.Sprintf(`Port forwarding %s/web in namespace %s, remote port %s -> http://%s\n`, tc.fw.Type, ns, tc.remote, regexp.QuoteMeta(addr)))
			if !report.MatchString(out.String()) {
				t.Errorf("no report matching %s in:\n%s", report, out)
			}
			body, err := get(t.Context(), "http://"+addr+"/")
			if err != nil || !strings.HasPrefix(body, "pod web-") {
				t.Fatalf("GET through the forward: %q, %v", body, err)
			}
			if tc.name == "service by name" {
				service = addr
			}
		})
	}

	t.Run("local port taken", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		port := taken.Addr().(*net.TCPAddr).Port
		addr, err := f.Add(t.Context(), kube.Forward{Type: "deployment", Name: "web", Namespace: ns, Port: intstr.FromInt32(8080), LocalPort: port})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("-> http://%s (local port %d is taken)\n", addr, port); addr == taken.Addr().String() || !strings.Contains(out.String(), want) {
			t.Errorf("forward on %s; want another port, reported with %q:\n%s", addr, want, out)
		}
		if body, err := get(t.Context(), "http://"+addr+"/"); err != nil || !strings.HasPrefix(body, "pod web-") {
			t.Errorf("GET through the forward: %q, %v", body, err)
		}
	})
	t.Run("pods mode", func(t *testing.T) {
		out := &testutil.Buffer{}
		pods := kube.NewForwarder(c.kc, kubetest.API(c.cs), out, log.New(out, log.LevelWarn))
		defer pods.Stop()
		if err := pods.ForwardPods(t.Context(), []string{ns}, labels.SelectorFromSet(labels.Set{kube.ProjectLabel: project})); err != nil {
			t.Fatal(err)
		}
		report := regexp.MustCompile(fmt.Sprintf(`Port forwarding deployment/web container server in namespace %s, remote port 8080 -> http://(\S+)`, ns))
		var addr string
		testutil.WaitFor(t, time.Minute, "a forward of the pods' port", func(context.Context) (bool, string) {
			if m := report.FindStringSubmatch(out.String()); m != nil {
				addr = m[1]
			}
			return addr != "", out.String()
		})
		if body, err := get(t.Context(), "http://"+addr+"/"); err != nil || !strings.HasPrefix(body, "pod web-") {
			t.Fatalf("GET through the pods' forward: %q, %v", body, err)
		}
		if n := len(report.FindAllString(out.String(), -1)); n != 1 {
			t.Errorf("%d forwards for the two replicas' port; want one:\n%s", n, out)
		}
	})
	if service == "" {
		t.Fatal("no forward to the service by name")
	}
	url := "http://" + service + "/"

	t.Run("serving pod deleted", func(t *testing.T) {
		served, err := get(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		pod := strings.TrimPrefix(served, "pod ")
		if err := c.cs.CoreV1().Pods(ns).Delete(t.Context(), pod, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Requests under way as the pod was deleted may end there; the
		// rest go to the other pods.
		answers := hammer(t, url, 5*time.Second, nil)
		for range 20 {
			if body, err := get(t.Context(), url); err != nil || body == served {
				t.Fatalf("GET after the deletion of %s: %q, %v", pod, body, err)
			}
		}
		t.Logf("answers after the deletion of %s: %v", pod, answers)
	})

	t.Run("rollout", func(t *testing.T) {
		d, err := c.cs.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before := c.waitReady(t, ns, "web", 2)
		d.Spec.Template.Annotations = map[string]string{"rollout": "2"}
		if _, err := c.cs.AppsV1().Deployments(ns).Update(t.Context(), d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		done := func(ctx context.Context) bool {
			d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			s := d.Status
			return err == nil && s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == 2 && s.AvailableReplicas == 2 && s.Replicas == 2
		}
		answers := hammer(t, url, 3*time.Minute, done)
		after := c.waitReady(t, ns, "web", 2)
		for _, p := range before {
			for _, q := range after {
				if p == q {
					t.Fatalf("pod %s survived the rollout", p)
				}
			}
		}
		t.Logf("answers during the rollout: %v", answers)
	})

	t.Run("every pod deleted at once", func(t *testing.T) {
		if err := c.cs.CoreV1().Pods(ns).DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=web"}); err != nil {
			t.Fatal(err)
		}
		// The connection waits for a replacement to be ready.
		start := time.Now()
		body, err := get(t.Context(), url)
		if err != nil || !strings.HasPrefix(body, "pod web-") {
			t.Fatalf("GET while no pod was ready: %q, %v (after %s)", body, err, time.Since(start))
		}
		t.Logf("answered by a new pod after %s", time.Since(start).Round(time.Millisecond))
	})
}

// hammer sends requests to url from four clients, each on a new
// connection, for d or until done says so, fails the test on any failed
// request and returns how often each answer came.
func hammer(t *testing.T, url string, d time.Duration, done func(context.Context) bool) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		failed  atomic.Int32
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				body, err := get(ctx, url)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					failed.Add(1)
					t.Errorf("GET %s: %v", url, err)
					continue
				}
				mu.Lock()
				answers[body]++
				mu.Unlock()
			}
		})
	}
	if done != nil {
		for ctx.Err() == nil && !done(ctx) {
			time.Sleep(200 * time.Millisecond)
		}
		// A little more once it is done: the last old pod is going.
		time.Sleep(2 * time.Second)
		cancel()
	}
	wg.Wait()
	if done != nil && t.Context().Err() == nil && !done(t.Context()) {
		t.Errorf("not done within %s", d)
	}
	return answers
}
