package buildpacks

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"skiff.dev/skiff/internal/image"
)

// Client is the part of the Docker Engine API client the builder uses;
// the *client.Client of internal/docker satisfies it.
type Client interface {
	image.Daemon
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerAttach(ctx context.Context, id string, options client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, id string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	CopyToContainer(ctx context.Context, id string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	CopyFromContainer(ctx context.Context, id string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	VolumeRemove(ctx context.Context, id string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
}

var _ Client = (*client.Client)(nil)

// maxReport bounds report.toml and group.toml reads.
const maxReport = 1 << 20

// lifecycleContainer is a created lifecycle container.
type lifecycleContainer struct {
	c  Client
	id string
}

// createContainer creates a container for ph on the host network (so
// that loopback registries are reachable).
func createContainer(ctx context.Context, c Client, ph phase, platform *ocispec.Platform) (*lifecycleContainer, error) {
	res, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:      ph.Image,
			Cmd:        ph.Cmd,
			Env:        ph.Env,
			User:       ph.User,
			Entrypoint: []string{},
			Labels:     map[string]string{"dev.skiff.buildpacks.phase": ph.Name},
		},
		HostConfig: &container.HostConfig{
			Binds:       ph.Binds,
			NetworkMode: "host",
		},
		Platform: platform,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the %s container from %s on the Docker Engine at %s: %w", ph.Name, ph.Image, c.DaemonHost(), err)
	}
	return &lifecycleContainer{c: c, id: res.ID}, nil
}

// copyIn extracts a tar stream into the container at /.
func (lc *lifecycleContainer) copyIn(ctx context.Context, what string, content io.Reader) error {
	if _, err := lc.c.CopyToContainer(ctx, lc.id, client.CopyToContainerOptions{DestinationPath: "/", Content: content}); err != nil {
		return fmt.Errorf("copying %s into the lifecycle container: %w", what, err)
	}
	return nil
}

// run starts the container, streams its output to out and returns its
// exit code.
func (lc *lifecycleContainer) run(ctx context.Context, out io.Writer) (int, error) {
	att, err := lc.c.ContainerAttach(ctx, lc.id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return 0, fmt.Errorf("attaching to the lifecycle container: %w", err)
	}
	defer att.Close()
	wait := lc.c.ContainerWait(ctx, lc.id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := lc.c.ContainerStart(ctx, lc.id, client.ContainerStartOptions{}); err != nil {
		return 0, fmt.Errorf("starting the lifecycle container: %w", err)
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, att.Reader)
		copied <- err
	}()
	select {
	case res := <-wait.Result:
		// The output ends when the container does.
		select {
		case err := <-copied:
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("reading the lifecycle's output: %w", err)
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if res.Error != nil && res.Error.Message != "" {
			return 0, fmt.Errorf("waiting for the lifecycle container: %s", res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-wait.Error:
		return 0, fmt.Errorf("waiting for the lifecycle container: %w", err)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// readFile reads one file of a stopped container, at most maxReport
// bytes.
func (lc *lifecycleContainer) readFile(ctx context.Context, p string) ([]byte, error) {
	res, err := lc.c.CopyFromContainer(ctx, lc.id, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		return nil, fmt.Errorf("reading %s from the lifecycle container: %w", p, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("reading %s from the lifecycle container: %w", p, err)
	}
	if h.Size > maxReport {
		return nil, fmt.Errorf("%s in the lifecycle container is %d bytes, more than the %d read", p, h.Size, maxReport)
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, tr); err != nil {
		return nil, fmt.Errorf("reading %s from the lifecycle container: %w", p, err)
	}
	return b.Bytes(), nil
}

// remove removes the container; it runs even when the build was
// cancelled.
func (lc *lifecycleContainer) remove(ctx context.Context) {
	_, _ = lc.c.ContainerRemove(context.WithoutCancel(ctx), lc.id, client.ContainerRemoveOptions{Force: true})
}
