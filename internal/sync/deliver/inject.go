package deliver

import (
	"fmt"
	"path"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync"
)

// Names and paths of what Inject adds to a pod template.
const (
	// VolumeName is the emptyDir volume that carries the agent.
	VolumeName = "skiff-agent"
	// InitContainerName is the init container that copies the agent into
	// the volume.
	InitContainerName = "skiff-agent-install"
	// imagePath is the agent's path in its own image.
	imagePath = "/skiff-agent"
)

// MountPath is where the volume is mounted, in the init container and in
// the app containers: the directory of sync.DefaultAgentPath.
var MountPath = path.Dir(sync.DefaultAgentPath)

// podSpecPaths are where each workload kind keeps its pod spec.
var podSpecPaths = func() map[schema.GroupKind][]string {
	template := []string{"spec", "template", "spec"}
	m := map[schema.GroupKind][]string{
		{Kind: "Pod"}:                     {"spec"},
		{Group: "batch", Kind: "Job"}:     template,
		{Group: "batch", Kind: "CronJob"}: {"spec", "jobTemplate", "spec", "template", "spec"},
	}
	for _, group := range []string{"apps", "extensions"} {
		for _, kind := range []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"} {
			m[schema.GroupKind{Group: group, Kind: kind}] = template
		}
	}
	return m
}()

// Inject delivers the agent image agentRef into every pod template (of a
// Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) that
// has a container whose image wants accepts, typically the images of the
// artifacts with sync rules: it adds the emptyDir volume VolumeName, the
// init container InitContainerName (first) running "/skiff-agent install
// /skiff/skiff-agent" from agentRef, and a mount of the volume at
// MountPath in each wanted container. It replaces an earlier injection in
// place, so injecting twice gives the same manifests, and changes nothing
// in a template with no wanted container. It returns the number of pod
// templates that carry the agent.
func Inject(ms []render.Manifest, agentRef string, wants func(image string) bool) (int, error) {
	n := 0
	for _, m := range ms {
		if m.Object == nil {
			continue
		}
		p, ok := podSpecPaths[m.Object.GroupVersionKind().GroupKind()]
		if !ok {
			continue
		}
		spec, ok, err := unstructured.NestedFieldNoCopy(m.Object.Object, p...)
		if err != nil || !ok {
			continue
		}
		podSpec, ok := spec.(map[string]any)
		if !ok {
			continue
		}
		injected, err := injectSpec(podSpec, agentRef, wants)
		if err != nil {
			return n, fmt.Errorf("%s %s (%s): delivering skiff-agent for file sync: %w", m.Object.GetKind(), m.Object.GetName(), m.Source, err)
		}
		if injected {
			n++
		}
	}
	return n, nil
}

// injectSpec injects the agent into one pod spec and reports whether a
// container wanted it.
func injectSpec(spec map[string]any, agentRef string, wants func(string) bool) (bool, error) {
	containers, _ := spec["containers"].([]any)
	var wanted []map[string]any
	for _, c := range containers {
		c, ok := c.(map[string]any)
		if !ok {
			continue
		}
		if image, _ := c["image"].(string); image != "" && wants(image) {
			wanted = append(wanted, c)
		}
	}
	if len(wanted) == 0 {
		return false, nil
	}
	for _, c := range wanted {
		if err := checkMounts(c); err != nil {
			return false, err
		}
	}
	spec["volumes"] = upsertNamed(spec["volumes"], VolumeName, map[string]any{
		"name":     VolumeName,
		"emptyDir": map[string]any{},
	}, false)
	spec["initContainers"] = upsertNamed(spec["initContainers"], InitContainerName, initContainer(agentRef), true)
	for _, c := range wanted {
		c["volumeMounts"] = upsertNamed(c["volumeMounts"], VolumeName, mount(), false)
	}
	return true, nil
}

// checkMounts refuses a container that already mounts something else at
// MountPath.
func checkMounts(c map[string]any) error {
	mounts, _ := c["volumeMounts"].([]any)
	for _, m := range mounts {
		m, ok := m.(map[string]any)
		if !ok {
			continue
		}
		if name, _ := m["name"].(string); name != VolumeName && path.Clean(fmt.Sprint(m["mountPath"])) == MountPath {
			return fmt.Errorf("container %v mounts volume %s at %s, where skiff mounts the agent; move that mount elsewhere or sync through an image with tar", c["name"], name, MountPath)
		}
	}
	return nil
}

// agentUID is the user and group the init container runs as, the agent
// image's (imageUser), set on the container so that a pod-level runAsUser
// (even 0) does not apply to it.
const agentUID = 65532

// initContainer is the init container that copies the agent into the
// volume (an emptyDir, writable by any user). It runs as agentUID, non-root,
// with no privileges, no capabilities and the runtime's default seccomp
// profile, so the restricted Pod Security Standard admits it; the copy it
// installs has mode 0755, so any user of the app containers can run it.
func initContainer(agentRef string) map[string]any {
	return map[string]any{
		"name":            InitContainerName,
		"image":           agentRef,
		"imagePullPolicy": "IfNotPresent",
		"command":         []any{imagePath, "install", sync.DefaultAgentPath},
		"volumeMounts":    []any{mount()},
		"securityContext": map[string]any{
			"runAsNonRoot":             true,
			"runAsUser":                int64(agentUID),
			"runAsGroup":               int64(agentUID),
			"allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem":   true,
			"capabilities":             map[string]any{"drop": []any{"ALL"}},
			"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
		},
	}
}

func mount() map[string]any {
	return map[string]any{"name": VolumeName, "mountPath": MountPath}
}

// upsertNamed replaces the element of the list named name by v, or adds v
// (first when prepend is set, else last) when there is none.
func upsertNamed(list any, name string, v map[string]any, prepend bool) []any {
	l, _ := list.([]any)
	for i, e := range l {
		if e, ok := e.(map[string]any); ok && e["name"] == name {
			l[i] = v
			return l
		}
	}
	if prepend {
		return append([]any{v}, l...)
	}
	return append(l, v)
}
