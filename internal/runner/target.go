package runner

import (
	"context"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/sync"
)

// target is a place a project deploys to: the cluster (the configs'
// Kubernetes manifests, kubeTarget) or the local Docker daemon
// (deploy.docker, dockerTarget). The engine runs every stage after the
// build through the project's targets, in order; adding a deploy target
// is a type that implements this and a line in targets.
type target interface {
	// deploy deploys images and waits until they are healthy where the
	// target can tell.
	deploy(ctx context.Context, images []artifact.Image) error
	// delete removes what the project deployed, waiting up to wait (0:
	// the target's default) for it to go; with background, not for what
	// stops after the objects are gone (a cluster's pods).
	delete(ctx context.Context, wait time.Duration, background bool) error
	// observe starts streaming logs (Options.Tail) and forwarding ports
	// (Options.PortForward) for what the last deploy started; stop ends
	// them and waits until they have ended.
	observe(ctx context.Context) (stop func(), err error)
	// prepareSync gets skiff-agent ready for containers that have no tar
	// before dev deploys (a warning, never an error, when it cannot).
	prepareSync(ctx context.Context, opts BuildOptions)
	// syncPath finds the running containers of an image and the
	// transport into each, until stop; changed is called when containers
	// start or are replaced.
	syncPath(ctx context.Context, changed func()) (syncPath, error)
	// unit names what runs an image there ("pod", "container").
	unit() string
}

// targets are the places the project deploys to.
func (r *Runner) targets() []target {
	var out []target
	if r.hasManifests() {
		out = append(out, kubeTarget{r})
	}
	if len(r.dockerConfigs()) > 0 {
		out = append(out, dockerTarget{r})
	}
	return out
}

// unit names what runs an image in the project's first target, for the
// lines dev prints.
func (r *Runner) unit() string {
	if ts := r.targets(); len(ts) > 0 {
		return ts[0].unit()
	}
	return "container"
}

// syncPath is one target's way into its running containers.
type syncPath struct {
	source    containerSource
	transport func(c container) sync.Transport
	// exec runs commands in the containers (sync container hooks).
	exec sync.Executor
	// warm, if set, opens c's agent session allowing roots ahead of its
	// first sync, silently (fallbackTransport.Warm).
	warm func(ctx context.Context, c container, roots []string)
	stop func()
}

// syncPaths are the paths of every target; they find containers in each
// and send each container's operations through its own target.
type syncPaths []syncPath

// containers implements containerSource.
func (ps syncPaths) containers(ctx context.Context, image artifact.Image) ([]container, error) {
	var out []container
	for i, p := range ps {
		cs, err := p.source.containers(ctx, image)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			c.path = i
			out = append(out, c)
		}
	}
	return out, nil
}

// transport is the transport into c, through the target c came from.
func (ps syncPaths) transport(c container) sync.Transport { return ps[c.path].transport(c) }

// warm opens c's agent session ahead of its first sync, through the
// target c came from, where that target can.
func (ps syncPaths) warm(ctx context.Context, c container, roots []string) {
	if w := ps[c.path].warm; w != nil {
		w(ctx, c, roots)
	}
}

// stop stops every path.
func (ps syncPaths) stop() {
	for _, p := range ps {
		if p.stop != nil {
			p.stop()
		}
	}
}
