package debug

import (
	"fmt"
	"strconv"
)

// Python: the support files' launcher runs the app under debugpy (from
// Debian's packages), listening on all interfaces on port dapPort.
const (
	dapPort        = 5678
	pythonLauncher = SupportMountPath + "/python/launcher"
)

// configurePython wraps the container's python command line (or the last
// command of its script) in the launcher, or exposes the port of the
// debugpy it runs already.
func (ct *container) configurePython(ports portSet, suspend bool) (Port, error) {
	s, found := findSite(ct.line, isPython)
	if found {
		for i := 1; i+1 < len(s.plain); i++ {
			if s.plain[i] == "-m" && s.plain[i+1] == "debugpy" {
				ct.keptDebugger = true
				port := dapPort
				for j := i + 2; j+1 < len(s.plain); j++ {
					if s.plain[j] == "--listen" {
						if p, err := portOf(s.plain[j+1]); err == nil {
							port = p
						}
					}
				}
				return Port{Name: "dap", Port: int32(port)}, nil
			}
		}
	} else {
		s, found = lastSite(ct.line)
		if !found {
			return Port{}, fmt.Errorf("the container has no command to run under debugpy: its image has no entrypoint or cmd; set command in the manifest")
		}
	}
	port := ports.take(dapPort)
	words := []string{pythonLauncher, "--mode", "debugpy", "--port", strconv.Itoa(int(port))}
	if suspend {
		words = append(words, "--wait")
	}
	words = append(append(words, "--"), s.raw...)
	ct.newLine = s.rebuild(words)
	return Port{Name: "dap", Port: port}, nil
}
