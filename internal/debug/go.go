package debug

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Go: the app runs under Delve from the support files, headless on port
// dlvPort, and keeps running (--continue) unless the pod is suspended.
const (
	dlvPort = 56268
	dlvPath = SupportMountPath + "/go/bin/dlv"
)

// configureGo runs the container's command under `dlv exec`, or exposes
// the port of the dlv it runs already.
func (ct *container) configureGo(ports portSet, suspend bool) (Port, error) {
	if s, ok := findSite(ct.line, isDlv); ok {
		ct.keptDebugger = true
		port := dlvPort
		for i, a := range s.plain {
			v, ok := strings.CutPrefix(a, "--listen=")
			if !ok && a == "--listen" && i+1 < len(s.plain) {
				v, ok = s.plain[i+1], true
			}
			if ok {
				if p, err := portOf(v); err == nil {
					port = p
				}
			}
		}
		return Port{Name: "dlv", Port: int32(port)}, nil
	}
	s, ok := lastSite(ct.line)
	if !ok {
		return Port{}, fmt.Errorf("the container has no command to run under dlv: its image has no entrypoint or cmd; set command in the manifest")
	}
	port := ports.take(dlvPort)
	words := []string{dlvPath, "exec", "--headless"}
	if !suspend {
		words = append(words, "--continue")
	}
	words = append(words, "--accept-multiclient", fmt.Sprintf("--listen=:%d", port), "--api-version=2", "--check-go-version=false", s.raw[0])
	if len(s.raw) > 1 {
		words = append(append(words, "--"), s.raw[1:]...)
	}
	ct.newLine = s.rebuild(words)
	return Port{Name: "dlv", Port: port}, nil
}

// portOf reads the port of a debugger's listen address: "PORT", ":PORT"
// or "HOST:PORT".
func portOf(addr string) (int, error) {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		addr = p
	}
	p, err := strconv.Atoi(addr)
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("no port in %q", addr)
	}
	return p, nil
}
