package debug

import (
	"fmt"
	"strings"
)

// JVM: the JDWP agent, loaded through JAVA_TOOL_OPTIONS, listens on port
// jdwpPort on all interfaces ("*:" needs Java 9; Java 8, which listens on
// all interfaces by default, gets the bare port). No support files.
const jdwpPort = 5005

// configureJVM appends the JDWP agent to JAVA_TOOL_OPTIONS (suspend=y when
// suspended), or exposes the port of the agent the container loads
// already.
func (ct *container) configureJVM(ports portSet, suspend bool) (Port, error) {
	words := strings.Fields(ct.env["JAVA_TOOL_OPTIONS"])
	if s, ok := findSite(ct.line, func(cmd string) bool { return cmd == "java" }); ok {
		words = append(words, s.plain...)
	}
	for _, w := range words {
		if opts, ok := strings.CutPrefix(w, "-agentlib:jdwp="); ok {
			ct.keptDebugger = true
			port := jdwpPort
			for _, o := range strings.Split(opts, ",") {
				if v, ok := strings.CutPrefix(o, "address="); ok {
					if p, err := portOf(v); err == nil {
						port = p
					}
				}
			}
			return Port{Name: "jdwp", Port: int32(port)}, nil
		}
	}
	port := ports.take(jdwpPort)
	addr := fmt.Sprintf("*:%d", port)
	if v := ct.env["JAVA_VERSION"]; strings.HasPrefix(v, "8") || strings.HasPrefix(v, "1.8") {
		addr = fmt.Sprint(port)
	}
	s := "n"
	if suspend {
		s = "y"
	}
	ct.appendEnv("JAVA_TOOL_OPTIONS", fmt.Sprintf("-agentlib:jdwp=transport=dt_socket,server=y,address=%s,suspend=%s,quiet=y", addr, s))
	return Port{Name: "jdwp", Port: port}, nil
}
