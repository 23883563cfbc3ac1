package debug

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/render"
)

// Runtime is a language runtime that Transform knows how to debug.
type Runtime string

// The runtimes Transform configures.
const (
	Go     Runtime = "go"
	NodeJS Runtime = "nodejs"
	Python Runtime = "python"
	JVM    Runtime = "jvm"
)

// Annotations Transform reads and writes on pod templates.
const (
	// ConfigAnnotation describes, per debugged container, its artifact,
	// runtime, working directory and debug ports, in Skaffold's JSON shape
	// so that IDE plugins (Cloud Code) can attach. A pod template that has
	// it already is left alone: that is how a user opts a pod out.
	ConfigAnnotation = "debug.cloud.google.com/config"
	// ProbeTimeoutsAnnotation is Skaffold's: "skip" leaves the probes of
	// debugged containers as they are; a duration (e.g. "10m") sets their
	// timeoutSeconds instead of relaxing them as Transform does by default.
	ProbeTimeoutsAnnotation = "debug.cloud.google.com/probe-timeouts"
	// SuspendAnnotation set to "true" makes the pod's debugged containers
	// wait for a debugger before their app starts, like Options.Suspend.
	SuspendAnnotation = "debug.skiff.dev/suspend"
)

// Paths and names of the support files in the pods.
const (
	// SupportVolume is the emptyDir that carries the support files.
	SupportVolume = "debugging-support-files"
	// SupportMountPath is where SupportVolume is mounted in the init
	// containers and the debugged containers.
	SupportMountPath = "/dbg"
	// DefaultHelpersRegistry is Skaffold's registry of prebuilt support
	// images, the default of its debug-helpers-registry setting.
	DefaultHelpersRegistry = "gcr.io/k8s-skaffold/skaffold-debug-support"
)

// ImageConfig is what Transform needs of a built image's configuration:
// it merges it with the container's env, command and args to tell the
// runtime and the command line the container runs.
type ImageConfig struct {
	// Env is the image's environment, as KEY=VALUE.
	Env []string
	// Entrypoint and Cmd are the image's ENTRYPOINT and CMD.
	Entrypoint []string
	Cmd        []string
	// WorkingDir is the image's working directory.
	WorkingDir string
	// Labels are the image's labels; buildpacks images carry their
	// process table in io.buildpacks.build.metadata.
	Labels map[string]string
}

// Artifact is one image the run built, as Transform sees it.
type Artifact struct {
	// Image names the artifact and the reference the manifests use; a
	// container is debugged when its image is Image.Ref.
	Image artifact.Image
	// RuntimeType is the artifact's runtimeType from skaffold.yaml (go,
	// golang, nodejs, node, npm, python, jvm, java); empty means
	// inferred from Config and the container.
	RuntimeType string
	// Config is the image's configuration.
	Config ImageConfig
}

// Options tune Transform.
type Options struct {
	// Suspend makes every debugged app wait for its debugger before it
	// starts: dlv without --continue, node --inspect-brk, debugpy
	// --wait-for-client, jdwp suspend=y.
	Suspend bool
	// HelpersRegistry, when set (the user's debug-helpers-registry
	// setting), names prebuilt support images: HelpersRegistry/<runtime>.
	HelpersRegistry string
	// SupportImage returns the reference of skiff's own support image for
	// a runtime (see SupportImage and the lead's delivery); it is called
	// once per runtime that a container needs, and only when
	// HelpersRegistry is empty.
	SupportImage func(Runtime) (string, error)
}

// Port is a debug port of a container.
type Port struct {
	// Name is the port's name: dlv, devtools, dap or jdwp.
	Name string `json:"name"`
	// Port is the container port.
	Port int32 `json:"port"`
}

// Container is one debugged container, for the caller to say how to
// attach and to forward its debug ports.
type Container struct {
	// Object is the workload, as kubectl names it ("deployment.apps/web").
	Object string `json:"object"`
	// Namespace is the workload's namespace as rendered ("" for the
	// default).
	Namespace string `json:"namespace"`
	// Name is the container's name.
	Name string `json:"name"`
	// Artifact is the image name of the artifact it runs.
	Artifact string `json:"artifact"`
	// Runtime is the runtime it is debugged as.
	Runtime Runtime `json:"runtime"`
	// WorkingDir is its working directory (for a debugger's remote path
	// mapping), "" when unknown.
	WorkingDir string `json:"workingDir"`
	// Ports are its debug ports.
	Ports []Port `json:"ports"`
	// Suspended is set when the app waits for a debugger before it starts.
	Suspended bool `json:"suspended"`
}

// Result is what Transform did.
type Result struct {
	// Containers are the debugged containers, in manifest order.
	Containers []Container `json:"containers"`
	// Warnings name the containers of built images that could not be
	// configured and what to set, for the caller to print.
	Warnings []string `json:"warnings"`
}

// podConfig is one container's entry of ConfigAnnotation.
type podConfig struct {
	Artifact   string           `json:"artifact"`
	Runtime    Runtime          `json:"runtime"`
	WorkingDir string           `json:"workingDir,omitempty"`
	Ports      map[string]int32 `json:"ports"`
}

// Transform rewrites, in place, the pod templates of ms whose containers
// run images of arts, so that those containers run under their runtime's
// debugger, and returns what it did. Objects of other kinds, containers of
// images skiff did not build, and pod templates that carry
// ConfigAnnotation are left as they are. A container whose runtime cannot
// be told is left as it is and named in Result.Warnings.
func Transform(ms []render.Manifest, arts []Artifact, opts Options) (Result, error) {
	byRef := map[string]*Artifact{}
	for i := range arts {
		byRef[arts[i].Image.Ref] = &arts[i]
	}
	t := &transformer{opts: opts, byRef: byRef, images: map[Runtime]string{}}
	for _, m := range ms {
		if err := t.manifest(m); err != nil {
			return t.res, fmt.Errorf("%s (%s): configuring for debugging: %w", m.Ref(), m.Source, err)
		}
	}
	return t.res, nil
}

// transformer carries Transform's state across manifests.
type transformer struct {
	opts   Options
	byRef  map[string]*Artifact
	images map[Runtime]string
	res    Result
}

// supportImage returns the support image of rt, asking opts once.
func (t *transformer) supportImage(rt Runtime) (string, error) {
	if ref, ok := t.images[rt]; ok {
		return ref, nil
	}
	var ref string
	switch {
	case t.opts.HelpersRegistry != "":
		ref = strings.TrimSuffix(t.opts.HelpersRegistry, "/") + "/" + string(rt)
	case t.opts.SupportImage != nil:
		var err error
		if ref, err = t.opts.SupportImage(rt); err != nil {
			return "", fmt.Errorf("the %s debug support image: %w", rt, err)
		}
	default:
		return "", fmt.Errorf("no %s debug support image: set the debug-helpers-registry setting or build skiff's support files with `make build`", rt)
	}
	t.images[rt] = ref
	return ref, nil
}

// podTemplate debugs the containers of one pod template (its metadata and
// spec maps), named obj in ns for Result.
func (t *transformer) podTemplate(obj, ns string, meta, spec map[string]any) (bool, error) {
	annotations, _ := meta["annotations"].(map[string]any)
	if _, ok := annotations[ConfigAnnotation]; ok {
		return false, nil
	}
	suspend := t.opts.Suspend || fmt.Sprint(annotations[SuspendAnnotation]) == "true"
	probeTimeouts, _ := annotations[ProbeTimeoutsAnnotation].(string)
	containers, _ := spec["containers"].([]any)
	ports := newPortSet(spec)
	config := map[string]podConfig{}
	var runtimes []Runtime
	for _, c := range containers {
		c, ok := c.(map[string]any)
		if !ok {
			continue
		}
		img, _ := c["image"].(string)
		art := t.byRef[img]
		if art == nil {
			continue
		}
		ct := newContainer(c, art)
		rt, err := ct.runtime(art.RuntimeType)
		if err != nil {
			t.res.Warnings = append(t.res.Warnings, fmt.Sprintf("Image %q (container %s of %s) not configured for debugging: %v", art.Image.Name, ct.name, obj, err))
			continue
		}
		dp, err := ct.configure(rt, ports, suspend)
		if err != nil {
			t.res.Warnings = append(t.res.Warnings, fmt.Sprintf("Image %q (container %s of %s) not configured for debugging: %v", art.Image.Name, ct.name, obj, err))
			continue
		}
		if needsSupportFiles(rt) && !ct.keptDebugger {
			if !slices.Contains(runtimes, rt) {
				runtimes = append(runtimes, rt)
			}
			ct.mountSupport()
		}
		if err := relaxProbes(c, probeTimeouts, suspend); err != nil {
			return false, fmt.Errorf("container %s: %w", ct.name, err)
		}
		ct.write()
		pc := podConfig{Artifact: art.Image.Name, Runtime: rt, WorkingDir: ct.workingDir, Ports: map[string]int32{}}
		for _, p := range dp {
			pc.Ports[p.Name] = p.Port
		}
		config[ct.name] = pc
		t.res.Containers = append(t.res.Containers, Container{
			Object: obj, Namespace: ns, Name: ct.name, Artifact: art.Image.Name, Runtime: rt,
			WorkingDir: ct.workingDir, Ports: dp, Suspended: suspend && !ct.keptDebugger,
		})
	}
	if len(config) == 0 {
		return false, nil
	}
	for _, rt := range runtimes {
		ref, err := t.supportImage(rt)
		if err != nil {
			return false, err
		}
		addSupport(spec, rt, ref, t.opts.HelpersRegistry == "")
	}
	data, err := json.Marshal(config)
	if err != nil {
		return false, err
	}
	if annotations == nil {
		annotations = map[string]any{}
		meta["annotations"] = annotations
	}
	annotations[ConfigAnnotation] = string(data)
	return true, nil
}

// needsSupportFiles reports whether rt's debugger comes from /dbg.
func needsSupportFiles(rt Runtime) bool { return rt != JVM }

// addSupport adds the emptyDir SupportVolume and the init container that
// fills it with rt's support files from image ref, once per pod. skiff's
// own support images (own) are pulled by digest if not present, and their
// copy runs as their user, non-root, with no privileges, no capabilities,
// a read-only root and the runtime's default seccomp profile, so a pod
// the restricted Pod Security Standard admits stays admitted; prebuilt
// images of a helpers registry run as they are, as in Skaffold.
func addSupport(spec map[string]any, rt Runtime, ref string, own bool) {
	spec["volumes"] = upsertNamed(spec["volumes"], SupportVolume, map[string]any{
		"name":     SupportVolume,
		"emptyDir": map[string]any{},
	})
	c := map[string]any{
		"name":         "install-" + string(rt) + "-debug-support",
		"image":        ref,
		"volumeMounts": []any{map[string]any{"name": SupportVolume, "mountPath": SupportMountPath}},
	}
	if own {
		c["imagePullPolicy"] = "IfNotPresent"
		c["securityContext"] = map[string]any{
			"runAsNonRoot":             true,
			"runAsUser":                int64(supportUID),
			"runAsGroup":               int64(supportUID),
			"allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem":   true,
			"capabilities":             map[string]any{"drop": []any{"ALL"}},
			"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
		}
	}
	spec["initContainers"] = upsertNamed(spec["initContainers"], c["name"].(string), c)
}

// upsertNamed replaces the element of list named name by v, or appends v.
func upsertNamed(list any, name string, v map[string]any) []any {
	l, _ := list.([]any)
	for i, e := range l {
		if e, ok := e.(map[string]any); ok && e["name"] == name {
			l[i] = v
			return l
		}
	}
	return append(l, v)
}

// PodContainers are the containers of a pod that skiff debug set up for a
// debugger, by container name, as the pod's ConfigAnnotation describes
// them (Object and Namespace are left empty); nil when it has none or
// cannot be read.
func PodContainers(annotations map[string]string) map[string]Container {
	raw, ok := annotations[ConfigAnnotation]
	if !ok {
		return nil
	}
	var configs map[string]podConfig
	if err := json.Unmarshal([]byte(raw), &configs); err != nil {
		return nil
	}
	out := map[string]Container{}
	for name, c := range configs {
		ct := Container{Name: name, Artifact: c.Artifact, Runtime: c.Runtime, WorkingDir: c.WorkingDir}
		for port, n := range c.Ports {
			ct.Ports = append(ct.Ports, Port{Name: port, Port: n})
		}
		slices.SortFunc(ct.Ports, func(a, b Port) int { return strings.Compare(a.Name, b.Name) })
		out[name] = ct
	}
	return out
}
