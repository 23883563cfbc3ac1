package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// DockerAPI is the part of the moby client that DockerExecutor uses;
// *client.Client implements it.
type DockerAPI interface {
	ExecCreate(ctx context.Context, container string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
}

var _ DockerAPI = (*client.Client)(nil)

// DockerExecutor runs commands in containers of the local Docker Engine
// (the docker deployer's), as docker exec does, through the Engine API.
// It addresses a container by Target.Container, its name or ID; Namespace
// and Pod are empty (DockerTarget).
type DockerExecutor struct {
	api DockerAPI
}

// NewDockerExecutor returns an Executor over api, usually the client from
// docker.NewClient.
func NewDockerExecutor(api DockerAPI) *DockerExecutor {
	return &DockerExecutor{api: api}
}

// DockerTarget is the Target of a Docker container, by name or ID.
func DockerTarget(container string) Target {
	return Target{Container: container}
}

// Exec implements Executor. It streams stdin to the command and closes the
// command's stdin at its end; it returns when the command's output ends,
// without waiting for stdin to be read to its end.
func (d *DockerExecutor) Exec(ctx context.Context, t Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := t.Container
	if name == "" || t.Pod != "" || t.Namespace != "" {
		return fmt.Errorf("exec in %s: a Docker container is addressed by Target.Container alone (sync.DockerTarget)", t)
	}
	created, err := d.api.ExecCreate(ctx, name, client.ExecCreateOptions{
		Cmd:          cmd,
		AttachStdin:  stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return dockerUnavailable(name, err)
	}
	att, err := d.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return dockerUnavailable(name, err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close) // unblock the reads below
	defer stop()
	if stdin != nil {
		go func() {
			io.Copy(att.Conn, stdin) // a failed write shows in the command's result
			att.CloseWrite()
		}()
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	if ctx.Err() != nil {
		return fmt.Errorf("exec in container %s: %w", name, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("exec in container %s: reading its output: %w", name, err)
	}
	code, err := d.exitCode(ctx, created.ID)
	if err != nil {
		return fmt.Errorf("exec in container %s: %w", name, err)
	}
	if code != 0 {
		// The Engine reports a command it could not start (not in the
		// image, not executable) as codes 127 and 126, which missing reads.
		return &ExitError{Code: code}
	}
	return nil
}

// exitCode waits for the Engine to record the end of exec id, which can
// lag a moment behind the end of its output, and returns its exit code.
func (d *DockerExecutor) exitCode(ctx context.Context, id string) (int, error) {
	delay := time.Millisecond
	for {
		res, err := d.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("reading the exit code: %w", err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		if delay > time.Second {
			return 0, errors.New("the command closed its output but the Engine still reports it running")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// dockerUnavailable explains an exec the Engine refused to start: a
// missing container, or one that is not running (stopped, paused,
// restarting), wrapping ErrUnavailable. Otherwise it wraps err.
func dockerUnavailable(name string, err error) error {
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%w: container %s does not exist; it was removed or replaced (a redeploy makes new containers), so sync to the containers that run now (docker ps)", ErrUnavailable, name)
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("%w: container %s is not running (%v); sync again once it runs, `docker logs %s` says why it stopped", ErrUnavailable, name, err, name)
	}
	return fmt.Errorf("exec in container %s: %w; check that the Docker Engine runs (docker info)", name, err)
}
