//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testutil"
)

// The runtimes under `skiff debug` on the local cluster, each through
// skiff's own forwards: Node.js and Go images from the offline buildpacks
// builder (make builder), and Python and JVM images that Docker builds
// FROM scratch out of this machine's python3 and JDK.

// exampleCopy copies the files of the example src (but its skaffold.yaml)
// into a temporary directory, with skaffold as its skaffold.yaml.
func exampleCopy(t *testing.T, src, skaffold string) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "skaffold.yaml" {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeTestFiles(t, dir, map[string]string{filepath.ToSlash(rel): string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	writeTestFiles(t, dir, map[string]string{"skaffold.yaml": skaffold})
	return dir
}

// attachAddr waits for skiff's attach help matching re and returns its
// first group, the forwarded address.
func attachAddr(t *testing.T, r *running, re *regexp.Regexp) string {
	t.Helper()
	r.waitSince(t, 0, 2*time.Minute, re)
	return re.FindStringSubmatch(r.errOut.String())[1]
}

// removeBuildpacksCaches removes, when the test ends, the buildpacks
// cache volumes of the image the Deployment or Pod name runs (named after
// its repository, as the buildpacks builder names them).
func removeBuildpacksCaches(t *testing.T, c *cluster, ns, kind, objName string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ref string
	switch kind {
	case "deployment":
		d, err := c.client.AppsV1().Deployments(ns).Get(ctx, objName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ref = d.Spec.Template.Spec.Containers[0].Image
	default:
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, objName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ref = p.Spec.Containers[0].Image
	}
	n, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(n.Context().Name()))
	key := hex.EncodeToString(sum[:8])
	docker := newDocker(t)
	t.Cleanup(func() {
		for _, v := range []string{"skiff-cnb-cache-" + key, "skiff-cnb-launch-" + key, "skiff-cnb-gocache-" + key} {
			docker.VolumeRemove(context.Background(), v, client.VolumeRemoveOptions{Force: true})
		}
	})
}

// answersLater GETs path on the loopback port in the background (a
// request a breakpoint is to stop) and sends its body, or its error.
func answersLater(port int, path string) <-chan string {
	answered := make(chan string, 1)
	go func() {
		body, err := getPort(port, path, 2*time.Minute)
		if err != nil {
			body = err.Error()
		}
		answered <- body
	}()
	return answered
}

// waitAnswer waits until GET path on the loopback port answers with a
// body that starts with want.
func waitAnswer(t *testing.T, port int, path, want string) {
	t.Helper()
	testutil.WaitFor(t, 2*time.Minute, "the app answering "+path+" through the user port-forward", func(ctx context.Context) (bool, string) {
		body, err := getPort(port, path, 5*time.Second)
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(body, want), body
	})
}

var nodeAttachLine = regexp.MustCompile(`deployment\.apps/web \(nodejs, container web\): chrome://inspect, Configure\.\.\., add (127\.0\.0\.1:\d+)`)

// TestDebugNodeBuildpacks runs `skiff debug` on the seed's Node.js app
// (examples/buildpacks-node) built by the offline buildpacks builder: the
// runtime comes from the image's buildpacks metadata, the inspector
// answers /json/version through skiff's forward, and a breakpoint set over
// the DevTools protocol pauses a request until it is removed. Ctrl-C
// cleans up.
func TestDebugNodeBuildpacks(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	httpPort := testutil.FreePort(t)
	dir := exampleCopy(t, "../../examples/buildpacks-node", fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: example-node
    buildpacks: {builder: %s/skiff/builder}
manifests:
  rawYaml: [k8s/*.yaml]
portForward:
- {resourceType: service, resourceName: web, port: 3000, localPort: %d}
`, c.localRegistry(t), httpPort))
	r := commandBackground(t, "debug", dir, ns, strings.NewReader(""), debugSupportEnv(t))
	removeBuildpacksCaches(t, c, ns, "deployment", "web")
	addr := attachAddr(t, r, nodeAttachLine)

	waitAnswer(t, httpPort, "/", "Hello from Node.js!")
	url, ws := testutil.InspectorTarget(t, addr)
	if !strings.HasSuffix(url, "/server.js") {
		t.Fatalf("the inspector debugs %s; want the app's server.js", url)
	}
	cdp := testutil.DialCDP(t, addr, ws)
	cdp.Call("Debugger.enable", map[string]any{})
	var bp struct{ BreakpointID string }
	// Line 7 (0-based) of server.js is the handler's first.
	if err := json.Unmarshal(cdp.Call("Debugger.setBreakpointByUrl", map[string]any{"lineNumber": 7, "urlRegex": `server\.js$`}), &bp); err != nil {
		t.Fatal(err)
	}
	answered := answersLater(httpPort, "/?name=cdp")
	var paused struct {
		CallFrames []struct{ CallFrameID string }
	}
	if err := json.Unmarshal(cdp.Event("Debugger.paused"), &paused); err != nil || len(paused.CallFrames) == 0 {
		t.Fatalf("Debugger.paused: %v, %+v", err, paused)
	}
	var ev struct{ Result struct{ Value string } }
	if err := json.Unmarshal(cdp.Call("Debugger.evaluateOnCallFrame", map[string]any{"callFrameId": paused.CallFrames[0].CallFrameID, "expression": "req.url"}), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Result.Value != "/?name=cdp" {
		t.Errorf("req.url at the breakpoint = %q; want /?name=cdp", ev.Result.Value)
	}
	select {
	case body := <-answered:
		t.Errorf("the request answered %q while paused at the breakpoint", body)
	default:
	}
	cdp.Call("Debugger.removeBreakpoint", map[string]any{"breakpointId": bp.BreakpointID})
	cdp.Call("Debugger.resume", map[string]any{})
	if body := <-answered; body != "Hello from Node.js!\n" {
		t.Errorf("the paused request got %q; want Hello from Node.js!", body)
	}
	c.stopAndCheckCleanup(t, r, ns)
}

var goBuildpacksAttachLine = regexp.MustCompile(`\(go, container example-basic\): dlv connect (127\.0\.0\.1:\d+)`)

// TestDebugGoBuildpacks runs `skiff debug` on the seed's Go app
// (examples/buildpacks, a Pod) built by the offline buildpacks builder:
// it runs under dlv unwrapped from the CNB launcher, and a client of
// skiff's forward stops a request in the handler, reads it, and lets it
// answer. Ctrl-C cleans up.
func TestDebugGoBuildpacks(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	httpPort := testutil.FreePort(t)
	dir := exampleCopy(t, "../../examples/buildpacks", fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: example-basic
    buildpacks: {builder: %s/skiff/builder}
manifests:
  rawYaml: [k8s-pod.yaml]
portForward:
- {resourceType: pod, resourceName: example-basic, port: 8080, localPort: %d}
`, c.localRegistry(t), httpPort))
	r := commandBackground(t, "debug", dir, ns, strings.NewReader(""), debugSupportEnv(t))
	removeBuildpacksCaches(t, c, ns, "pod", "example-basic")
	dlvAddr := attachAddr(t, r, goBuildpacksAttachLine)

	waitAnswer(t, httpPort, "/", "Hello, World!")
	dlv := testutil.DialDelve(t, dlvAddr)
	bp := dlv.Break("main.main.func1")
	stopped := dlv.Continue()
	answered := answersLater(httpPort, "/?name=paused")
	if err := <-stopped; err != nil {
		t.Fatalf("continue to the breakpoint: %v", err)
	}
	if q := dlv.Eval("r.URL.RawQuery"); q != "name=paused" {
		t.Errorf("r.URL.RawQuery = %q at the breakpoint; want name=paused", q)
	}
	dlv.Clear(bp)
	dlv.Continue()
	if body := <-answered; body != "Hello, World!\n" {
		t.Errorf("the paused request got %q; want Hello, World!", body)
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// rootfsDir copies host files into dir as an image's root file system
// (a docker artifact's Dockerfile COPYs it FROM scratch): files maps image
// paths to host paths; the shared libraries of the programs and .so files
// among them come along.
func rootfsDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	all := map[string]string{}
	for at, host := range files {
		all[at] = host
		info, err := os.Stat(host)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode()&0o111 == 0 && filepath.Ext(host) != ".so" && !strings.Contains(host, ".so.") {
			continue
		}
		out, err := exec.Command("ldd", host).Output()
		if err != nil {
			continue // static, or not an ELF file
		}
		for _, line := range bytes.Split(out, []byte("\n")) {
			f := strings.Fields(string(line))
			var lib string
			switch {
			case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
				lib = f[2]
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
				lib = f[0]
			}
			if strings.HasPrefix(lib, "/lib") || strings.HasPrefix(lib, "/usr/lib") {
				all[lib] = lib
			}
		}
	}
	for at, host := range all {
		dst := filepath.Join(dir, filepath.FromSlash(at))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		in, err := os.Open(host)
		if err != nil {
			t.Fatal(err)
		}
		info, err := in.Stat()
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm()|0o444)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// treeFiles maps the regular files under host (links followed), but the
// names skip, to image paths under at.
func treeFiles(t *testing.T, files map[string]string, at, host string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if d.Name() == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if info, err := os.Stat(p); err != nil || info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(host, p)
		files[filepath.ToSlash(filepath.Join(at, rel))] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dockerDebugProject writes a project of one docker artifact, image, whose
// Dockerfile is dockerfile (its context holds rootfs/, which the test
// fills), deployed as a Deployment of one container "app" serving 8080,
// forwarded to httpPort.
func dockerDebugProject(t *testing.T, image, dockerfile string, httpPort int) string {
	t.Helper()
	dir := t.TempDir()
	writeTestFiles(t, dir, map[string]string{
		"Dockerfile": dockerfile,
		"k8s/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
      - name: app
        image: %[1]s
        ports: [{name: http, containerPort: 8080}]
`, image),
		"skaffold.yaml": fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: %[1]s
    docker: {}
manifests:
  rawYaml: [k8s/*.yaml]
portForward:
- {resourceType: deployment, resourceName: %[1]s, port: 8080, localPort: %[2]d}
`, image, httpPort),
	})
	return dir
}

// pythonDebugApp is the Python test app; line 6 runs per request. As
// PID 1 it must handle SIGTERM itself, or Ctrl-C's cleanup waits for the
// kubelet to kill it.
const pythonDebugApp = `from http.server import BaseHTTPRequestHandler, HTTPServer
count = 0
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        body = ("hello %s %d\n" % (self.path.split("=")[-1], count)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
import signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
`

var pythonAttachLine = regexp.MustCompile(`deployment\.apps/py \(python, container app\): a DAP client \(debugpy\) on (127\.0\.0\.1:\d+)`)

// TestDebugPython runs `skiff debug` on a Python app whose image the
// Docker Engine builds FROM scratch with this machine's python3.11 copied
// in (a docker artifact): debugpy from skiff's support image answers DAP
// initialize and attach through skiff's forward, and a breakpoint in the
// handler stops a request until the client continues. Ctrl-C cleans up.
func TestDebugPython(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	httpPort := testutil.FreePort(t)
	dir := dockerDebugProject(t, "py", `FROM scratch
COPY rootfs /
ENV PATH=/usr/bin:/bin PYTHONUNBUFFERED=1
WORKDIR /app
CMD ["python3.11", "app.py"]
`, httpPort)
	files := map[string]string{"/usr/bin/python3.11": "/usr/bin/python3.11"}
	treeFiles(t, files, "/usr/lib/python3.11", "/usr/lib/python3.11", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__", "config-3.11-x86_64-linux-gnu", "site-packages", "dist-packages")
	rootfsDir(t, filepath.Join(dir, "rootfs"), files)
	writeTestFiles(t, dir, map[string]string{"rootfs/app/app.py": pythonDebugApp})

	r := commandBackground(t, "debug", dir, ns, strings.NewReader(""), debugSupportEnv(t))
	addr := attachAddr(t, r, pythonAttachLine)
	waitAnswer(t, httpPort, "/?name=probe", "hello probe 1")

	d := testutil.DialDAP(t, addr)
	attachSeq := d.Send("attach", map[string]any{"justMyCode": true})
	d.Event("initialized")
	var bps struct{ Breakpoints []struct{ Verified bool } }
	if err := json.Unmarshal(d.Call("setBreakpoints", map[string]any{"source": map[string]any{"path": "/app/app.py"}, "breakpoints": []any{map[string]any{"line": 6}}}), &bps); err != nil || len(bps.Breakpoints) != 1 {
		t.Fatalf("setBreakpoints: %v %+v", err, bps)
	}
	d.Call("configurationDone", map[string]any{})
	d.Response(attachSeq, "attach")
	answered := answersLater(httpPort, "/?name=dap")
	var stopped struct {
		Reason   string
		ThreadID int `json:"threadId"`
	}
	if err := json.Unmarshal(d.Event("stopped"), &stopped); err != nil {
		t.Fatal(err)
	}
	var st struct {
		StackFrames []struct {
			ID   int
			Line int
		}
	}
	if err := json.Unmarshal(d.Call("stackTrace", map[string]any{"threadId": stopped.ThreadID}), &st); err != nil || len(st.StackFrames) == 0 {
		t.Fatalf("stackTrace: %v %+v", err, st)
	}
	if st.StackFrames[0].Line != 6 || stopped.Reason != "breakpoint" {
		t.Errorf("stopped (%s) at line %d; want the breakpoint at line 6", stopped.Reason, st.StackFrames[0].Line)
	}
	var ev struct{ Result string }
	if err := json.Unmarshal(d.Call("evaluate", map[string]any{"expression": "self.path", "frameId": st.StackFrames[0].ID, "context": "repl"}), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Result != "'/?name=dap'" {
		t.Errorf("self.path at the breakpoint = %s; want '/?name=dap'", ev.Result)
	}
	d.Call("setBreakpoints", map[string]any{"source": map[string]any{"path": "/app/app.py"}, "breakpoints": []any{}})
	d.Call("continue", map[string]any{"threadId": stopped.ThreadID})
	if body := <-answered; !strings.HasPrefix(body, "hello dap ") {
		t.Errorf("the stopped request got %q; want hello dap", body)
	}
	d.Call("disconnect", map[string]any{"terminateDebuggee": false})
	c.stopAndCheckCleanup(t, r, ns)
}

// javaDebugApp is the JVM test app: an HTTP server from the JDK.
const javaDebugApp = `import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;

public class Main {
    public static void main(String[] args) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress(8080), 0);
        s.createContext("/", ex -> {
            byte[] body = "hello jvm\n".getBytes();
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s.start();
    }
}
`

var jvmAttachLine = regexp.MustCompile(`deployment\.apps/jvm \(jvm, container app\): jdb -attach (127\.0\.0\.1:\d+)`)

// TestDebugJVM runs `skiff debug` on a Java app whose image the Docker
// Engine builds FROM scratch with a runtime jlink makes from this
// machine's JDK 17: the JDWP agent the transform adds answers the JDWP
// handshake through skiff's forward, and the app serves. Ctrl-C cleans up.
func TestDebugJVM(t *testing.T) {
	const jdk = "/usr/lib/jvm/java-17-openjdk-amd64"
	c := newCluster(t)
	ns := c.newNamespace(t)
	httpPort := testutil.FreePort(t)
	dir := dockerDebugProject(t, "jvm", `FROM scratch
COPY rootfs /
ENV PATH=/opt/java/bin:/usr/bin:/bin JAVA_VERSION=17
ENTRYPOINT ["java", "-cp", "/app", "Main"]
`, httpPort)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "Main.java"), []byte(javaDebugApp), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{jdk + "/bin/javac", "-d", filepath.Join(work, "app"), filepath.Join(work, "Main.java")},
		{jdk + "/bin/jlink", "--add-modules", "java.base,jdk.httpserver,jdk.jdwp.agent", "--strip-debug", "--no-man-pages", "--no-header-files", "--output", filepath.Join(work, "jre")},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(args[0]), err, out)
		}
	}
	files := map[string]string{}
	treeFiles(t, files, "/opt/java", filepath.Join(work, "jre"))
	treeFiles(t, files, "/app", filepath.Join(work, "app"))
	rootfsDir(t, filepath.Join(dir, "rootfs"), files)

	r := commandBackground(t, "debug", dir, ns, strings.NewReader(""), debugSupportEnv(t))
	addr := attachAddr(t, r, jvmAttachLine)
	const hello = "JDWP-Handshake"
	testutil.WaitFor(t, time.Minute, "the JDWP handshake on "+addr, func(ctx context.Context) (bool, string) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, len(hello))
		if _, err := conn.Write([]byte(hello)); err == nil {
			_, err = io.ReadFull(conn, got)
		}
		return string(got) == hello, "answered " + string(got)
	})
	waitAnswer(t, httpPort, "/", "hello jvm")
	c.stopAndCheckCleanup(t, r, ns)
}
