package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
)

// Job is a container run to completion (a verify test, a custom action's
// container).
type Job struct {
	// Name names the container (numbered when the name is taken) and the
	// errors.
	Name string
	// Image is the image to run: the daemon's, else pulled.
	Image artifact.Image
	// Command replaces the image's entrypoint and Args its cmd, when set.
	Command, Args []string
	// Env are NAME=value pairs.
	Env []string
	// Timeout bounds the run; 0 means none.
	Timeout time.Duration
}

// RunToCompletion runs job in a container, streams its output to out and
// waits until it exits; the container is removed afterwards. A non-zero
// exit code, or a run longer than the job's timeout, is an error.
func (d *Deployer) RunToCompletion(ctx context.Context, job Job, out io.Writer) error {
	if _, err := d.ensureImage(ctx, job.Image, daemonRef(job.Image.Ref)); err != nil {
		return err
	}
	name, err := d.freeName(ctx, containerName(job.Name))
	if err != nil {
		return err
	}
	cfg := &container.Config{Image: daemonRef(job.Image.Ref), Env: job.Env}
	if len(job.Command) > 0 {
		cfg.Entrypoint = job.Command
	}
	if len(job.Args) > 0 {
		cfg.Cmd = job.Args
	}
	res, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg})
	if err != nil {
		return daemonError(d.cli, fmt.Sprintf("creating container %s from %s", name, job.Image.Ref), err)
	}
	defer func() {
		_, _ = d.cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	if _, err := d.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return daemonError(d.cli, "starting container "+name, err)
	}
	runCtx := ctx
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	// The log ends when the container stops.
	rc, err := d.cli.ContainerLogs(runCtx, res.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err == nil {
		_, err = stdcopy.StdCopy(out, out, rc)
		rc.Close()
	}
	if runCtx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%s still ran after its timeout of %s; it was stopped", job.Name, job.Timeout)
	}
	if err != nil {
		return daemonError(d.cli, "reading the output of container "+name, err)
	}
	for {
		st, err := d.cli.ContainerInspect(ctx, res.ID, client.ContainerInspectOptions{})
		if err != nil {
			return daemonError(d.cli, "reading the state of container "+name, err)
		}
		if s := st.Container.State; s != nil && !s.Running && s.Status != container.StateCreated {
			if s.ExitCode != 0 {
				return fmt.Errorf("%s exited with code %d; its output is above", job.Name, s.ExitCode)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(d.poll):
		}
	}
}
