package runner

import (
	"context"
	"errors"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	dockerdeploy "skiff.dev/skiff/internal/deploy/docker"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
)

// dockerTarget runs the images of the configs with deploy.docker as
// containers on the local Docker daemon.
type dockerTarget struct{ r *Runner }

// deploy runs the images as containers.
func (t dockerTarget) deploy(ctx context.Context, images []artifact.Image) error {
	d, closeClient, err := t.r.dockerDeployer()
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
	return nil
}

// delete removes the project's containers.
func (t dockerTarget) delete(ctx context.Context, _ time.Duration) error {
	d, closeClient, err := t.r.dockerDeployer()
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
	d, closeClient, err := r.dockerDeployer()
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
// through the Engine API: tar where the image has it, else skiff-agent,
// copied in through the archive API first.
func (t dockerTarget) syncPath(context.Context, func()) (syncPath, error) {
	r := t.r
	dd, closeDeployer, err := r.dockerDeployer()
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
	return syncPath{
		source:    &dockerContainers{deployer: dd},
		transport: tr.For,
		stop:      func() { closeDeployer(); cli.Close() },
	}, nil
}

func (dockerTarget) unit() string { return "container" }

// dockerDeployer connects the docker deployer to the daemon; the caller
// closes the client.
func (r *Runner) dockerDeployer() (*dockerdeploy.Deployer, func(), error) {
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
		DryRun:       r.opts.DeleteDryRun,
	})
	return d, func() { cli.Close() }, nil
}
