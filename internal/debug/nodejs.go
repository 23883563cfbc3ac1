package debug

import (
	"fmt"
	"strings"
)

// Node.js: the inspector listens on all interfaces on port inspectPort.
// /dbg/nodejs/bin goes first on PATH: its `node` wrapper keeps the
// inspector option of NODE_OPTIONS from npm, npx, yarn and nodemon
// themselves and hands it to the app they start.
const (
	inspectPort = 9229
	nodeBinDir  = SupportMountPath + "/nodejs/bin"
)

// configureNode adds --inspect (--inspect-brk when suspended) to the node
// or nodemon command, or to NODE_OPTIONS for npm and other commands; or
// exposes the port of an inspector the container enables already.
func (ct *container) configureNode(ports portSet, suspend bool) (Port, error) {
	s, found := findSite(ct.line, isNode)
	if found {
		for _, a := range nodeOptions(s.plain) {
			if p, ok := inspectPortOf(a); ok {
				ct.keptDebugger = true
				return Port{Name: "devtools", Port: int32(p)}, nil
			}
		}
	}
	for _, a := range strings.Fields(ct.env["NODE_OPTIONS"]) {
		if p, ok := inspectPortOf(a); ok {
			ct.keptDebugger = true
			return Port{Name: "devtools", Port: int32(p)}, nil
		}
	}
	port := ports.take(inspectPort)
	flag := "--inspect"
	if suspend {
		flag = "--inspect-brk"
	}
	opt := fmt.Sprintf("%s=0.0.0.0:%d", flag, port)
	if cmd := baseOf(s); found && cmd != "npm" {
		words := append([]string{s.raw[0], opt}, s.raw[1:]...)
		ct.newLine = s.rebuild(words)
	} else {
		ct.appendEnv("NODE_OPTIONS", opt)
	}
	ct.prependPath(nodeBinDir)
	return Port{Name: "devtools", Port: port}, nil
}

// baseOf is the command name of a site.
func baseOf(s site) string {
	if len(s.plain) == 0 {
		return ""
	}
	cmd := s.plain[0]
	if i := strings.LastIndexByte(cmd, '/'); i >= 0 {
		cmd = cmd[i+1:]
	}
	return cmd
}

// nodeOptions returns the options of a node or nodemon command line: for
// node the arguments before the script, for nodemon all of them (it
// passes --inspect on to node).
func nodeOptions(words []string) []string {
	if baseOf(site{plain: words}) == "nodemon" {
		return words[1:]
	}
	var opts []string
	for _, a := range words[1:] {
		if !strings.HasPrefix(a, "-") {
			break
		}
		opts = append(opts, a)
	}
	return opts
}

// inspectPortOf reads the port of an --inspect, --inspect-brk or
// --inspect-wait option (9229 when it names none).
func inspectPortOf(arg string) (int, bool) {
	for _, f := range []string{"--inspect-brk", "--inspect-wait", "--inspect"} {
		rest, ok := strings.CutPrefix(arg, f)
		if !ok {
			continue
		}
		if rest == "" {
			return inspectPort, true
		}
		if v, ok := strings.CutPrefix(rest, "="); ok {
			if p, err := portOf(v); err == nil {
				return p, true
			}
			return inspectPort, true
		}
	}
	return 0, false
}
