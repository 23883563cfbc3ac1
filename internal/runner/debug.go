package runner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	gosync "sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/debug"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync/deliver"
)

// DebugOptions make the runner skiff debug's: images are built for a
// debugger (BuildOptions.Debug is the caller's to set), and every render
// rewrites the containers of the images it built to run under their
// runtime's debugger (see package debug).
type DebugOptions struct {
	// Suspend makes each debugged app wait for a debugger before it
	// starts (--suspend).
	Suspend bool
	// HelpersRegistry names a registry of prebuilt support images
	// (Skaffold's debug-helpers-registry); empty means skiff makes its
	// own and delivers them next to the built images.
	HelpersRegistry string
}

// ForwardDebug is the --port-forward mode that forwards the debug ports
// of the debugged containers (skiff debug's default, with user).
const ForwardDebug = "debug"

// debugTransform rewrites the pod templates of ms for skiff debug, and
// keeps what it did for the port-forwards and the attach help. The
// support images are made and delivered where the cluster pulls from,
// unless offline (render --offline), where only their references are
// computed.
func (r *Runner) debugTransform(ctx context.Context, ms []render.Manifest, images []artifact.Image, offline bool) error {
	// The artifact's runtimeType, else the one its builder implies.
	runtimes := map[string]string{}
	for _, a := range r.opts.Project.Artifacts() {
		rt := a.RuntimeType
		if k, ok := r.kinds.Lookup(a.BuilderType()); ok && rt == "" {
			rt = k.Runtime
		}
		runtimes[a.ImageName] = rt
	}
	var arts []debug.Artifact
	for _, im := range images {
		rt, built := runtimes[im.Name]
		if !built {
			continue
		}
		da := debug.Artifact{Image: im, RuntimeType: rt}
		if !offline {
			cfg, err := r.imageConfig(ctx, im.Ref)
			if err != nil {
				r.opts.Log.Warnf("reading the configuration of %s: %v; its runtime is told from the manifests and runtimeType alone", im.Ref, err)
			}
			da.Config = cfg
		}
		arts = append(arts, da)
	}
	res, err := debug.Transform(ms, arts, debug.Options{
		Suspend:         r.opts.Debug.Suspend,
		HelpersRegistry: r.opts.Debug.HelpersRegistry,
		SupportImage: func(rt debug.Runtime) (string, error) {
			return r.supportImage(ctx, rt, images, offline)
		},
	})
	for _, w := range res.Warnings {
		r.opts.Log.Warnf("%s", w)
	}
	r.debugged = res.Containers
	return err
}

// imageConfig reads the configuration of the image ref: from the registry
// images were pushed to, else from the Docker daemon they were loaded
// into.
func (r *Runner) imageConfig(ctx context.Context, ref string) (debug.ImageConfig, error) {
	bi, err := r.readImage(ctx, ref)
	if err != nil {
		return debug.ImageConfig{}, err
	}
	defer bi.done()
	return debug.ConfigOf(bi.Config), nil
}

// supportImage makes skiff's support image for rt from the files next to
// skiff (bin/debug, or $SKIFF_DEBUG_SUPPORT) and puts it where the
// cluster pulls the built images from, next to them, returning its
// reference.
func (r *Runner) supportImage(ctx context.Context, rt debug.Runtime, images []artifact.Image, offline bool) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the debug support files next to skiff: %w; set %s to their directory", err, debug.EnvSupportDir)
	}
	dir, err := debug.FindSupportDir(self, r.getenv(debug.EnvSupportDir))
	if err != nil {
		return "", err
	}
	img, err := debug.SupportImage(dir, rt)
	if err != nil {
		return "", err
	}
	repo := debug.SupportRepo(rt)
	if len(images) > 0 {
		repo = nextTo(images[0].Ref, repo)
	}
	if offline {
		d, err := img.Digest()
		if err != nil {
			return "", err
		}
		return repo + "@" + d.String(), nil
	}
	push, _ := r.buildTarget(ctx, r.lastBuild)
	return r.deliverImage(ctx, push, r.lastBuild, repo, img)
}

// nextTo names the repository name in the registry and path of ref's
// repository ("127.0.0.1:5001/web:1", "x" -> "127.0.0.1:5001/x").
func nextTo(ref, name string) string {
	repo := Repository(ref)
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		return path.Join(repo[:i], name)
	}
	return name
}

// Repository strips the tag and digest from an image reference.
func Repository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// deliverImage puts img, a helper image of skiff's own (skiff-agent, a
// debug support image), where the cluster pulls from: pushed as repo (by
// digest) when push, else loaded into the Docker daemon under repo's last
// element.
func (r *Runner) deliverImage(ctx context.Context, push bool, opts BuildOptions, repo string, img v1.Image) (string, error) {
	if push {
		ref, _, err := deliver.Push(ctx, r.registry(r.insecureRegistries(opts)), repo, img)
		return ref, err
	}
	cli, err := docker.NewClient()
	if err != nil {
		return "", err
	}
	defer cli.Close()
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	ref := path.Base(repo) + ":" + d.Hex[:16]
	if _, err := image.Load(ctx, cli, ref, img); err != nil {
		return "", fmt.Errorf("loading %s into the Docker daemon: %w", ref, err)
	}
	return ref, nil
}

// publishDebugged publishes a DebuggingContainerEvent (Started) for each
// container that the last deploy set up for a debugger. When skiff
// follows the pods (--tail), they are published per pod and container
// (debugPods), with PodName, as Skaffold does: here, after a deploy,
// those still running again, as the deploy starts the state's debugging
// containers afresh. Else per workload ("deployment.apps/web", the
// event's ID), without a pod.
func (r *Runner) publishDebugged() {
	if r.opts.Tail {
		r.debugPods.republish()
		return
	}
	for _, c := range r.debugged {
		ports := map[string]uint32{}
		for _, p := range c.Ports {
			ports[p.Name] = uint32(p.Port)
		}
		r.opts.Events.Publish(event.Event{DebuggingContainerEvent: &event.DebuggingContainerEvent{
			ID: c.Object, TaskID: event.TaskDeploy, Status: event.Started,
			ContainerName: c.Name, Namespace: c.Namespace, Artifact: c.Artifact,
			Runtime: string(c.Runtime), WorkingDir: c.WorkingDir, DebugPorts: ports,
		}})
	}
}

// forwardDebugPorts forwards the debug ports of the debugged containers
// and says, per container, how to attach a debugger through them.
func (r *Runner) forwardDebugPorts(ctx context.Context, f *kube.Forwarder) error {
	for _, c := range r.debugged {
		kind, name, _ := strings.Cut(c.Object, "/")
		kind, _, _ = strings.Cut(kind, ".")
		ns := c.Namespace
		if ns == "" {
			ns = r.namespace()
		}
		for _, p := range c.Ports {
			addr, err := f.Add(ctx, kube.Forward{Type: kind, Name: name, Namespace: ns, Port: intstr.FromInt32(p.Port), LocalPort: int(p.Port)})
			if err != nil {
				return err
			}
			fmt.Fprintln(r.opts.ErrOut, debug.AttachHelp(c, addr))
		}
	}
	return nil
}

// debugPods publishes the debugging containers of the pods skiff follows:
// Started once a container that skiff debug set up (the pod's
// debug.ConfigAnnotation) runs, Terminated once it stops or its pod goes.
// It is safe for concurrent use.
type debugPods struct {
	mu      gosync.Mutex
	events  *event.Bus
	started map[string]event.DebuggingContainerEvent // by namespace/pod/container
}

func newDebugPods(events *event.Bus) *debugPods {
	return &debugPods{events: events, started: map[string]event.DebuggingContainerEvent{}}
}

// pod takes a change of pod (kube.LogOptions.Pods).
func (d *debugPods) pod(pod *corev1.Pod, deleted bool) {
	configs := debug.PodContainers(pod.Annotations)
	if d == nil || len(configs) == 0 {
		return
	}
	running := map[string]bool{}
	for _, st := range pod.Status.ContainerStatuses {
		running[st.Name] = st.State.Running != nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		c := configs[name]
		key := pod.Namespace + "/" + pod.Name + "/" + name
		e, was := d.started[key]
		if deleted || !running[name] {
			if was {
				delete(d.started, key)
				e.Status = event.Terminated
				d.events.Publish(event.Event{DebuggingContainerEvent: &e})
			}
			continue
		}
		if was {
			continue
		}
		ports := map[string]uint32{}
		for _, p := range c.Ports {
			ports[p.Name] = uint32(p.Port)
		}
		e = event.DebuggingContainerEvent{
			ID: podWorkload(pod), TaskID: event.TaskDeploy, Status: event.Started,
			PodName: pod.Name, ContainerName: name, Namespace: pod.Namespace, Artifact: c.Artifact,
			Runtime: string(c.Runtime), WorkingDir: c.WorkingDir, DebugPorts: ports,
		}
		d.started[key] = e
		d.events.Publish(event.Event{DebuggingContainerEvent: &e})
	}
}

// republish publishes the containers running now again.
func (d *debugPods) republish() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(d.started)) {
		e := d.started[key]
		d.events.Publish(event.Event{DebuggingContainerEvent: &e})
	}
}

// podWorkload names pod's workload as kubectl does, as debug.Container's
// Object: deployment.apps/web for a pod of a ReplicaSet web-<hash>,
// statefulset.apps/db, pod/NAME for a pod of its own.
func podWorkload(pod *corev1.Pod) string {
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		switch o.Kind {
		case "ReplicaSet":
			if hash := pod.Labels["pod-template-hash"]; hash != "" && strings.HasSuffix(o.Name, "-"+hash) {
				return "deployment.apps/" + strings.TrimSuffix(o.Name, "-"+hash)
			}
			return "replicaset.apps/" + o.Name
		case "StatefulSet", "DaemonSet":
			return strings.ToLower(o.Kind) + ".apps/" + o.Name
		case "Job":
			return "job.batch/" + o.Name
		}
	}
	return "pod/" + pod.Name
}
