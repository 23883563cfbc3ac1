package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// Client is the part of the Docker Engine API (the moby client) the
// deployer uses; *client.Client implements it.
type Client interface {
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error)

	NetworkList(ctx context.Context, opts client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkCreate(ctx context.Context, name string, opts client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkRemove(ctx context.Context, network string, opts client.NetworkRemoveOptions) (client.NetworkRemoveResult, error)

	ContainerList(ctx context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, container string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, container string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerStop(ctx context.Context, container string, opts client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, container string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerLogs(ctx context.Context, container string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error)

	Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult
	// DaemonHost names the daemon in errors (unix:///var/run/docker.sock).
	DaemonHost() string
}

var _ Client = (*client.Client)(nil)

// daemonError explains a failed call to the daemon; doing reads "creating
// container web" or "listing the project's containers".
func daemonError(c Client, doing string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%s: the Docker Engine at %s does not answer (%w); start dockerd (`make cluster-up` starts one) or set DOCKER_HOST to the daemon to use",
			doing, c.DaemonHost(), err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
