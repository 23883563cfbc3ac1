//go:build e2e

package kube_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/kubetest"
	"skiff.dev/skiff/internal/log"
	"skiff.dev/skiff/internal/testutil"
)

// TestE2ELogTailer tails a two-replica Deployment from before it exists:
// init and app containers of both pods, bursts of lines, a container that
// exits and restarts; every line comes once, whole and prefixed.
func TestE2ELogTailer(t *testing.T) {
	c := newE2ECluster(t)
	ns := c.newNamespace(t)
	project := "logs-" + ns
	out, errOut := &testutil.Buffer{}, &testutil.Buffer{}
	tailer := kube.NewLogTailer(kubetest.API(c.cs), out, kube.LogOptions{
		Namespaces: []string{ns},
		Selector:   labels.SelectorFromSet(labels.Set{kube.ProjectLabel: project}),
		Log:        log.New(errOut, log.LevelWarn),
	})
	if err := tailer.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			tailer.Stop()
			stopped = true
		}
	}
	t.Cleanup(stop)
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s\nwarnings:\n%s", out, errOut)
		}
	}()

	c.createApp(t, ns, "logs", project, 2)
	pods := c.waitReady(t, ns, "logs", 2)
	for _, p := range pods {
		waitLog(t, out, fmt.Sprintf("[%s init] init done\n", p), 1)
		waitLog(t, out, fmt.Sprintf("[%s server] start %s\n", p, p), 1)
	}

	f := kube.NewForwarder(c.kc, kubetest.API(c.cs), &testutil.Buffer{}, nil)
	t.Cleanup(f.Stop)
	addrs := map[string]string{}
	const burst = 500
	for _, p := range pods {
		addr, err := f.Add(t.Context(), kube.Forward{Type: "pod", Name: p, Namespace: ns, Port: intstr.FromString("http"), LocalPort: testutil.FreePort(t)})
		if err != nil {
			t.Fatal(err)
		}
		addrs[p] = addr
		if body, err := get(t.Context(), fmt.Sprintf("http://%s/log?tag=burst-%s&n=%d", addr, p, burst)); err != nil || body != "logged" {
			t.Fatalf("asking %s for log lines: %q, %v", p, body, err)
		}
	}

	// The first pod's server exits; its container restarts and the new
	// instance's lines follow.
	restarted := pods[0]
	if body, err := get(t.Context(), "http://"+addrs[restarted]+"/exit"); err != nil || body != "bye" {
		t.Fatalf("asking %s to exit: %q, %v", restarted, body, err)
	}
	waitLog(t, out, fmt.Sprintf("[%s server] start %s\n", restarted, restarted), 2)
	// The forward to the pod waits until it is ready again.
	if body, err := get(t.Context(), fmt.Sprintf("http://%s/log?tag=after-%s&n=%d", addrs[restarted], restarted, burst)); err != nil || body != "logged" {
		t.Fatalf("asking the restarted %s for log lines: %q, %v", restarted, body, err)
	}
	for _, p := range pods {
		waitLog(t, out, fmt.Sprintf("[%s server] burst-%s %d\n", p, p, burst-1), 1)
	}
	waitLog(t, out, fmt.Sprintf("[%s server] after-%s %d\n", restarted, restarted, burst-1), 1)
	stop()

	counts := map[string]int{}
	line := regexp.MustCompile(`^\[(\S+) (init|server)\] (.*)$`)
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("a line without a [pod container] prefix: %q", l)
		}
		counts[l]++
	}
	expect := func(l string, n int) {
		t.Helper()
		if counts[l] != n {
			t.Errorf("%q came %d times, want %d", l, counts[l], n)
		}
	}
	for _, p := range pods {
		expect(fmt.Sprintf("[%s init] init done", p), 1)
		for i := range burst {
			expect(fmt.Sprintf("[%s server] burst-%s %d", p, p, i), 1)
		}
	}
	expect(fmt.Sprintf("[%s server] start %s", restarted, restarted), 2)
	expect(fmt.Sprintf("[%s server] exiting", restarted), 1)
	for i := range burst {
		expect(fmt.Sprintf("[%s server] after-%s %d", restarted, restarted, i), 1)
	}
	expect(fmt.Sprintf("[%s server] start %s", pods[1], pods[1]), 1)
	if errOut.String() != "" {
		t.Logf("warnings:\n%s", errOut)
	}
}

// waitLog waits until out holds line n times.
func waitLog(t *testing.T, out *testutil.Buffer, line string, n int) {
	t.Helper()
	testutil.WaitFor(t, 2*time.Minute, fmt.Sprintf("%q %d times in the logs", line, n), func(context.Context) (bool, string) {
		got := strings.Count(out.String(), line)
		return got >= n, fmt.Sprintf("%d times so far", got)
	})
}
