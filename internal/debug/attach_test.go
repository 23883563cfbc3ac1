package debug

import (
	"strings"
	"testing"
)

// TestAttachHelp pins what a user reads per runtime: the debugger's
// command and a launch.json configuration with the forwarded address and,
// for Node.js and Python, the remote working directory mapped.
func TestAttachHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    Container
		want []string
	}{
		{Container{Object: "deployment.apps/web", Name: "web", Runtime: Go, Suspended: true},
			[]string{"deployment.apps/web (go, container web): dlv connect 127.0.0.1:56268; the app waits for the debugger to start", `"mode": "remote"`, `"port": 56268`, `"type": "go"`}},
		{Container{Object: "pod/node", Name: "app", Runtime: NodeJS, WorkingDir: "/app"},
			[]string{"chrome://inspect, Configure..., add 127.0.0.1:56268", `"remoteRoot": "/app"`, `"address": "127.0.0.1"`}},
		{Container{Object: "pod/py", Name: "app", Runtime: Python},
			[]string{"a DAP client (debugpy) on 127.0.0.1:56268", `"remoteRoot": "/"`, `"type": "debugpy"`}},
		{Container{Object: "pod/jvm", Name: "app", Runtime: JVM},
			[]string{"jdb -attach 127.0.0.1:56268", `"hostName": "127.0.0.1"`}},
	} {
		got := AttachHelp(tc.c, "127.0.0.1:56268")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("AttachHelp(%s) =\n%s\nwant it to contain %q", tc.c.Runtime, got, w)
			}
		}
	}
	if got := AttachHelp(Container{Runtime: "netcore"}, "127.0.0.1:1"); got != "" {
		t.Errorf("AttachHelp(netcore) = %q; want nothing", got)
	}
}
