package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/debug"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
)

// dockerTarget runs the images of the configs with deploy.docker as
// containers on the local Docker daemon.
type dockerTarget struct{ r *Runner }

// deploy runs the images as containers.
// Under skiff debug, each container runs under its debugger (see
// dockerDebug), with its debug ports published on loopback, and how to
// attach is printed once it runs.
func (t dockerTarget) deploy(ctx context.Context, images []artifact.Image) error {
	var dbg map[string]*dockerdeploy.Debug
	if t.r.opts.Debug != nil {
		var err error
		if dbg, err = t.r.dockerDebug(ctx, images); err != nil {
			return err
		}
	}
	d, closeClient, err := t.r.dockerDeployer(dbg)
	if err != nil {
		return err
	}
	defer closeClient()
	t.r.touched = true
	for _, c := range t.r.dockerConfigs() {
		if err := d.Deploy(ctx, c.Deploy.DockerDeploy, images); err != nil {
			return err
		}
	}
	for _, c := range t.r.debugged {
		for _, p := range c.Ports {
			if addr, ok := d.Address(c.Artifact, int(p.Port)); ok {
				fmt.Fprintln(t.r.opts.ErrOut, debug.AttachHelp(c, addr))
			}
		}
	}
	return nil
}

// dockerDebug applies skiff debug's transform to the containers of the
// images deploy.docker runs: each, as the one container of a pod, is
// rewritten as a manifest's would be, and what the transform wrote (its
// command, environment, ports and support images) becomes the container's
// dockerdeploy.Debug.
func (r *Runner) dockerDebug(ctx context.Context, images []artifact.Image) (map[string]*dockerdeploy.Debug, error) {
	refs := map[string]string{}
	for _, im := range images {
		refs[im.Name] = im.Ref
	}
	var ms []render.Manifest
	var names []string
	for _, c := range r.dockerConfigs() {
		for _, n := range c.Deploy.DockerDeploy.Images {
			if refs[n] == "" || slices.Contains(names, n) {
				continue
			}
			names = append(names, n)
			ms = append(ms, render.Manifest{Source: render.Source{File: "deploy.docker.images"}, Object: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": n},
				"spec": map[string]any{"containers": []any{map[string]any{"name": n, "image": refs[n]}}},
			}}})
		}
	}
	if err := r.debugTransform(ctx, ms, images, false); err != nil {
		return nil, err
	}
	for i := range r.debugged {
		r.debugged[i].Object = "container/" + r.debugged[i].Artifact
	}
	out := map[string]*dockerdeploy.Debug{}
	for i, m := range ms {
		spec, _ := m.Object.Object["spec"].(map[string]any)
		c, _ := spec["containers"].([]any)[0].(map[string]any)
		ports, _ := c["ports"].([]any)
		if len(ports) == 0 {
			continue // not debugged (Transform warned)
		}
		dbg := &dockerdeploy.Debug{SupportPath: debug.SupportMountPath}
		if cmd, ok := c["command"]; ok {
			dbg.Entrypoint, dbg.Cmd = stringList(cmd), append([]string{}, stringList(c["args"])...)
		}
		envs, _ := c["env"].([]any)
		for _, e := range envs {
			e, _ := e.(map[string]any)
			dbg.Env = append(dbg.Env, fmt.Sprintf("%v=%v", e["name"], e["value"]))
		}
		for _, p := range ports {
			p, _ := p.(map[string]any)
			if n, ok := p["containerPort"].(int64); ok {
				dbg.Ports = append(dbg.Ports, int(n))
			}
		}
		inits, _ := spec["initContainers"].([]any)
		for _, ic := range inits {
			ic, _ := ic.(map[string]any)
			if img, ok := ic["image"].(string); ok {
				dbg.Support = append(dbg.Support, img)
			}
		}
		out[names[i]] = dbg
	}
	return out, nil
}

// stringList returns the strings of a manifest's list v.
func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// delete removes the project's containers.
func (t dockerTarget) delete(ctx context.Context, _ time.Duration, _ bool) error {
	d, closeClient, err := t.r.dockerDeployer(nil)
	if err != nil {
		return err
	}
	defer closeClient()
	return d.Delete(ctx)
}

// observe streams the containers' logs (with Tail); their ports are
// published when they start.
func (t dockerTarget) observe(ctx context.Context) (func(), error) {
	r := t.r
	if !r.opts.Tail {
		return func() {}, nil
	}
	d, closeClient, err := r.dockerDeployer(nil)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Logs(ctx, r.opts.Out, r.opts.Color); err != nil && ctx.Err() == nil {
			r.opts.Log.Warnf("streaming container logs: %v", err)
		}
	}()
	return func() { <-done; closeClient() }, nil
}

// prepareSync finds the skiff-agent binary, which dev copies into a
// container without tar when it first syncs there.
func (t dockerTarget) prepareSync(context.Context, BuildOptions) {
	t.r.agentBinary, _ = deliver.FindBinary(t.r.getenv(deliver.EnvBinary))
}

// syncPath finds the project's running containers and execs into them
// through the Engine API: one skiff-agent session per container (the
// agent copied in through the archive API first where it is missing),
// else tar.
func (t dockerTarget) syncPath(context.Context, func()) (syncPath, error) {
	r := t.r
	dd, closeDeployer, err := r.dockerDeployer(nil)
	if err != nil {
		return syncPath{}, err
	}
	cli, err := docker.NewClient()
	if err != nil {
		closeDeployer()
		return syncPath{}, err
	}
	exec := sync.NewDockerExecutor(cli)
	agent := &sync.AgentTransport{Exec: exec}
	bin := r.agentBinary
	tr := newFallbackTransport(&sync.TarTransport{Exec: exec}, transportFunc(func(ctx context.Context, t sync.Target, ops []sync.Op) error {
		err := agent.Sync(ctx, t, ops)
		if !errors.Is(err, sync.ErrNoAgent) || bin == "" {
			return err
		}
		if err := deliver.CopyToContainer(ctx, cli, t.Container, bin); err != nil {
			return err
		}
		return agent.Sync(ctx, t, ops)
	}))
	tr.open = agent.Open
	return syncPath{
		source:    &dockerContainers{deployer: dd},
		transport: tr.For,
		exec:      exec,
		warm:      tr.Warm,
		stop:      func() { agent.Close(); closeDeployer(); cli.Close() },
	}, nil
}

func (dockerTarget) unit() string { return "container" }

// dockerDeployer connects the docker deployer to the daemon, with dbg
// (skiff debug's changes to the containers, or nil); the caller closes the
// client.
func (r *Runner) dockerDeployer(dbg map[string]*dockerdeploy.Debug) (*dockerdeploy.Deployer, func(), error) {
	cli, err := docker.NewClient()
	if err != nil {
		return nil, nil, err
	}
	var forwards []schema.PortForwardResource
	for _, c := range r.dockerConfigs() {
		for _, pf := range c.PortForward {
			if pf != nil && pf.Type == "container" {
				forwards = append(forwards, *pf)
			}
		}
	}
	d := dockerdeploy.New(cli, dockerdeploy.Options{
		Project:      r.id,
		RunID:        r.opts.RunID,
		PortForwards: forwards,
		Out:          r.opts.ErrOut,
		Debug:        dbg,
		DryRun:       r.opts.DeleteDryRun,
		Events:       r.opts.Events,
	})
	return d, func() { cli.Close() }, nil
}
