package debug

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// AttachHelp says how to attach to the debugged container c whose debug
// port is forwarded to addr (host:port on this machine): the debugger's
// own command or page (dlv connect, chrome://inspect, jdb -attach) and a
// VS Code launch.json configuration, with the remote path mapped to the
// workspace where the runtime needs one (Node.js, Python).
func AttachHelp(c Container, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	var portNum int
	fmt.Sscan(port, &portNum)
	name := fmt.Sprintf("skiff: %s/%s", c.Object, c.Name)
	remote := c.WorkingDir
	if remote == "" {
		remote = "/"
	}
	var how string
	var launch map[string]any
	switch c.Runtime {
	case Go:
		how = "dlv connect " + addr
		launch = map[string]any{"name": name, "type": "go", "request": "attach", "mode": "remote", "host": host, "port": portNum}
	case NodeJS:
		how = "chrome://inspect, Configure..., add " + addr
		launch = map[string]any{"name": name, "type": "node", "request": "attach", "address": host, "port": portNum, "localRoot": "${workspaceFolder}", "remoteRoot": remote}
	case Python:
		how = "a DAP client (debugpy) on " + addr
		launch = map[string]any{"name": name, "type": "debugpy", "request": "attach", "connect": map[string]any{"host": host, "port": portNum},
			"pathMappings": []any{map[string]any{"localRoot": "${workspaceFolder}", "remoteRoot": remote}}}
	case JVM:
		how = "jdb -attach " + addr
		launch = map[string]any{"name": name, "type": "java", "request": "attach", "hostName": host, "port": portNum}
	default:
		return ""
	}
	b, _ := json.MarshalIndent(launch, "    ", "  ")
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s (%s, container %s): %s", c.Object, c.Runtime, c.Name, how)
	if c.Suspended {
		sb.WriteString("; the app waits for the debugger to start")
	}
	fmt.Fprintf(&sb, "\n  VS Code launch.json configuration:\n    %s\n", b)
	return sb.String()
}
