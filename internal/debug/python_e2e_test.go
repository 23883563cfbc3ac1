//go:build e2e

package debug_test

import (
	"encoding/json"
	"testing"

	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/testutil"
)

// pythonApp is the Python test app; line 6 runs per request.
const pythonApp = `from http.server import BaseHTTPRequestHandler, HTTPServer
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
HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
`

// pythonImage makes a FROM scratch image from this machine's Debian
// python3.11 (its standard library without tests, Tk and IDLE, and the
// libraries of its extension modules) with the app at /app/app.py.
func pythonImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	r := newRootfs(t)
	r.binary("/usr/bin/python3.11", "/usr/bin/python3.11")
	r.files["/usr/bin/python3"] = "/usr/bin/python3.11"
	r.tree("/usr/lib/python3.11", "/usr/lib/python3.11", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__", "config-3.11-x86_64-linux-gnu")
	r.data["/app/app.py"] = []byte(pythonApp)
	img := r.image(debug.ImageConfig{Env: []string{"PATH=/usr/bin:/bin", "PYTHONUNBUFFERED=1"}, Cmd: []string{"python3", "app.py"}, WorkingDir: "/app"})
	return load(t, cli, "skiff-e2e-debug-python", img)
}

// TestPythonE2E runs the Python app under the support image's launcher and
// Debian's debugpy as the transform writes it, in a Docker container:
// debugpy answers DAP initialize and attach, a breakpoint in the handler
// stops a request, where the request's path is read, and the request is
// answered once the client continues. Suspended (--wait-for-client), the
// app serves only once a client has attached.
func TestPythonE2E(t *testing.T) {
	cli := dockerClient(t)
	ref := pythonImage(t, cli)
	cfg := debug.ImageConfig{Env: []string{"PATH=/usr/bin:/bin", "PYTHONUNBUFFERED=1"}, Cmd: []string{"python3", "app.py"}, WorkingDir: "/app"}

	attach := func(c *testutil.DAP) int {
		seq := c.Send("attach", map[string]any{"justMyCode": true})
		c.Event("initialized")
		return seq
	}

	t.Run("breakpoint", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", cfg, false)
		if d.c.Runtime != debug.Python || d.addr["dap"] == "" {
			t.Fatalf("debugged as %+v; want python with a dap port", d.c)
		}
		waitServing(t, d.addr["http"], "hello probe 1")
		c := testutil.DialDAP(t, d.addr["dap"])
		attachSeq := attach(c)
		var bps struct{ Breakpoints []struct{ Verified bool } }
		if err := json.Unmarshal(c.Call("setBreakpoints", map[string]any{"source": map[string]any{"path": "/app/app.py"}, "breakpoints": []any{map[string]any{"line": 6}}}), &bps); err != nil || len(bps.Breakpoints) != 1 {
			t.Fatalf("setBreakpoints: %v %+v", err, bps)
		}
		c.Call("configurationDone", map[string]any{})
		c.Response(attachSeq, "attach")
		answered := getLater(d.addr["http"], "/?name=dap")
		var stopped struct {
			Reason   string
			ThreadID int `json:"threadId"`
		}
		if err := json.Unmarshal(c.Event("stopped"), &stopped); err != nil {
			t.Fatal(err)
		}
		var st struct {
			StackFrames []struct {
				ID   int
				Line int
			}
		}
		if err := json.Unmarshal(c.Call("stackTrace", map[string]any{"threadId": stopped.ThreadID}), &st); err != nil || len(st.StackFrames) == 0 {
			t.Fatalf("stackTrace: %v %+v", err, st)
		}
		if st.StackFrames[0].Line != 6 || stopped.Reason != "breakpoint" {
			t.Errorf("stopped (%s) at line %d; want the breakpoint at line 6", stopped.Reason, st.StackFrames[0].Line)
		}
		var ev struct{ Result string }
		if err := json.Unmarshal(c.Call("evaluate", map[string]any{"expression": "self.path", "frameId": st.StackFrames[0].ID, "context": "repl"}), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Result != "'/?name=dap'" {
			t.Errorf("self.path at the breakpoint = %s; want '/?name=dap'", ev.Result)
		}
		c.Call("setBreakpoints", map[string]any{"source": map[string]any{"path": "/app/app.py"}, "breakpoints": []any{}})
		c.Call("continue", map[string]any{"threadId": stopped.ThreadID})
		if body := <-answered; body != "hello dap 2\n" {
			t.Errorf("the stopped request got %q; want hello dap 2", body)
		}
		c.Call("disconnect", map[string]any{"terminateDebuggee": false})
		if body, err := get(t.Context(), d.addr["http"], "/?name=again"); err != nil || body != "hello again 3\n" {
			t.Errorf("after the client disconnected: %q, %v; want hello again 3", body, err)
		}
	})

	t.Run("suspend", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", cfg, true)
		c := testutil.DialDAP(t, d.addr["dap"])
		if body, err := get(t.Context(), d.addr["http"], "/?name=early"); err == nil {
			t.Errorf("the suspended app answered %q before a client attached", body)
		}
		attachSeq := attach(c)
		c.Call("configurationDone", map[string]any{})
		c.Response(attachSeq, "attach")
		waitServing(t, d.addr["http"], "hello probe 1")
	})
}
