package runner

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/hooks"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/agentproto"
)

// sync copies one artifact's planned operations into its containers.
func (d *dev) sync(ctx context.Context, name string, ops []sync.Op) {
	im, ok := d.images[name]
	if !ok {
		return
	}
	ops, skipped := sync.Screen(ops)
	for _, s := range skipped {
		d.r.opts.Log.Warnf("not syncing %s: %s", s.Local, s.Reason)
	}
	if len(ops) == 0 {
		return
	}
	start := time.Now()
	d.r.opts.Events.TaskStarted(event.TaskSync, fmt.Sprintf("Syncing %s to %s", files(ops), name))
	err := d.syncHooks(ctx, hooks.PreSync, name, im, ops)
	var rep syncReport
	if err == nil {
		rep, err = d.syncer.Sync(ctx, im, ops)
	}
	if err == nil {
		err = d.syncHooks(ctx, hooks.PostSync, name, im, ops)
	}
	took := output.Duration(time.Since(start))
	if ctx.Err() != nil {
		d.r.opts.Events.TaskEnded(event.TaskSync, ctx.Err())
		return
	}
	d.r.opts.Events.Publish(syncEvent(name, ops, rep, err))
	d.r.opts.Events.TaskEnded(event.TaskSync, err)
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "permission denied") {
			hint = "\nThe container's user may not write there. skiff's development image gives the destinations of sync.manual and sync.auto rules to the image's user when it knows it (see the line about the development image above); for other destinations, make them writable by that user (chown in the Dockerfile, or run the container as root while developing)."
		}
		d.printf("Syncing %s of %s failed after %s: %v%s\n", files(ops), name, took, err, hint)
		if errors.Is(err, sync.ErrNoAgent) && d.r.agentWanted {
			// The image lost its tar since the last deploy, which left
			// the agent out: deploy again with it, and the new pods get
			// the changes synced so far as they start.
			d.printf("Redeploying %s with skiff-agent...\n", name)
			start := time.Now()
			if err := d.deploy(ctx); err != nil {
				d.printf("Deploy failed: %v\n", err)
				return
			}
			d.printf("Redeployed in %s\n", output.Duration(time.Since(start)))
		}
		return
	}
	if rep.Containers == 0 {
		d.printf("No running container of %s to sync %s to; those that start get it\n", name, files(ops))
		return
	}
	d.printf("Synced %s to %s in %s\n", files(ops), plural(rep.Containers, d.r.unit()), took)
}

// syncEvent is the FileSyncEvent of a sync of ops into the containers of
// image name: the files, the pods (or containers) that took them, and the
// failure.
func syncEvent(name string, ops []sync.Op, rep syncReport, err error) event.Event {
	e := &event.FileSyncEvent{ID: name, TaskID: "Sync", Image: name, Status: event.Succeeded, ActionableErr: event.Err(err)}
	if err != nil {
		e.Status = event.Failed
	}
	for _, op := range ops {
		e.Files = append(e.Files, op.Local)
	}
	e.FileCount = int32(len(e.Files))
	for _, t := range rep.Synced {
		e.Pods = append(e.Pods, cmp.Or(t.Pod, t.Container))
	}
	return event.Event{FileSyncEvent: e}
}

// startSyncer connects the syncer to the containers it syncs into: the
// project's pods on the cluster and the docker deployer's containers.
func (d *dev) startSyncer(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	var paths syncPaths
	for _, t := range d.r.targets() {
		p, err := t.syncPath(ctx, notify)
		if err != nil {
			cancel()
			paths.stop()
			return nil, err
		}
		paths = append(paths, p)
	}
	d.syncer = newSyncer(paths, paths.transport)
	d.syncer.steer = d.r.steer
	d.syncer.warm = paths.warm
	d.syncer.logf = d.r.opts.Log.Debugf
	d.paths = paths
	d.warm(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				d.syncer.Warm(ctx)
				start := time.Now()
				rep, err := d.syncer.CatchUp(ctx)
				took := output.Duration(time.Since(start))
				switch {
				case err != nil && ctx.Err() == nil:
					d.printf("Syncing the changes so far to a container that lacked them failed: %v\n", err)
				case rep.Containers == 0:
				case rep.Started == rep.Containers:
					d.printf("Synced the changes so far to %s that started since, in %s\n", plural(rep.Started, d.r.unit()), took)
				case rep.Started == 0:
					d.printf("Synced the changes that an earlier sync missed to %s, in %s\n", plural(rep.Containers, d.r.unit()), took)
				default:
					d.printf("Synced the changes so far to %s (%d started since, %d missed an earlier sync), in %s\n",
						plural(rep.Containers, d.r.unit()), rep.Started, rep.Containers-rep.Started, took)
				}
			}
		}
	}()
	return func() { cancel(); <-done; paths.stop() }, nil
}

// warm has the agent sessions of the deployed images' running containers
// that dev syncs or hot-swaps into opened ahead of their first sync, and
// of those that start later (syncer.Warm). It does nothing before the
// syncer starts.
func (d *dev) warm(ctx context.Context) {
	if d.syncer == nil {
		return
	}
	var images []warmImage
	for _, name := range slices.Sorted(maps.Keys(d.images)) {
		rules := d.rules[name]
		roots := append(rules.Roots(), rules.InferRoots()...)
		if _, ok := d.swappable(name); ok {
			roots = append(roots, agentproto.AppDir)
		}
		if len(roots) > 0 {
			slices.Sort(roots)
			images = append(images, warmImage{image: d.images[name], roots: slices.Compact(roots)})
		}
	}
	d.syncer.SetWarm(ctx, images)
}

// syncRules reads the sync rules of every artifact.
func syncRules(p *config.Project) (map[string]*sync.Rules, error) {
	out := map[string]*sync.Rules{}
	for _, a := range p.Artifacts() {
		if a.Sync == nil {
			continue
		}
		var opts []sync.Option
		if d := a.DockerArtifact; d != nil && len(a.Sync.Infer) > 0 {
			df, err := parseDockerfile(a, p.Env)
			if err != nil {
				return nil, err
			}
			opts = append(opts, sync.WithDockerfile(df))
		}
		r, err := sync.NewRules(a, opts...)
		if err != nil {
			return nil, err
		}
		out[a.ImageName] = r
	}
	return out, nil
}

// parseDockerfile parses the Dockerfile of the docker artifact a, for the
// destinations of its infer rules.
func parseDockerfile(a *schema.Artifact, env config.Env) (*deps.ParsedDockerfile, error) {
	da := a.DockerArtifact
	p := da.DockerfilePath
	if p == "" {
		p = "Dockerfile"
	}
	p = absIn(a.Workspace, p)
	// The image variables as when the sources are listed, so that the
	// Dockerfile parses to the same sources.
	args, err := config.ExpandBuildArgs(da.BuildArgs, env.With(config.ImageEnv(a.ImageName)))
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	content, err := fsutil.ReadRegular(p, deps.MaxDockerfileSize)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: sync.infer: reading the Dockerfile: %w", a.ImageName, err)
	}
	df, err := deps.ParseDockerfile(bytes.NewReader(content), args, deps.WithFilename(p), deps.WithTarget(da.Target), deps.WithLookupEnv(env.Lookup))
	if err != nil {
		return nil, fmt.Errorf("artifact %q: sync.infer: %w", a.ImageName, err)
	}
	return df, nil
}

// files says what ops do: "1 file", "3 files", "1 deletion" or "2 files
// and 1 deletion", counting the local paths they come from.
func files(ops []sync.Op) string {
	written, deleted := map[string]bool{}, map[string]bool{}
	for _, op := range ops {
		if op.Kind == sync.Delete {
			deleted[op.Local] = true
		} else {
			written[op.Local] = true
		}
	}
	w := plural(len(written), "file")
	switch {
	case len(deleted) == 0:
		return w
	case len(written) == 0:
		return plural(len(deleted), "deletion")
	}
	return w + " and " + plural(len(deleted), "deletion")
}

// plural says "1 file" or "2 files".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
