package deliver

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/sync"
)

// ContainerCopier is the part of the moby client that CopyToContainer
// uses; *client.Client implements it.
type ContainerCopier interface {
	CopyToContainer(ctx context.Context, container string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error)
}

var _ ContainerCopier = (*client.Client)(nil)

// CopyToContainer puts the skiff-agent binary at sync.DefaultAgentPath,
// where AgentTransport execs it by default, in a Docker
// container (the docker deployer's), by name or ID, through the Engine's
// archive API: the Engine unpacks the tar itself, so the image needs no
// tar or shell, and FROM scratch containers can sync through the agent.
func CopyToContainer(ctx context.Context, api ContainerCopier, container, binary string) error {
	b, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("reading skiff-agent to copy it into container %s: %w", container, err)
	}
	if _, err := image.StaticBinaryArch(binary, bytes.NewReader(b), "./cmd/skiff-agent"); err != nil {
		return err
	}
	dir := path.Dir(sync.DefaultAgentPath)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: dir[1:] + "/", Mode: 0o755, ModTime: now},
		{Typeflag: tar.TypeReg, Name: sync.DefaultAgentPath[1:], Mode: 0o755, Size: int64(len(b)), ModTime: now},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err = api.CopyToContainer(ctx, container, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf})
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("copying skiff-agent into container %s: the container does not exist (%v); deploy it first, or copy into one that docker ps lists", container, err)
	case err != nil:
		return fmt.Errorf("copying skiff-agent into container %s at %s: %w; check that the Docker Engine runs (docker info) and that %s is not a file in the image", container, sync.DefaultAgentPath, err, dir)
	}
	return nil
}
