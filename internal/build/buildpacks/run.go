package buildpacks

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// run is one build's state across its phases.
type run struct {
	b         *Builder
	plan      *buildPlan
	workspace string
	proj      *Project
	env       map[string]string
	order     resolvedOrder
	md        *BuilderMetadata
	out       io.Writer
	platform  *ocispec.Platform

	mu         sync.Mutex
	containers []*lifecycleContainer
	// removing are the removals of containers whose phase is done, which
	// run while the next phases do.
	removing sync.WaitGroup
}

// prepared is a container created with its inputs copied in.
type prepared struct {
	lc  *lifecycleContainer
	err error
}

// run runs the phases in order. Every container is created, and its
// inputs copied in, ahead of time and concurrently, while the phases
// before it run: only starting and waiting are on the critical path.
func (r *run) run(ctx context.Context, phases []phase) (Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make([]chan prepared, len(phases))
	var wg sync.WaitGroup
	for i, ph := range phases {
		ready[i] = make(chan prepared, 1)
		wg.Go(func() {
			lc, err := r.prepare(ctx, ph)
			ready[i] <- prepared{lc, err}
		})
	}
	// Every preparation ends before cleanup looks for the containers.
	defer wg.Wait()
	defer cancel()
	var report Report
	for i, ph := range phases {
		p := <-ready[i]
		if p.err != nil {
			return Report{}, p.err
		}
		var err error
		if report, err = r.execute(ctx, p.lc, ph); err != nil {
			return Report{}, err
		}
		r.removeEarly(ctx, p.lc)
	}
	return report, nil
}

// removeEarly removes a container whose phase is done while the next
// phases run.
func (r *run) removeEarly(ctx context.Context, lc *lifecycleContainer) {
	r.mu.Lock()
	r.containers = slices.DeleteFunc(r.containers, func(c *lifecycleContainer) bool { return c == lc })
	r.mu.Unlock()
	r.removing.Go(func() { lc.remove(ctx) })
}

// prepare creates the phase's container and copies its inputs in.
func (r *run) prepare(ctx context.Context, ph phase) (*lifecycleContainer, error) {
	lc, err := createContainer(ctx, r.b.client, ph, r.platform)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.containers = append(r.containers, lc)
	r.mu.Unlock()
	if err := r.copyInputs(ctx, lc, ph); err != nil {
		return nil, err
	}
	return lc, nil
}

// execute runs one prepared container and turns its failure into the
// error that explains it; for the exporting phase it returns what was
// exported.
func (r *run) execute(ctx context.Context, lc *lifecycleContainer, ph phase) (Report, error) {
	po := newPhaseOutput(r.out, ph.Name, ph.DebugBuild)
	code, err := lc.run(ctx, po)
	po.Flush()
	if err != nil {
		return Report{}, fmt.Errorf("the lifecycle's %s: %w", ph.Name, err)
	}
	if code != 0 {
		return Report{}, r.failure(ctx, lc, po, code)
	}
	if !ph.Exports {
		return Report{}, nil
	}
	// The exporter prints the digest (or, for the daemon, the image ID);
	// report.toml, which takes the daemon a volume mount to read, is the
	// fallback.
	if id := po.Exported(); id != "" {
		if r.plan.Push {
			return Report{Digest: id}, nil
		}
		return Report{ImageID: id}, nil
	}
	data, err := lc.readFile(ctx, reportPath)
	if err != nil {
		return Report{}, err
	}
	return DecodeReport(data)
}

// cleanup removes the build's containers, then its volumes; it runs even
// when the build was cancelled.
func (r *run) cleanup(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	r.mu.Lock()
	for _, lc := range r.containers {
		wg.Go(func() { lc.remove(ctx) })
	}
	r.mu.Unlock()
	wg.Wait()
	// The volumes go once no container uses them.
	r.removing.Wait()
	for _, v := range []string{r.plan.LayersVolume, r.plan.AppVolume, r.plan.PlatformVolume} {
		wg.Go(func() { _, _ = r.b.client.VolumeRemove(ctx, v, client.VolumeRemoveOptions{Force: true}) })
	}
	wg.Wait()
}

// copyInputs copies what the phase needs into its container, in one
// stream: the application, the platform directory, the order and extra
// buildpacks, run.toml.
func (r *run) copyInputs(ctx context.Context, lc *lifecycleContainer, ph phase) error {
	extras := ph.CopyBuildpacks && (r.order.Order != nil || len(r.order.Extra) > 0)
	if !ph.CopyApp && !ph.CopyPlatform && !extras {
		return nil
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(r.writeInputs(pw, ph))
	}()
	err := lc.copyIn(ctx, "the build's inputs", pr)
	pr.CloseWithError(err)
	return err
}

func (r *run) writeInputs(w io.Writer, ph phase) error {
	tw := tar.NewWriter(w)
	if ph.CopyApp {
		if err := appTar(tw, r.workspace, r.proj, r.plan.UID, r.plan.GID); err != nil {
			return err
		}
	}
	if ph.CopyPlatform {
		if err := platformTar(tw, r.env); err != nil {
			return err
		}
	}
	if ph.CopyBuildpacks {
		if r.order.Order != nil {
			if err := orderTar(tw, r.order.Order); err != nil {
				return err
			}
		}
		for _, x := range r.order.Extra {
			if err := x.writeTo(tw); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// failure explains a phase's non-zero exit code.
func (r *run) failure(ctx context.Context, lc *lifecycleContainer, po *phaseOutput, code int) error {
	po.mu.Lock()
	current := po.phase
	po.mu.Unlock()
	switch code {
	case 20, 21:
		order := r.order.Order
		if order == nil {
			order = r.md.Order
		}
		groups, errored := parseDetectOutput(po.DetectLines())
		return &DetectError{Order: order, Groups: groups, Errored: errored || code == 21}
	case 51:
		e := &BuildpackError{Buildpack: po.Buildpack(), Tail: po.Tail()}
		if data, err := lc.readFile(ctx, groupPath); err == nil {
			if g, err := DecodeGroup(data); err == nil {
				e.Group = g
			}
		}
		if e.Buildpack == "" && len(e.Group.Buildpacks) == 1 {
			e.Buildpack = e.Group.Buildpacks[0].String()
		}
		return e
	}
	return &PhaseError{Phase: current, ExitCode: code, Tail: po.Tail()}
}
