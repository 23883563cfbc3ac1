package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/kube"
)

// Debug is how skiff debug changes the container of one image (package
// debug's transform, applied to a container instead of a pod).
type Debug struct {
	// Entrypoint, when not nil, replaces the image's ENTRYPOINT, and Cmd
	// its CMD (the image's CMD no longer applies).
	Entrypoint, Cmd []string
	// Env is added to the image's environment (KEY=VALUE; a key the
	// image sets is replaced).
	Env []string
	// Ports are the debug ports, published on 127.0.0.1 on the same port
	// or the next free one (Deployer.Address says which).
	Ports []int
	// Support are the images whose entrypoint fills SupportPath with the
	// debugger's files. SupportPath is a volume of the container's own,
	// removed with it; they run in it as root, before the container
	// starts, because a new volume is root's (0755) and their own user
	// could not write it.
	Support     []string
	SupportPath string
}

// supportTimeout bounds how long the support images have to fill the
// volume.
const supportTimeout = 2 * time.Minute

// debugForwards are the forwards of dbg's ports, on loopback.
func debugForwards(dbg *Debug) []forward {
	var out []forward
	for _, p := range dbg.Ports {
		port, _ := network.PortFrom(uint16(p), network.TCP)
		out = append(out, forward{addr: netip.AddrFrom4([4]byte{127, 0, 0, 1}), port: port, local: p})
	}
	return out
}

// applyDebug changes the container's configuration as dbg says.
func applyDebug(cfg *container.Config, dbg *Debug) {
	if dbg.Entrypoint != nil {
		cfg.Entrypoint = dbg.Entrypoint
		cfg.Cmd = dbg.Cmd
	}
	cfg.Env = append(cfg.Env, dbg.Env...)
	if dbg.SupportPath != "" && len(dbg.Support) > 0 {
		cfg.Volumes = map[string]struct{}{dbg.SupportPath: {}}
	}
	// A health check would fail while the app is paused at a breakpoint
	// (Kubernetes' probes are relaxed for the same reason).
	cfg.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
}

// fillSupport runs each support image of dbg, as root, with the volumes
// of the created (not started) container id, and waits until it has
// copied its files and exited; the support container is removed.
func (d *Deployer) fillSupport(ctx context.Context, id, name string, dbg *Debug) error {
	for _, img := range dbg.Support {
		img = daemonRef(img)
		if _, err := d.ensureImage(ctx, artifact.Image{Name: "the debug support image " + img, Ref: img}, img); err != nil {
			return err
		}
		labels := map[string]string{kube.ManagedByLabel: kube.ManagedBy, kube.ProjectLabel: d.opts.Project, kube.RunIDLabel: d.opts.RunID}
		res, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: img, User: "0", Labels: labels},
			HostConfig: &container.HostConfig{NetworkMode: "none", VolumesFrom: []string{id}},
		})
		if err != nil {
			return daemonError(d.cli, fmt.Sprintf("creating the container of debug support image %s for %s", img, name), err)
		}
		err = d.runToEnd(ctx, res.ID)
		_, _ = d.cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true})
		if err != nil {
			return fmt.Errorf("copying the debugger's files of %s into %s of container %s: %w", img, dbg.SupportPath, name, err)
		}
	}
	return nil
}

// runToEnd starts the container id and waits until it exits, with code
// 0, or supportTimeout passes.
func (d *Deployer) runToEnd(ctx context.Context, id string) error {
	if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return daemonError(d.cli, "starting it", err)
	}
	deadline := time.Now().Add(supportTimeout)
	for {
		res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return daemonError(d.cli, "waiting for it", err)
		}
		if st := res.Container.State; st != nil && !st.Running && st.Status != container.StateCreated {
			if st.ExitCode != 0 {
				return fmt.Errorf("it exited with code %d%s", st.ExitCode, d.lastOutput(ctx, &deployed{id: id, name: id}))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it still runs after %s", supportTimeout)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(d.poll):
		}
	}
}

// Address returns the local address ("127.0.0.1:56268") that the last
// Deploy published the container port of image's container on.
func (d *Deployer) Address(image string, port int) (string, bool) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	for _, b := range d.published[image] {
		if b.port.Num() == uint16(port) {
			return net.JoinHostPort(b.addr.String(), strconv.Itoa(b.host)), true
		}
	}
	return "", false
}
