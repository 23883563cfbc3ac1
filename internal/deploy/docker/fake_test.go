package docker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// fakeDocker is an in-memory Docker Engine with the Client methods.
type fakeDocker struct {
	mu sync.Mutex

	images   map[string]string // reference -> image ID
	registry map[string]string // reference -> image ID a pull brings
	pulls    []string          // references pulled
	auths    []string          // their X-Registry-Auth headers

	networks   []network.Summary
	containers []*fakeContainer
	nextID     int
	calls      []string // "create web", "start c1", "stop c1", "remove c1", ...

	// onCreate sets up a new container: its states, output, start error.
	onCreate func(c *fakeContainer)
	events   chan events.Message
}

// fakeContainer is a container of fakeDocker.
type fakeContainer struct {
	id, name string
	config   *container.Config
	host     *container.HostConfig
	net      *network.NetworkingConfig
	running  bool
	removed  bool

	// states are what inspections report after the start, in turn; the
	// last one stays. None means running.
	states []container.State
	// output is the log, as the daemon multiplexes it.
	output   []byte
	startErr error
}

func newFake() *fakeDocker {
	return &fakeDocker{images: map[string]string{}, registry: map[string]string{}, events: make(chan events.Message, 16)}
}

func (f *fakeDocker) DaemonHost() string { return "unix:///fake/docker.sock" }

func (f *fakeDocker) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.images[ref]
	if !ok {
		return client.ImageInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	var res client.ImageInspectResult
	res.ID = id
	return res, nil
}

func (f *fakeDocker) ImagePull(_ context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, ref)
	f.auths = append(f.auths, opts.RegistryAuth)
	id, ok := f.registry[ref]
	if !ok {
		return pullResponse{err: fmt.Errorf("manifest for %s not found: manifest unknown", ref)}, nil
	}
	f.images[ref] = id
	return pullResponse{}, nil
}

// pullResponse is a pull's progress stream that ends with err.
type pullResponse struct {
	io.Reader
	err error
}

func (r pullResponse) Close() error               { return nil }
func (r pullResponse) Wait(context.Context) error { return r.err }
func (r pullResponse) Read(p []byte) (int, error) { return 0, io.EOF }
func (r pullResponse) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(yield func(jsonstream.Message, error) bool) {
		if r.err != nil {
			yield(jsonstream.Message{}, r.err)
		}
	}
}

func (f *fakeDocker) NetworkList(_ context.Context, opts client.NetworkListOptions) (client.NetworkListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res client.NetworkListResult
	for _, n := range f.networks {
		if matches(opts.Filters, n.Name, n.Labels) {
			res.Items = append(res.Items, n)
		}
	}
	return res, nil
}

func (f *fakeDocker) NetworkCreate(_ context.Context, name string, opts client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("create network %s", name)
	f.nextID++
	id := fmt.Sprintf("n%d", f.nextID)
	var n network.Summary
	n.ID, n.Name, n.Labels = id, name, opts.Labels
	f.networks = append(f.networks, n)
	return client.NetworkCreateResult{ID: id}, nil
}

func (f *fakeDocker) NetworkRemove(_ context.Context, id string, _ client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("remove network %s", id)
	i := slices.IndexFunc(f.networks, func(n network.Summary) bool { return n.ID == id })
	if i < 0 {
		return client.NetworkRemoveResult{}, cerrdefs.ErrNotFound.WithMessage("no such network")
	}
	f.networks = slices.Delete(f.networks, i, i+1)
	return client.NetworkRemoveResult{}, nil
}

// matches applies the name (substring) and label (key=value) filters.
func matches(filters client.Filters, name string, labels map[string]string) bool {
	for want := range filters["name"] {
		if !strings.Contains(name, want) {
			return false
		}
	}
	for want := range filters["label"] {
		k, v, _ := strings.Cut(want, "=")
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// add puts a container into the daemon as if created earlier.
func (f *fakeDocker) add(name string, running bool, labels map[string]string) *fakeContainer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	c := &fakeContainer{id: fmt.Sprintf("c%d", f.nextID), name: name, config: &container.Config{Labels: labels}, host: &container.HostConfig{}, running: running}
	f.containers = append(f.containers, c)
	return c
}

func (f *fakeDocker) find(idOrName string) *fakeContainer {
	for _, c := range f.containers {
		if !c.removed && (c.id == idOrName || c.name == idOrName) {
			return c
		}
	}
	return nil
}

// live returns the containers that were not removed.
func (f *fakeDocker) live() []*fakeContainer {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeContainer
	for _, c := range f.containers {
		if !c.removed {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeDocker) ContainerList(_ context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res client.ContainerListResult
	for _, c := range f.containers {
		if c.removed || (!opts.All && !c.running) || !matches(client.Filters{"label": opts.Filters["label"]}, c.name, c.config.Labels) {
			continue
		}
		s := container.Summary{ID: c.id, Names: []string{"/" + c.name}, Labels: c.config.Labels, State: container.StateExited}
		if c.running {
			s.State = container.StateRunning
		}
		res.Items = append(res.Items, s)
	}
	return res, nil
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(id)
	if c == nil {
		return client.ContainerInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	st := container.State{Running: c.running, Status: container.StateRunning}
	if len(c.states) > 0 {
		st = c.states[0]
		if len(c.states) > 1 {
			c.states = c.states[1:]
		}
	}
	ports := network.PortMap{}
	for p, bs := range c.host.PortBindings {
		ports[p] = bs
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{
		ID: c.id, Name: "/" + c.name, State: &st, Config: c.config,
		NetworkSettings: &container.NetworkSettings{Ports: ports},
	}}, nil
}

func (f *fakeDocker) ContainerCreate(_ context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	f.mu.Lock()
	f.record("create %s", opts.Name)
	if f.find(opts.Name) != nil {
		f.mu.Unlock()
		return client.ContainerCreateResult{}, cerrdefs.ErrConflict.WithMessage("name in use")
	}
	f.nextID++
	c := &fakeContainer{id: fmt.Sprintf("c%d", f.nextID), name: opts.Name, config: opts.Config, host: opts.HostConfig, net: opts.NetworkingConfig}
	f.containers = append(f.containers, c)
	onCreate := f.onCreate
	f.mu.Unlock()
	if onCreate != nil {
		onCreate(c)
	}
	return client.ContainerCreateResult{ID: c.id}, nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	f.mu.Lock()
	c := f.find(id)
	f.record("start %s", c.name)
	if c.startErr != nil {
		err := c.startErr
		f.mu.Unlock()
		return client.ContainerStartResult{}, err
	}
	c.running = true
	msg := events.Message{Type: events.ContainerEventType, Action: events.ActionStart, Actor: events.Actor{ID: c.id, Attributes: map[string]string{"name": c.name}}}
	f.mu.Unlock()
	select {
	case f.events <- msg:
	default: // nobody follows the logs
	}
	return client.ContainerStartResult{}, nil
}

func (f *fakeDocker) ContainerStop(_ context.Context, id string, opts client.ContainerStopOptions) (client.ContainerStopResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(id)
	if c == nil {
		return client.ContainerStopResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	f.record("stop %s after %ds", c.name, *opts.Timeout)
	c.running = false
	return client.ContainerStopResult{}, nil
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(id)
	if c == nil {
		return client.ContainerRemoveResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	f.record("remove %s", c.name)
	c.removed, c.running = true, false
	return client.ContainerRemoveResult{}, nil
}

// ContainerLogs returns the container's output; a followed log then
// stays open until the context ends.
func (f *fakeDocker) ContainerLogs(ctx context.Context, id string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.find(id)
	if c == nil {
		return nil, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	out := io.Reader(bytes.NewReader(c.output))
	if opts.Follow {
		out = io.MultiReader(out, untilDone{ctx})
	}
	return io.NopCloser(out), nil
}

// untilDone is a reader that blocks until ctx ends, then reports EOF.
type untilDone struct{ ctx context.Context }

func (u untilDone) Read([]byte) (int, error) {
	<-u.ctx.Done()
	return 0, io.EOF
}

func (f *fakeDocker) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	errs := make(chan error, 1)
	go func() {
		<-ctx.Done()
		errs <- ctx.Err()
	}()
	return client.EventsResult{Messages: f.events, Err: errs}
}

// multiplexed frames lines the way the daemon sends a container's log
// without a TTY: each "1:" line to stdout, each "2:" line to stderr.
func multiplexed(lines ...string) []byte {
	var buf bytes.Buffer
	for _, l := range lines {
		stream := stdcopy.Stdout
		if strings.HasPrefix(l, "2:") {
			stream = stdcopy.Stderr
		}
		payload := strings.TrimPrefix(strings.TrimPrefix(l, "1:"), "2:")
		hdr := make([]byte, 8)
		hdr[0] = byte(stream)
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
		buf.Write(hdr)
		buf.WriteString(payload)
	}
	return buf.Bytes()
}
