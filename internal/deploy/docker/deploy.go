// Package docker is the docker deployer (deploy.docker in skaffold.yaml):
// it runs the built images as containers on the local Docker Engine, for
// users without a cluster, as Skaffold's docker deployer does.
//
// Each image in deploy.docker.images runs in one container named after it
// (web, or web-1 when a container of something else has that name), on the
// project's network skiff-<project>, where the other containers reach it as
// web. The image's own ENTRYPOINT, CMD, ENV and HEALTHCHECK apply (but
// under skiff debug, Options.Debug).
// portForward entries with resourceType container publish container ports
// on 127.0.0.1 or their address. The containers and the network carry the project's label,
// so that the next deploy replaces them and Delete finds them; a container
// whose image and ports have not changed is left running.
package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/kube"
)

// The labels on what the deployer creates, besides kube.ManagedByLabel,
// kube.ProjectLabel (the project's name, Options.Project, on each container
// and network) and kube.RunIDLabel.
const (
	// imageLabel holds, on each container, the name (as in skaffold.yaml)
	// of the image it runs.
	imageLabel = "skiff.dev/image"
	// specLabel holds a digest of what a container was created from: its
	// image ID, network, name and ports. A deploy that would create the
	// same leaves the running container alone.
	specLabel = "skiff.dev/spec"

	// stopTimeout is how long a container has to exit after SIGTERM when
	// it is replaced or deleted, before it is killed.
	stopTimeout = 2 // seconds
)

// Options configures a Deployer.
type Options struct {
	// Project is the project's stable name: the containers and the network
	// are labelled with it (skiff.dev/project) and the network is named
	// skiff-<project>, so that later runs and Delete find them.
	Project string
	// RunID labels what this run creates (skiff.dev/run-id).
	RunID string
	// PortForwards are the config's portForward entries; those with
	// resourceType container whose resourceName is an image's name (or
	// its container's name) publish that container's port.
	PortForwards []schema.PortForwardResource
	// Out receives progress lines; nil discards them.
	Out io.Writer
	// Debug, for skiff debug, changes the containers of the images it
	// names (as deploy.docker.images lists them) to run under their
	// debuggers.
	Debug map[string]*Debug
	// DryRun makes Delete list what it would delete and delete nothing.
	DryRun bool
	// Events receives the status of each container Deploy waits for
	// ("container/web": InProgress, then Succeeded or Failed), as the
	// status check's of a workload.
	Events *event.Bus
}

// Deployer runs images as containers on a Docker Engine.
type Deployer struct {
	cli  Client
	opts Options

	outMu sync.Mutex // serialises lines written to opts.Out

	// portFree says whether a local port can be listened on; tests
	// replace it.
	portFree func(addr netip.Addr, port int) bool
	// keychain has the registry credentials pulls use.
	keychain authn.Keychain
	// settle is how long a new container without a HEALTHCHECK must keep
	// running to count as started; poll is how often its state is read.
	settle, poll time.Duration
	// published are the ports the last Deploy published, per image name
	// (under outMu).
	published map[string][]binding
}

// New returns a Deployer that works through cli (a *client.Client from
// internal/docker.NewClient).
func New(cli Client, opts Options) *Deployer {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	return &Deployer{
		cli:      cli,
		opts:     opts,
		portFree: listenable,
		keychain: authn.DefaultKeychain,
		settle:   500 * time.Millisecond,
		poll:     100 * time.Millisecond,
	}
}

// deployed is one container Deploy made or kept.
type deployed struct {
	image     artifact.Image
	name, id  string
	unchanged bool
	ports     []binding
}

// Deploy runs each image that cfg.Images names in a container on the
// project's network, creating the network if it is missing. A running
// container of the project for the same image is replaced (stopped and
// removed, then a new one created and started) unless nothing about it
// changed. Deploy returns once every container runs (and, when its image
// has a HEALTHCHECK, is healthy); a container that exits right away fails
// the deploy with its last lines of output.
func (d *Deployer) Deploy(ctx context.Context, cfg *schema.DockerDeploy, images []artifact.Image) error {
	if cfg == nil {
		return nil
	}
	if cfg.UseCompose {
		return errors.New("deploy.docker.useCompose: docker compose is not supported by skiff yet; remove useCompose to run each image of deploy.docker.images as a plain container, or run `docker compose up` yourself")
	}
	if err := d.checkProject(); err != nil {
		return err
	}
	selected, err := selectImages(cfg.Images, images)
	if err != nil {
		return err
	}
	forwards := make([][]forward, len(selected))
	for i, im := range selected {
		if forwards[i], err = forwardsFor(im.Name, d.opts.PortForwards); err != nil {
			return err
		}
		if dbg := d.opts.Debug[im.Name]; dbg != nil {
			forwards[i] = append(forwards[i], debugForwards(dbg)...)
		}
	}
	if len(selected) == 0 {
		return nil
	}
	netName, err := d.ensureNetwork(ctx)
	if err != nil {
		return err
	}

	used := map[hostPort]bool{}
	var all []*deployed
	for i, im := range selected {
		c, err := d.deployOne(ctx, netName, im, forwards[i], used)
		if err != nil {
			return err
		}
		all = append(all, c)
	}

	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, c := range all {
		d.opts.Events.Publish(containerEvent(c.name, event.InProgress, "starting", nil))
		wg.Go(func() { errs[i] = d.waitReady(ctx, c) })
	}
	wg.Wait()
	for i, c := range all {
		if errs[i] != nil {
			d.opts.Events.Publish(containerEvent(c.name, event.Failed, errs[i].Error(), errs[i]))
		} else {
			d.opts.Events.Publish(containerEvent(c.name, event.Succeeded, "running", nil))
		}
	}
	d.outMu.Lock()
	d.published = map[string][]binding{}
	for _, c := range all {
		d.published[c.image.Name] = c.ports
	}
	d.outMu.Unlock()
	for i, c := range all {
		if errs[i] != nil {
			continue
		}
		if c.unchanged {
			d.printf(" - container %s unchanged\n", c.name)
		} else {
			d.printf(" - container %s started\n", c.name)
		}
		for _, b := range c.ports {
			d.printf("%s\n", b.report(c.name))
		}
	}
	return errors.Join(errs...)
}

// containerEvent is the StatusCheckSubtaskEvent of the container name.
func containerEvent(name, status, message string, err error) event.Event {
	r := "container/" + name
	return event.Event{StatusCheckSubtaskEvent: &event.StatusCheckSubtaskEvent{ID: r, TaskID: event.TaskStatusCheck, Resource: r, Status: status, Message: message, ActionableErr: event.Err(err)}}
}

// selectImages returns the images names lists, in its order.
func selectImages(names []string, images []artifact.Image) ([]artifact.Image, error) {
	var out []artifact.Image
	for _, n := range names {
		i := slices.IndexFunc(images, func(im artifact.Image) bool { return im.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("deploy.docker.images lists %q, but no image of that name was built; each entry must be the image of an artifact in build.artifacts", n)
		}
		if images[i].Ref == "" {
			return nil, fmt.Errorf("deploying %s with docker: the build gave no image reference for it", n)
		}
		out = append(out, images[i])
	}
	return out, nil
}

// deployOne keeps the project's container for im when it is running what
// Deploy would create, and otherwise replaces it with a new one.
func (d *Deployer) deployOne(ctx context.Context, netName string, im artifact.Image, fwds []forward, used map[hostPort]bool) (*deployed, error) {
	ref := daemonRef(im.Ref)
	imageID, err := d.ensureImage(ctx, im, ref)
	if err != nil {
		return nil, err
	}
	alias := containerName(im.Name)
	dbg := d.opts.Debug[im.Name]
	spec := specDigest(imageID, netName, alias, fwds, dbg)

	old, err := d.list(ctx, imageLabel+"="+im.Name)
	if err != nil {
		return nil, err
	}
	if len(old) == 1 && old[0].Labels[specLabel] == spec && old[0].State == container.StateRunning {
		c, ok, err := d.keep(ctx, im, old[0], fwds)
		if err != nil {
			return nil, err
		}
		if ok {
			for _, b := range c.ports {
				used[b.hostPort()] = true
			}
			return c, nil
		}
	}
	for _, c := range old {
		if err := d.remove(ctx, c.ID, summaryName(c)); err != nil {
			return nil, err
		}
	}

	name, err := d.freeName(ctx, alias)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		kube.ManagedByLabel: kube.ManagedBy,
		kube.ProjectLabel:   d.opts.Project,
		kube.RunIDLabel:     d.opts.RunID,
		imageLabel:          im.Name,
		specLabel:           spec,
	}
	c := &deployed{image: im, name: name}
	for attempt := 1; ; attempt++ {
		binds, err := d.allocate(name, fwds, used)
		if err != nil {
			return nil, err
		}
		cfg := &container.Config{Image: ref, Labels: labels, ExposedPorts: network.PortSet{}}
		if dbg != nil {
			applyDebug(cfg, dbg)
		}
		host := &container.HostConfig{NetworkMode: container.NetworkMode(netName), PortBindings: network.PortMap{}}
		for _, b := range binds {
			cfg.ExposedPorts[b.port] = struct{}{}
			host.PortBindings[b.port] = append(host.PortBindings[b.port], network.PortBinding{HostIP: b.addr, HostPort: fmt.Sprint(b.host)})
		}
		res, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:             name,
			Config:           cfg,
			HostConfig:       host,
			NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {Aliases: []string{alias}}}},
		})
		if err != nil {
			return nil, daemonError(d.cli, fmt.Sprintf("creating container %s from %s", name, im.Ref), err)
		}
		if dbg != nil {
			if err := d.fillSupport(ctx, res.ID, name, dbg); err != nil {
				_, _ = d.cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
				return nil, err
			}
		}
		_, err = d.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
		if err == nil {
			c.id, c.ports = res.ID, binds
			return c, nil
		}
		// A container that did not start holds nothing worth keeping.
		_, _ = d.cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if taken := conflicting(err, binds); len(taken) > 0 && attempt < 3 {
			for _, hp := range taken {
				used[hp] = true
			}
			continue
		}
		return nil, daemonError(d.cli, fmt.Sprintf("starting container %s from %s", name, im.Ref), err)
	}
}

// keep returns the running container s as deployed, with its published
// ports, unless it is unhealthy (ok is then false: replace it).
func (d *Deployer) keep(ctx context.Context, im artifact.Image, s container.Summary, fwds []forward) (*deployed, bool, error) {
	res, err := d.cli.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
	if err != nil {
		return nil, false, daemonError(d.cli, "inspecting container "+summaryName(s), err)
	}
	st := res.Container.State
	if st == nil || !st.Running || (st.Health != nil && st.Health.Status == container.Unhealthy) {
		return nil, false, nil
	}
	c := &deployed{image: im, name: summaryName(s), id: s.ID, unchanged: true}
	var ports network.PortMap
	if res.Container.NetworkSettings != nil {
		ports = res.Container.NetworkSettings.Ports
	}
	for _, f := range fwds {
		b := binding{forward: f, host: f.local}
		for _, pb := range ports[f.port] {
			if n, err := strconv.Atoi(pb.HostPort); err == nil && pb.HostIP == f.addr {
				b.host = n
			}
		}
		c.ports = append(c.ports, b)
	}
	return c, true, nil
}

// list returns the project's containers, running or not, that have the
// label selector (key=value) too, when it is not empty.
func (d *Deployer) list(ctx context.Context, selector string) ([]container.Summary, error) {
	f := client.Filters{}.Add("label", kube.ProjectLabel+"="+d.opts.Project)
	if selector != "" {
		f = f.Add("label", selector)
	}
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, daemonError(d.cli, "listing the containers of project "+d.opts.Project, err)
	}
	slices.SortFunc(res.Items, func(a, b container.Summary) int { return strings.Compare(summaryName(a), summaryName(b)) })
	return res.Items, nil
}

// remove stops the container (SIGTERM, then SIGKILL after stopTimeout)
// and removes it with its anonymous volumes.
func (d *Deployer) remove(ctx context.Context, id, name string) error {
	timeout := stopTimeout
	if _, err := d.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil && !cerrdefs.IsNotFound(err) {
		return daemonError(d.cli, "stopping container "+name, err)
	}
	if _, err := d.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return daemonError(d.cli, "removing container "+name, err)
	}
	return nil
}

// freeName returns base, or base-1, base-2, ... when a container that is
// not the project's has the name, as Skaffold does.
func (d *Deployer) freeName(ctx context.Context, base string) (string, error) {
	for i := 0; i < 100; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := d.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return name, nil
		}
		if err != nil {
			return "", daemonError(d.cli, "looking for container "+name, err)
		}
	}
	return "", fmt.Errorf("naming the container for %s: containers %s to %s-99 all exist; remove some (docker rm)", base, base, base)
}

// ensureNetwork creates the project's network when it is missing and
// returns its name.
func (d *Deployer) ensureNetwork(ctx context.Context) (string, error) {
	name := d.networkName()
	res, err := d.cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	if err != nil {
		return "", daemonError(d.cli, "looking for network "+name, err)
	}
	// The name filter matches substrings.
	if slices.ContainsFunc(res.Items, func(n network.Summary) bool { return n.Name == name }) {
		return name, nil
	}
	_, err = d.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: map[string]string{
			kube.ManagedByLabel: kube.ManagedBy,
			kube.ProjectLabel:   d.opts.Project,
			kube.RunIDLabel:     d.opts.RunID,
		},
	})
	if err != nil {
		return "", daemonError(d.cli, "creating network "+name, err)
	}
	return name, nil
}

// networkName is the project's network: skiff-<project>.
func (d *Deployer) networkName() string { return "skiff-" + containerName(d.opts.Project) }

func (d *Deployer) checkProject() error {
	if d.opts.Project == "" {
		return errors.New("docker deployer: no project name to label the containers with")
	}
	return nil
}

// printf writes a progress line.
func (d *Deployer) printf(format string, args ...any) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	fmt.Fprintf(d.opts.Out, format, args...)
}

// notNameChars are the characters a container or network name may not
// have: the daemon takes [a-zA-Z0-9][a-zA-Z0-9_.-]*.
var notNameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerName turns an image name (gcr.io/acme/web) into a container
// name (gcr.io-acme-web).
func containerName(image string) string {
	n := strings.TrimLeft(notNameChars.ReplaceAllString(image, "-"), "_.-")
	if n == "" {
		return "skiff"
	}
	return n
}

// summaryName is a listed container's name, without the daemon's "/".
func summaryName(c container.Summary) string {
	if len(c.Names) == 0 {
		return c.ID
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

// specDigest identifies what a container is created from.
func specDigest(imageID, netName, alias string, fwds []forward, dbg *Debug) string {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\nnetwork %s\nalias %s\n", imageID, netName, alias)
	for _, f := range fwds {
		fmt.Fprintf(h, "port %s %s %d\n", f.addr, f.port, f.local)
	}
	if dbg != nil {
		fmt.Fprintf(h, "debug %+v\n", *dbg)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Running is one running container of the project.
type Running struct {
	// ID is the container's id; Name its name without the leading slash.
	ID, Name string
}

// Containers returns the project's running containers of the image named
// image (as deploy.docker.images lists it), for dev mode to sync files
// into.
func (d *Deployer) Containers(ctx context.Context, image string) ([]Running, error) {
	if err := d.checkProject(); err != nil {
		return nil, err
	}
	items, err := d.list(ctx, imageLabel+"="+image)
	if err != nil {
		return nil, err
	}
	var out []Running
	for _, c := range items {
		if c.State == container.StateRunning {
			out = append(out, Running{ID: c.ID, Name: summaryName(c)})
		}
	}
	return out, nil
}
