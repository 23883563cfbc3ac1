//go:build e2e

package debug_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"testing"
	"time"

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

// dap is a Debug Adapter Protocol client (Content-Length framing).
type dap struct {
	t      *testing.T
	conn   net.Conn
	r      *bufio.Reader
	seq    int
	events []dapMessage
	resps  map[int]dapMessage
}

type dapMessage struct {
	Type       string          `json:"type"`
	Event      string          `json:"event"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	Body       json.RawMessage `json:"body"`
}

// dialDAP connects to debugpy at addr and initializes the session,
// retrying until debugpy answers (Docker's port binding accepts before
// the app listens); reads and writes give up after a minute.
func dialDAP(t *testing.T, addr string) *dap {
	t.Helper()
	var d *dap
	testutil.WaitFor(t, 60*time.Second, "debugpy answering initialize on "+addr, func(ctx context.Context) (bool, string) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		c := &dap{t: t, conn: conn, r: bufio.NewReader(conn), resps: map[int]dapMessage{}}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		seq := c.send("initialize", map[string]any{"clientID": "skiff-e2e", "adapterID": "debugpy", "linesStartAt1": true, "columnsStartAt1": true, "pathFormat": "path"})
		for {
			m, err := c.next()
			if err != nil {
				conn.Close()
				return false, err.Error()
			}
			if m.Type == "response" && m.RequestSeq == seq {
				break
			}
		}
		d = c
		return true, ""
	})
	t.Cleanup(func() { d.conn.Close() })
	if err := d.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return d
}

// send sends a request and returns its seq.
func (d *dap) send(command string, args any) int {
	d.t.Helper()
	d.seq++
	b, err := json.Marshal(map[string]any{"seq": d.seq, "type": "request", "command": command, "arguments": args})
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(d.conn, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		d.t.Fatal(err)
	}
	return d.seq
}

// response waits for the response to request seq and returns its body.
func (d *dap) response(seq int, command string) json.RawMessage {
	d.t.Helper()
	for {
		if m, ok := d.resps[seq]; ok {
			if !m.Success {
				d.t.Fatalf("DAP %s failed: %s %s", command, m.Message, m.Body)
			}
			return m.Body
		}
		d.read()
	}
}

// call sends a request and waits for its response.
func (d *dap) call(command string, args any) json.RawMessage {
	d.t.Helper()
	return d.response(d.send(command, args), command)
}

// event waits for the event named name and returns its body.
func (d *dap) event(name string) json.RawMessage {
	d.t.Helper()
	for {
		for i, m := range d.events {
			if m.Event == name {
				d.events = append(d.events[:i], d.events[i+1:]...)
				return m.Body
			}
		}
		d.read()
	}
}

// read reads one message into events or resps.
func (d *dap) read() {
	d.t.Helper()
	m, err := d.next()
	if err != nil {
		d.t.Fatalf("reading from debugpy: %v", err)
	}
	switch m.Type {
	case "event":
		d.events = append(d.events, m)
	case "response":
		d.resps[m.RequestSeq] = m
	}
}

// next reads one message.
func (d *dap) next() (dapMessage, error) {
	var m dapMessage
	hdr, err := textproto.NewReader(d.r).ReadMIMEHeader()
	if err != nil {
		return m, err
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		return m, fmt.Errorf("bad Content-Length in %v", hdr)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("message %q: %v", b, err)
	}
	return m, nil
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

	attach := func(c *dap) int {
		seq := c.send("attach", map[string]any{"justMyCode": true})
		c.event("initialized")
		return seq
	}

	t.Run("breakpoint", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", cfg, false)
		if d.c.Runtime != debug.Python || d.addr["dap"] == "" {
			t.Fatalf("debugged as %+v; want python with a dap port", d.c)
		}
		waitServing(t, d.addr["http"], "hello probe 1")
		c := dialDAP(t, d.addr["dap"])
		attachSeq := attach(c)
		var bps struct{ Breakpoints []struct{ Verified bool } }
		if err := json.Unmarshal(c.call("setBreakpoints", map[string]any{"source": map[string]any{"path": "/app/app.py"}, "breakpoints": []any{map[string]any{"line": 6}}}), &bps); err != nil || len(bps.Breakpoints) != 1 {
			t.Fatalf("setBreakpoints: %v %+v", err, bps)
		}
		c.call("configurationDone", map[string]any{})
		c.response(attachSeq, "attach")
		answered := getLater(d.addr["http"], "/?name=dap")
		var stopped struct {
			Reason   string
			ThreadID int `json:"threadId"`
		}
		if err := json.Unmarshal(c.event("stopped"), &stopped); err != nil {
			t.Fatal(err)
		}
		var st struct {
			StackFrames []struct {
				ID   int
				Line int
			}
		}
		if err := json.Unmarshal(c.call("stackTrace", map[string]any{"threadId": stopped.ThreadID}), &st); err != nil || len(st.StackFrames) == 0 {
			t.Fatalf("stackTrace: %v %+v", err, st)
		}
		if st.StackFrames[0].Line != 6 || stopped.Reason != "breakpoint" {
			t.Errorf("stopped (%s) at line %d; want the breakpoint at line 6", stopped.Reason, st.StackFrames[0].Line)
		}
		var ev struct{ Result string }
		if err := json.Unmarshal(c.call("evaluate", map[string]any{"expression": "self.path", "frameId": st.StackFrames[0].ID, "context": "repl"}), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Result != "'/?name=dap'" {
			t.Errorf("self.path at the breakpoint = %s; want '/?name=dap'", ev.Result)
		}
		c.call("setBreakpoints", map[string]any{"source": map[string]any{"path": "/app/app.py"}, "breakpoints": []any{}})
		c.call("continue", map[string]any{"threadId": stopped.ThreadID})
		if body := <-answered; body != "hello dap 2\n" {
			t.Errorf("the stopped request got %q; want hello dap 2", body)
		}
		c.call("disconnect", map[string]any{"terminateDebuggee": false})
		if body, err := get(t.Context(), d.addr["http"], "/?name=again"); err != nil || body != "hello again 3\n" {
			t.Errorf("after the client disconnected: %q, %v; want hello again 3", body, err)
		}
	})

	t.Run("suspend", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", cfg, true)
		c := dialDAP(t, d.addr["dap"])
		if body, err := get(t.Context(), d.addr["http"], "/?name=early"); err == nil {
			t.Errorf("the suspended app answered %q before a client attached", body)
		}
		attachSeq := attach(c)
		c.call("configurationDone", map[string]any{})
		c.response(attachSeq, "attach")
		waitServing(t, d.addr["http"], "hello probe 1")
	})
}
