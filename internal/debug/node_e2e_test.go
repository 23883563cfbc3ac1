//go:build e2e

package debug_test

import (
	"encoding/json"
	"testing"

	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/testutil"
)

// nodeServer is the Node.js test app; line 3 (0-based) runs per request.
const nodeServer = `const http = require('http');
let count = 0;
http.createServer((req, res) => {
  count++;
  res.end('hello ' + new URL(req.url, 'http://app').searchParams.get('name') + ' ' + count + '\n');
}).listen(8080);
`

// fakeNPM stands in for npm start: a node program that runs the start
// script through sh, as npm does.
const fakeNPM = `#!/usr/bin/env node
const { spawnSync } = require('child_process');
const r = spawnSync('sh', ['-c', 'node server.js'], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
`

// nodeImage makes a FROM scratch image from this machine's node (and its
// libraries), busybox as sh and env, the app at /app and fakeNPM as npm.
func nodeImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	r := newRootfs(t)
	r.binary("/usr/bin/node", "/usr/bin/node")
	r.files["/bin/sh"] = "/usr/bin/busybox"
	r.files["/usr/bin/env"] = "/usr/bin/busybox"
	r.data["/app/server.js"] = []byte(nodeServer)
	r.data["/usr/local/bin/npm"] = []byte(fakeNPM)
	img := r.image(debug.ImageConfig{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "NODE_VERSION=20"}, WorkingDir: "/app"})
	return load(t, cli, "skiff-e2e-debug-node", img)
}

// TestNodeE2E runs the Node.js app with the inspector as the transform
// writes it, in a Docker container, with the support image's node
// wrapper first on PATH: /json/version answers, and a breakpoint set over
// the DevTools protocol pauses a request, where the request's URL is
// read before it resumes; so too when node starts in a sh -c script, and
// through npm (NODE_OPTIONS), where the inspector is the app's, not npm's. Suspended (--inspect-brk), the app
// serves only once a debugger lets it run.
func TestNodeE2E(t *testing.T) {
	cli := dockerClient(t)
	ref := nodeImage(t, cli)
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "NODE_VERSION=20"}

	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"node", []string{"node", "server.js"}},
		{"npm", []string{"npm", "start"}},
		{"sh -c", []string{"/bin/sh", "-c", "cd /app && PORT=8080 exec node server.js"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := runDebugged(t, cli, ref, "", debug.ImageConfig{Env: env, Cmd: tc.cmd, WorkingDir: "/app"}, false)
			if d.c.Runtime != debug.NodeJS || d.addr["devtools"] == "" {
				t.Fatalf("debugged as %+v; want nodejs with a devtools port", d.c)
			}
			waitServing(t, d.addr["http"], "hello probe 1")
			url, ws := testutil.InspectorTarget(t, d.addr["devtools"])
			if url != "file:///app/server.js" {
				t.Fatalf("the inspector debugs %s; want the app, file:///app/server.js", url)
			}
			c := testutil.DialCDP(t, d.addr["devtools"], ws)
			c.Call("Debugger.enable", map[string]any{})
			var bp struct{ BreakpointID string }
			if err := json.Unmarshal(c.Call("Debugger.setBreakpointByUrl", map[string]any{"lineNumber": 3, "urlRegex": `server\.js$`}), &bp); err != nil {
				t.Fatal(err)
			}
			answered := getLater(d.addr["http"], "/?name=cdp")
			var paused struct {
				CallFrames []struct{ CallFrameID string }
			}
			if err := json.Unmarshal(c.Event("Debugger.paused"), &paused); err != nil || len(paused.CallFrames) == 0 {
				t.Fatalf("Debugger.paused: %v, %+v", err, paused)
			}
			var ev struct{ Result struct{ Value string } }
			if err := json.Unmarshal(c.Call("Debugger.evaluateOnCallFrame", map[string]any{"callFrameId": paused.CallFrames[0].CallFrameID, "expression": "req.url"}), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Result.Value != "/?name=cdp" {
				t.Errorf("req.url at the breakpoint = %q; want /?name=cdp", ev.Result.Value)
			}
			c.Call("Debugger.removeBreakpoint", map[string]any{"breakpointId": bp.BreakpointID})
			c.Call("Debugger.resume", map[string]any{})
			if body := <-answered; body != "hello cdp 2\n" {
				t.Errorf("the paused request got %q; want hello cdp 2", body)
			}
		})
	}

	t.Run("suspend", func(t *testing.T) {
		d := runDebugged(t, cli, ref, "", debug.ImageConfig{Env: env, Cmd: []string{"node", "server.js"}, WorkingDir: "/app"}, true)
		_, ws := testutil.InspectorTarget(t, d.addr["devtools"])
		if body, err := get(t.Context(), d.addr["http"], "/?name=early"); err == nil {
			t.Errorf("the suspended app answered %q before a debugger let it run", body)
		}
		c := testutil.DialCDP(t, d.addr["devtools"], ws)
		c.Call("Debugger.enable", map[string]any{})
		c.Call("Runtime.runIfWaitingForDebugger", map[string]any{})
		c.Event("Debugger.paused")
		c.Call("Debugger.resume", map[string]any{})
		waitServing(t, d.addr["http"], "hello probe 1")
	})
}
