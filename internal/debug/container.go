package debug

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// container is one container of a built image being configured: its
// effective environment and command line (the image's merged with the
// container's), and what the runtime's configuration changes.
type container struct {
	obj  map[string]any
	name string
	art  *Artifact
	// env is the effective environment; a variable set from a secret or
	// field has the value "".
	env map[string]string
	// line is the command line the container runs: its command or the
	// image's entrypoint, then its args or the image's cmd. For a
	// buildpacks image it is the process the launcher runs.
	line []string
	// cnb is set when line comes from a buildpacks process.
	cnb *cnbProcess
	// workingDir is the container's working directory, "" when unknown.
	workingDir string
	// newLine is the rewritten command line; nil leaves it.
	newLine []string
	// setEnv are the variables to set in the container.
	setEnv map[string]string
	// keptDebugger is set when the command line or environment starts a
	// debugger already: only its port is exposed.
	keptDebugger bool
}

// newContainer merges c with its image's configuration.
func newContainer(c map[string]any, art *Artifact) *container {
	ct := &container{obj: c, art: art, env: map[string]string{}, setEnv: map[string]string{}}
	ct.name, _ = c["name"].(string)
	for _, kv := range art.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		ct.env[k] = v
	}
	envs, _ := c["env"].([]any)
	for _, e := range envs {
		if e, ok := e.(map[string]any); ok {
			if k, ok := e["name"].(string); ok {
				v, _ := e["value"].(string)
				ct.env[k] = v
			}
		}
	}
	command, hasCommand := stringList(c["command"])
	args, hasArgs := stringList(c["args"])
	entrypoint, cmd := art.Config.Entrypoint, art.Config.Cmd
	if hasCommand {
		entrypoint, cmd = command, nil
	}
	if hasArgs {
		cmd = args
	}
	ct.line = append(append([]string{}, entrypoint...), cmd...)
	ct.workingDir = art.Config.WorkingDir
	if wd, ok := c["workingDir"].(string); ok && wd != "" {
		ct.workingDir = wd
	}
	if p, ok := launchedProcess(art.Config, ct.env, ct.line); ok {
		ct.cnb = p
		ct.line = p.line()
		ct.workingDir = ct.env["CNB_APP_DIR"]
		if ct.workingDir == "" {
			ct.workingDir = "/workspace"
		}
	}
	return ct
}

// stringList reads a list of strings from an unstructured field.
func stringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out, true
}

// appendEnv sets key to value appended to its current value, separated by
// a space.
func (ct *container) appendEnv(key, value string) {
	if cur := ct.env[key]; cur != "" {
		value = cur + " " + value
	}
	ct.setEnv[key] = value
}

// defaultPath is the PATH of a container whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prependPath puts dir first on the container's PATH.
func (ct *container) prependPath(dir string) {
	p := ct.env["PATH"]
	if p == "" {
		p = defaultPath
	}
	ct.setEnv["PATH"] = dir + ":" + p
}

// write puts the rewritten command line and environment into the
// container. A rewritten line replaces command and drops args, so the
// image's cmd no longer applies; a buildpacks process is re-wrapped in the
// CNB launcher.
func (ct *container) write() {
	if ct.newLine != nil {
		if ct.cnb != nil {
			ct.obj["command"] = toAny([]string{cnbLauncher})
			ct.obj["args"] = toAny(ct.cnb.wrap(ct.newLine))
		} else {
			ct.obj["command"] = toAny(ct.newLine)
			delete(ct.obj, "args")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ct.setEnv)) {
		ct.obj["env"] = upsertNamed(ct.obj["env"], k, map[string]any{"name": k, "value": ct.setEnv[k]})
	}
}

// mountSupport mounts SupportVolume at SupportMountPath.
func (ct *container) mountSupport() {
	ct.obj["volumeMounts"] = upsertNamed(ct.obj["volumeMounts"], SupportVolume, map[string]any{
		"name": SupportVolume, "mountPath": SupportMountPath,
	})
}

// expose adds p to the container's ports unless it lists that port.
func (ct *container) expose(p Port) {
	ports, _ := ct.obj["ports"].([]any)
	for _, e := range ports {
		if e, ok := e.(map[string]any); ok && toInt(e["containerPort"]) == int64(p.Port) {
			return
		}
	}
	ct.obj["ports"] = append(ports, map[string]any{"name": p.Name, "containerPort": int64(p.Port)})
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// toInt reads an unstructured number.
func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	}
	return -1
}

// portSet is the container ports of a pod and the ones Transform took.
type portSet map[int32]bool

func newPortSet(spec map[string]any) portSet {
	s := portSet{}
	for _, list := range []string{"containers", "initContainers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			c, _ := c.(map[string]any)
			ports, _ := c["ports"].([]any)
			for _, p := range ports {
				if p, ok := p.(map[string]any); ok {
					s[int32(toInt(p["containerPort"]))] = true
				}
			}
		}
	}
	return s
}

// take returns want, or the next port above it that the pod does not use,
// and marks it used.
func (s portSet) take(want int32) int32 {
	for s[want] {
		want++
	}
	s[want] = true
	return want
}

// configure rewrites the container for rt and returns its debug ports.
func (ct *container) configure(rt Runtime, ports portSet, suspend bool) ([]Port, error) {
	var p Port
	var err error
	switch rt {
	case Go:
		p, err = ct.configureGo(ports, suspend)
	case NodeJS:
		p, err = ct.configureNode(ports, suspend)
	case Python:
		p, err = ct.configurePython(ports, suspend)
	case JVM:
		p, err = ct.configureJVM(ports, suspend)
	default:
		return nil, fmt.Errorf("skiff cannot debug runtime %q", rt)
	}
	if err != nil {
		return nil, err
	}
	if ct.keptDebugger {
		ports[p.Port] = true
	}
	ct.expose(p)
	return []Port{p}, nil
}
