package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/render"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/deliver"
	"skiff.dev/skiff/internal/watch"
)

// DevOptions configure Dev.
type DevOptions struct {
	// Build builds the images named (all of them when names is nil) and
	// those they require, and returns every image it built.
	Build func(ctx context.Context, names []string) ([]render.Image, error)
	// Trigger is watch.Notify, watch.Polling or watch.Manual.
	Trigger string
	// PollInterval is how often Polling looks at the files.
	PollInterval time.Duration
	// AutoBuild, AutoSync and AutoDeploy say whether a change rebuilds,
	// syncs and redeploys by itself; what they hold back waits for Manual.
	AutoBuild, AutoSync, AutoDeploy bool
	// Manual receives a value each time the user asks for an iteration
	// (Enter): it delivers the changes that the manual trigger holds and
	// runs what AutoBuild, AutoSync or AutoDeploy held back.
	Manual <-chan struct{}
	// AgentBinary is the skiff-agent binary, which dev copies into a
	// docker deployer's container that has no tar; "" when there is none.
	AgentBinary string
	// CheckConfig loads the changed configuration: when it fails, the
	// error is reported and the loop goes on with the configuration it
	// has; when it succeeds, Dev returns ErrConfigChanged.
	CheckConfig func() error
	// Retry keeps the loop going when the first build or deploy fails
	// (after a reload); without it Dev returns the failure.
	Retry bool
}

// ErrConfigChanged is what Dev returns when a config file changed: the
// caller loads the project again and calls Dev on a new Runner.
var ErrConfigChanged = errors.New("the configuration changed")

// dev is the state of one Dev call.
type dev struct {
	r    *Runner
	opts DevOptions
	in   *inputs

	rules  map[string]*sync.Rules // by image name; nil rules sync nothing
	images map[string]string      // image name -> the reference deployed
	// stale are the images whose last build failed: any later rebuild
	// retries them.
	stale map[string]bool
	// undeployed says the last deploy failed or was held back.
	undeployed bool

	syncer *syncer
	// stopObserving stops the log streams and port-forwards, once they
	// have started after the first deploy that worked.
	stopObserving func()

	// Held back by --auto-*=false until Manual.
	heldSyncs  map[string][]sync.Op
	heldBuilds map[string]bool
	heldDeploy bool
}

// Dev is skiff dev: it builds and deploys the project, streams logs and
// forwards ports (as Observe), then watches the sources until ctx ends:
// changes that an artifact's sync rules cover are copied into its running
// containers, other changes rebuild the artifact (and those that require
// it) and redeploy, and a changed manifest redeploys. A failed build or
// deploy is reported and the loop goes on; what ran before keeps running.
// Dev returns ErrConfigChanged when a config file changes, and nil when
// ctx ends; deleting what it deployed is the caller's (Delete).
func (r *Runner) Dev(ctx context.Context, opts DevOptions) error {
	in, err := newInputs(r.opts.Project)
	if err != nil {
		return err
	}
	d := &dev{
		r: r, opts: opts, in: in,
		images:     map[string]string{},
		stale:      map[string]bool{},
		heldSyncs:  map[string][]sync.Op{},
		heldBuilds: map[string]bool{},
	}
	if d.rules, err = syncRules(r.opts.Project); err != nil {
		return err
	}
	// Watch before building, so that no edit made during the first build
	// and deploy is missed.
	w, err := watch.New(in.roots, watch.Options{Trigger: opts.Trigger, PollInterval: opts.PollInterval, Ignore: in.ignored})
	if err != nil {
		return err
	}
	defer w.Close()

	if err := d.first(ctx); err != nil {
		if !opts.Retry || ctx.Err() != nil {
			return err
		}
		d.printf("%v\n", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !d.undeployed {
		if err := d.observe(ctx); err != nil {
			return err
		}
	}
	defer func() {
		if d.stopObserving != nil {
			d.stopObserving()
		}
	}()
	stopSyncer, err := d.startSyncer(ctx)
	if err != nil {
		return err
	}
	defer stopSyncer()

	batches := make(chan watch.Batch)
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- w.Run(ctx, func(b watch.Batch) {
			select {
			case batches <- b:
			case <-ctx.Done():
			}
		})
	}()
	d.printf("Watching for changes...\n")
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-watchErr:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case b := <-batches:
			if d.reloads(b) {
				d.printf("%s changed: reloading the configuration\n", strings.Join(d.changedConfigs(b), ", "))
				if opts.CheckConfig == nil {
					return ErrConfigChanged
				}
				err := opts.CheckConfig()
				if err == nil {
					return ErrConfigChanged
				}
				d.printf("ERROR: %v\nThe previous configuration keeps running; fix the file and save it again.\n", err)
				b = d.withoutConfigs(b)
			}
			d.iterate(ctx, b)
		case <-opts.Manual:
			w.Trigger()
			d.release(ctx)
		}
	}
}

// first builds everything and deploys it.
func (d *dev) first(ctx context.Context) error {
	built, err := d.opts.Build(ctx, nil)
	if err != nil {
		for _, a := range d.r.opts.Project.Artifacts() {
			d.stale[a.ImageName] = true
		}
		d.undeployed = true
		return err
	}
	d.record(built)
	if err := d.r.Deploy(ctx, d.deployImages()); err != nil {
		d.undeployed = true
		return err
	}
	return nil
}

// iterate handles one batch of changes.
func (d *dev) iterate(ctx context.Context, b watch.Batch) {
	syncs, rebuild, redeploy := d.plan(b)
	for name, ops := range syncs {
		if !d.opts.AutoSync {
			d.heldSyncs[name] = append(d.heldSyncs[name], ops...)
			d.printf("%s: %s ready to sync; press Enter to sync (--auto-sync=false)\n", name, files(ops))
			delete(syncs, name)
		}
	}
	if len(rebuild) > 0 && !d.opts.AutoBuild {
		for _, n := range rebuild {
			d.heldBuilds[n] = true
		}
		d.printf("%s changed; press Enter to rebuild (--auto-build=false)\n", strings.Join(rebuild, ", "))
		rebuild = nil
	}
	d.run(ctx, syncs, rebuild, redeploy, false)
}

// release runs what the --auto-* flags held back, on Manual.
func (d *dev) release(ctx context.Context) {
	syncs, rebuild := d.heldSyncs, slices.Sorted(maps.Keys(d.heldBuilds))
	d.heldSyncs, d.heldBuilds = map[string][]sync.Op{}, map[string]bool{}
	for _, n := range rebuild {
		delete(syncs, n)
	}
	redeploy := d.heldDeploy
	d.heldDeploy = false
	if len(syncs)+len(rebuild) > 0 || redeploy {
		d.run(ctx, syncs, rebuild, redeploy, true)
	}
}

// run syncs, rebuilds and redeploys, printing one line for each. now says
// the user asked for it (Enter): nothing is held back for --auto-deploy.
func (d *dev) run(ctx context.Context, syncs map[string][]sync.Op, rebuild []string, redeploy, now bool) {
	for _, name := range slices.Sorted(maps.Keys(syncs)) {
		d.sync(ctx, name, syncs[name])
	}
	if len(rebuild) == 0 && !redeploy && !d.undeployed {
		return
	}
	if len(rebuild) > 0 || len(d.stale) > 0 {
		names := slices.Sorted(maps.Keys(d.stale))
		names = append(names, rebuild...)
		slices.Sort(names)
		names = slices.Compact(names)
		start := time.Now()
		images, err := d.opts.Build(ctx, names)
		if ctx.Err() != nil {
			return // Ctrl-C: the caller cleans up
		}
		if err != nil {
			for _, n := range names {
				d.stale[n] = true
			}
			d.printf("Build of %s failed: %v\nThe previous version keeps running. Watching for changes...\n", strings.Join(names, ", "), err)
			return
		}
		d.record(images)
		built := time.Since(start)
		if !d.opts.AutoDeploy && !now {
			d.heldDeploy = true
			d.printf("Rebuilt %s in %s; press Enter to redeploy (--auto-deploy=false)\n", strings.Join(names, ", "), output.Duration(built))
			return
		}
		start = time.Now()
		if err := d.deploy(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			d.printf("Rebuilt %s in %s; the deploy failed: %v\nWatching for changes...\n", strings.Join(names, ", "), output.Duration(built), err)
			return
		}
		d.printf("Rebuilt %s in %s, redeployed in %s\nWatching for changes...\n", strings.Join(names, ", "), output.Duration(built), output.Duration(time.Since(start)))
		return
	}
	if !d.opts.AutoDeploy && !now {
		d.heldDeploy = true
		d.printf("The manifests changed; press Enter to redeploy (--auto-deploy=false)\n")
		return
	}
	start := time.Now()
	if err := d.deploy(ctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		d.printf("Deploy failed: %v\nWatching for changes...\n", err)
		return
	}
	d.printf("Redeployed in %s\nWatching for changes...\n", output.Duration(time.Since(start)))
}

// sync copies one artifact's planned operations into its containers.
func (d *dev) sync(ctx context.Context, name string, ops []sync.Op) {
	ref, ok := d.images[name]
	if !ok {
		return
	}
	ops, skipped := sync.Screen(ops)
	for _, s := range skipped {
		d.printf("WARN: not syncing %s: %s\n", s.Local, s.Reason)
	}
	if len(ops) == 0 {
		return
	}
	start := time.Now()
	rep, err := d.syncer.Sync(ctx, render.Image{Name: name, Ref: ref}, ops)
	took := output.Duration(time.Since(start))
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "permission denied") {
			hint = "\nThe container's user may not write there: make the destination writable by it (chown in the Dockerfile, or run the container as root while developing)."
		}
		d.printf("Syncing %s of %s failed after %s: %v%s\n", files(ops), name, took, err, hint)
		if errors.Is(err, sync.ErrNoAgent) && d.r.opts.Agent != "" && d.r.HasManifests() {
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
	d.printf("Synced %s to %s in %s\n", files(ops), containers(rep.Containers, d.r.HasManifests()), took)
}

// deploy redeploys every image as it is now, and starts the log streams
// and port-forwards if no deploy has worked before.
func (d *dev) deploy(ctx context.Context) error {
	if err := d.r.Deploy(ctx, d.deployImages()); err != nil {
		d.undeployed = true
		return err
	}
	d.undeployed = false
	if d.stopObserving == nil {
		return d.observe(ctx)
	}
	return nil
}

// observe starts streaming logs and forwarding ports (see Observe).
func (d *dev) observe(ctx context.Context) error {
	stop, err := d.r.StartObserving(ctx)
	if err != nil {
		return err
	}
	d.stopObserving = stop
	return nil
}

// record notes newly built images: what was synced into the previous
// image of each is in the new one.
func (d *dev) record(built []render.Image) {
	for _, im := range built {
		if old, ok := d.images[im.Name]; ok && old != im.Ref && d.syncer != nil {
			d.syncer.Forget(old)
		}
		d.images[im.Name] = im.Ref
		delete(d.stale, im.Name)
	}
}

// deployImages are the images to deploy, in the project's order.
func (d *dev) deployImages() []render.Image {
	var out []render.Image
	for _, a := range d.r.opts.Project.Artifacts() {
		if ref, ok := d.images[a.ImageName]; ok {
			out = append(out, render.Image{Name: a.ImageName, Ref: ref})
		}
	}
	return out
}

// plan decides what a batch of changes means: operations to sync per
// artifact, the artifacts to rebuild (with those that require them) and
// whether the manifests changed.
func (d *dev) plan(b watch.Batch) (syncs map[string][]sync.Op, rebuild []string, redeploy bool) {
	type change struct{ changed, removed []string }
	per := map[string]*change{}
	note := func(path string, removed bool) {
		if d.in.manifest(path, false) {
			redeploy = true
		}
		dir := removed && slices.Contains(b.RemovedDirs, path)
		for _, a := range d.in.artifacts {
			if !a.owns(path, dir) {
				continue
			}
			c := per[a.art.ImageName]
			if c == nil {
				c = &change{}
				per[a.art.ImageName] = c
			}
			if removed {
				c.removed = append(c.removed, path)
			} else {
				c.changed = append(c.changed, path)
			}
		}
	}
	for _, p := range b.Changed {
		note(p, false)
	}
	for _, p := range b.Removed {
		note(p, true)
	}
	// A removed directory may have gone without its files being listed
	// (moved away): what was synced from below it is deleted too.
	for _, dir := range b.RemovedDirs {
		for name, c := range per {
			if ref, ok := d.images[name]; ok && d.syncer != nil && slices.Contains(c.removed, dir) {
				for _, f := range d.syncer.SyncedUnder(ref, dir) {
					if !slices.Contains(c.removed, f) {
						c.removed = append(c.removed, f)
					}
				}
			}
		}
	}
	syncs = map[string][]sync.Op{}
	need := map[string]bool{}
	for name, c := range per {
		if d.stale[name] {
			need[name] = true
			continue
		}
		ops, covered := d.rules[name].Plan(c.changed, c.removed)
		if covered {
			syncs[name] = ops
		} else {
			need[name] = true
		}
	}
	for name := range dependents(d.r.opts.Project.Artifacts(), need) {
		need[name] = true
		delete(syncs, name)
	}
	return syncs, slices.Sorted(maps.Keys(need)), redeploy
}

// dependents are the artifacts that require one of names, directly or
// through others, and names themselves.
func dependents(arts []*schema.Artifact, names map[string]bool) map[string]bool {
	out := maps.Clone(names)
	for changed := true; changed; {
		changed = false
		for _, a := range arts {
			if out[a.ImageName] {
				continue
			}
			for _, dep := range a.Dependencies {
				if dep != nil && out[dep.ImageName] {
					out[a.ImageName] = true
					changed = true
					break
				}
			}
		}
	}
	return out
}

// reloads reports whether b changes a config file.
func (d *dev) reloads(b watch.Batch) bool { return len(d.changedConfigs(b)) > 0 }

// withoutConfigs is b without the config files.
func (d *dev) withoutConfigs(b watch.Batch) watch.Batch {
	keep := func(p string) bool { return d.in.configs[p] }
	b.Changed = slices.DeleteFunc(slices.Clone(b.Changed), keep)
	b.Removed = slices.DeleteFunc(slices.Clone(b.Removed), keep)
	return b
}

func (d *dev) changedConfigs(b watch.Batch) []string {
	var out []string
	for _, p := range slices.Concat(b.Changed, b.Removed) {
		if d.in.configs[p] {
			out = append(out, p)
		}
	}
	return out
}

// startSyncer connects the syncer to the containers it syncs into: the
// project's pods on the cluster and the docker deployer's containers.
func (d *dev) startSyncer(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var srcs sources
	var kubeT, dockerT *fallbackTransport
	changed := make(chan struct{}, 1)
	if d.r.HasManifests() {
		kc, err := d.r.kubeConfig()
		if err != nil {
			cancel()
			return nil, err
		}
		cs, err := kc.Clientset(0)
		if err != nil {
			cancel()
			return nil, err
		}
		pods, err := watchPods(ctx, cs, d.r.namespaces(), labels.SelectorFromSet(labels.Set{kube.ProjectLabel: d.r.id}), func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		if err != nil {
			cancel()
			return nil, err
		}
		srcs = append(srcs, pods)
		exec, err := sync.NewKubeExecutor(kc.REST)
		if err != nil {
			cancel()
			return nil, err
		}
		kubeT = newFallbackTransport(&sync.TarTransport{Exec: exec}, &sync.AgentTransport{Exec: exec})
		kubeT.learned = d.r.syncsThroughTar
	}
	closeDocker := func() {}
	if len(d.r.dockerConfigs()) > 0 {
		dd, closeDeployer, err := d.r.dockerDeployer()
		if err != nil {
			cancel()
			return nil, err
		}
		cli, err := docker.NewClient()
		if err != nil {
			closeDeployer()
			cancel()
			return nil, err
		}
		closeDocker = func() { closeDeployer(); cli.Close() }
		srcs = append(srcs, &dockerContainers{deployer: dd})
		exec := sync.NewDockerExecutor(cli)
		agent := &sync.AgentTransport{Exec: exec}
		dockerT = newFallbackTransport(&sync.TarTransport{Exec: exec}, transportFunc(func(ctx context.Context, t sync.Target, ops []sync.Op) error {
			err := agent.Sync(ctx, t, ops)
			if !errors.Is(err, sync.ErrNoAgent) || d.opts.AgentBinary == "" {
				return err
			}
			if err := deliver.CopyToContainer(ctx, cli, t.Container, d.opts.AgentBinary); err != nil {
				return err
			}
			return agent.Sync(ctx, t, ops)
		}))
	}
	d.syncer = newSyncer(srcs, func(c container) sync.Transport {
		if c.Pod == "" {
			return dockerT.For(c)
		}
		return kubeT.For(c)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				start := time.Now()
				rep, err := d.syncer.CatchUp(ctx)
				took := output.Duration(time.Since(start))
				switch {
				case err != nil && ctx.Err() == nil:
					d.printf("Syncing the changes so far to a container that lacked them failed: %v\n", err)
				case rep.Containers == 0:
				case rep.Started == rep.Containers:
					d.printf("Synced the changes so far to %s that started since, in %s\n", containers(rep.Started, d.r.HasManifests()), took)
				case rep.Started == 0:
					d.printf("Synced the changes that an earlier sync missed to %s, in %s\n", containers(rep.Containers, d.r.HasManifests()), took)
				default:
					d.printf("Synced the changes so far to %s (%d started since, %d missed an earlier sync), in %s\n",
						containers(rep.Containers, d.r.HasManifests()), rep.Started, rep.Containers-rep.Started, took)
				}
			}
		}
	}()
	return func() { cancel(); <-done; closeDocker() }, nil
}

func (d *dev) printf(format string, args ...any) {
	fmt.Fprintf(d.r.opts.ErrOut, format, args...)
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
	args, err := config.ExpandBuildArgs(da.BuildArgs, env)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	content, err := fsutil.ReadRegular(p, deps.MaxDockerfileSize)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: sync.infer: reading the Dockerfile: %w", a.ImageName, err)
	}
	df, err := deps.ParseDockerfile(bytes.NewReader(content), args, deps.WithFilename(p), deps.WithTarget(da.Target))
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

// containers says "1 pod" or "2 pods" (or containers, for the docker
// deployer).
func containers(n int, pods bool) string {
	if pods {
		return plural(n, "pod")
	}
	return plural(n, "container")
}
