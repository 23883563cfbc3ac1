//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/testutil"
)

// debugApp writes a Go app (a ko artifact) whose handler answers
// "hello NAME N" for /?name=NAME, with a Deployment of 2 replicas and a
// user port-forward of its port 8080 to httpPort.
func debugApp(t *testing.T, httpPort int) string {
	t.Helper()
	dir := t.TempDir()
	writeTestFiles(t, dir, map[string]string{
		"go.mod": "module example.com/dbg\n\ngo 1.22\n",
		"main.go": `package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

var served atomic.Int64

func handler(w http.ResponseWriter, r *http.Request) {
	n := served.Add(1)
	fmt.Fprintf(w, "hello %s %d\n", r.URL.Query().Get("name"), n)
}

func main() {
	http.HandleFunc("/", handler)
	http.ListenAndServe(":8080", nil)
}
`,
		"k8s/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: dbg}
spec:
  replicas: 2
  selector: {matchLabels: {app: dbg}}
  template:
    metadata: {labels: {app: dbg}}
    spec:
      containers:
      - name: app
        image: dbg
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: "/?name=probe", port: http}
          periodSeconds: 1
        livenessProbe:
          httpGet: {path: "/?name=probe", port: http}
          periodSeconds: 1
          timeoutSeconds: 1
          failureThreshold: 1
`,
		"skaffold.yaml": fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: dbg
    ko: {}
manifests:
  rawYaml: [k8s/*.yaml]
portForward:
- {resourceType: deployment, resourceName: dbg, port: 8080, localPort: %d}
`, httpPort),
	})
	return dir
}

// writeTestFiles writes files (slash paths relative to dir).
func writeTestFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// debugSupportEnv points skiff at the debug support files make build
// writes (bin/debug); in process, skiff's executable is the test binary.
func debugSupportEnv(t *testing.T) []string {
	t.Helper()
	dir, err := filepath.Abs("../../bin/debug")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, debug.SupportProgram)); err != nil {
		t.Fatalf("the debug support files are missing (%v): run make build first", err)
	}
	return []string{debug.EnvSupportDir + "=" + dir}
}

// getPort fetches path on the loopback port, within timeout.
func getPort(port int, path string, timeout time.Duration) (string, error) {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

var dlvConnectLine = regexp.MustCompile(`deployment\.apps/dbg \(go, container app\): dlv connect (127\.0\.0\.1:\d+)`)

// TestDebugGoBreakpoint runs `skiff debug` on a Go app: the image is built
// for the debugger, the Deployment runs one replica under Delve from
// skiff's support image, skiff forwards the debug port and says how to
// attach; a client connected there stops a request in main.handler, reads
// its query, continues, and the app answers that request and the next.
// The liveness probe does not kill the paused container. Ctrl-C deletes
// everything.
func TestDebugGoBreakpoint(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	httpPort := testutil.FreePort(t)
	events := filepath.Join(t.TempDir(), "events.json")
	r := commandBackground(t, "debug", debugApp(t, httpPort), ns, strings.NewReader(""), debugSupportEnv(t), "--event-log-file", events)
	m := dlvConnectLine.FindStringSubmatch(r.errOut.String())
	if m == nil {
		r.waitSince(t, 0, time.Minute, dlvConnectLine)
		m = dlvConnectLine.FindStringSubmatch(r.errOut.String())
	}
	dlvAddr := m[1]

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dep, err := c.client.AppsV1().Deployments(ns).Get(ctx, "dbg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := *dep.Spec.Replicas; n != 1 {
		t.Errorf("the debugged Deployment runs %d replicas; want 1", n)
	}
	if a := dep.Spec.Template.Annotations[debug.ConfigAnnotation]; !strings.Contains(a, `"runtime":"go"`) {
		t.Errorf("pod template annotation %s = %q; want the go runtime", debug.ConfigAnnotation, a)
	}

	testutil.WaitFor(t, time.Minute, "the app answering through the user port-forward", func(ctx context.Context) (bool, string) {
		body, err := getPort(httpPort, "/?name=first", 5*time.Second)
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(body, "hello first"), body
	})
	dlv := testutil.DialDelve(t, dlvAddr)
	bp := dlv.Break("main.handler")
	stopped := dlv.Continue()
	answered := make(chan string, 1)
	go func() {
		body, err := getPort(httpPort, "/?name=paused", 2*time.Minute)
		if err != nil {
			body = err.Error()
		}
		answered <- body
	}()
	if err := <-stopped; err != nil {
		t.Fatalf("continue to the breakpoint: %v", err)
	}
	if q := dlv.Eval("r.URL.RawQuery"); q != "name=paused" {
		t.Errorf("r.URL.RawQuery = %q at the breakpoint; want name=paused", q)
	}
	// Paused longer than the liveness probe's period and timeout: the
	// probe must not restart the container under the debugger.
	time.Sleep(5 * time.Second)
	dlv.Clear(bp)
	dlv.Continue()
	if body := <-answered; !strings.HasPrefix(body, "hello paused") {
		t.Errorf("the paused request got %q; want hello paused", body)
	}
	if body, err := getPort(httpPort, "/?name=again", 10*time.Second); err != nil || !strings.HasPrefix(body, "hello again") {
		t.Errorf("after the debugger continued: %q, %v; want hello again", body, err)
	}
	pods, err := c.podsOf(ctx, ns, "app=dbg")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		for _, st := range p.Status.ContainerStatuses {
			if st.RestartCount > 0 {
				t.Errorf("container %s of pod %s restarted %d times while paused", st.Name, p.Name, st.RestartCount)
			}
		}
	}
	// The event stream names the debugged container's pod, as Skaffold's.
	if len(pods) != 1 {
		t.Fatalf("pods of app=dbg: %d, want 1", len(pods))
	}
	want := fmt.Sprintf(`"debuggingContainerEvent":{"id":"deployment.apps/dbg","task_id":"Deploy-0","status":"Started","podName":%q,"containerName":"app","namespace":%q`, pods[0].Name, ns)
	testutil.WaitFor(t, time.Minute, "the debugging container's event with its pod", func(context.Context) (bool, string) {
		b, err := os.ReadFile(events)
		return strings.Contains(string(b), want), fmt.Sprintf("%v; the debugging container events:\n%s", err, grepLines(string(b), "debuggingContainerEvent"))
	})
	c.stopAndCheckCleanup(t, r, ns)
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDebugSuspend: with --suspend the app does not serve until a
// debugger attaches and lets it run. Delve's port, 56268, is taken on this
// machine: skiff forwards it from the next free one and says so, and the
// attach help names that one.
func TestDebugSuspend(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	httpPort := testutil.FreePort(t)
	// When the listen fails, something else holds the port: taken too.
	if l, err := net.Listen("tcp", "127.0.0.1:56268"); err == nil {
		t.Cleanup(func() { l.Close() })
	}
	r := commandBackground(t, "debug", debugApp(t, httpPort), ns, strings.NewReader(""), debugSupportEnv(t), "--suspend")
	r.waitSince(t, 0, time.Minute, dlvConnectLine)
	m := dlvConnectLine.FindStringSubmatch(r.errOut.String())
	if m[1] == "127.0.0.1:56268" || !strings.Contains(r.errOut.String(), "remote port 56268 -> http://"+m[1]+" (local port 56268 is taken)") {
		t.Errorf("with local port 56268 taken, skiff attached at %s and said:\n%s\nwant the next free port, reported as such", m[1], r.errOut)
	}
	if !strings.Contains(r.errOut.String(), "the app waits for the debugger to start") {
		t.Errorf("skiff debug --suspend did not say the app waits:\n%s", r.errOut)
	}
	if body, err := getPort(httpPort, "/?name=early", 3*time.Second); err == nil {
		t.Errorf("the suspended app answered %q before a debugger let it run", body)
	}
	dlv := testutil.DialDelve(t, m[1])
	dlv.Continue()
	testutil.WaitFor(t, time.Minute, "the app answering once the debugger let it run", func(ctx context.Context) (bool, string) {
		body, err := getPort(httpPort, "/?name=late", 5*time.Second)
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(body, "hello late"), body
	})
	c.stopAndCheckCleanup(t, r, ns)
}
