package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/watch"
)

// DevOptions configure Dev.
type DevOptions struct {
	// Build says how to build: the first build builds every artifact
	// (or Build.Images), a rebuild the artifacts that changed and those
	// that require them.
	Build BuildOptions
	// Trigger is TriggerNotify, TriggerPolling or TriggerManual.
	Trigger string
	// PollInterval is how often Polling looks at the files.
	PollInterval time.Duration
	// AutoBuild, AutoSync and AutoDeploy say whether a change rebuilds,
	// syncs and redeploys by itself; what they hold back waits for Manual
	// or Control. They are Control's switches when Control is nil.
	AutoBuild, AutoSync, AutoDeploy bool
	// Control, when set, drives the loop from outside (the HTTP API):
	// its switches replace AutoBuild, AutoSync and AutoDeploy, and its
	// triggers run phases between iterations.
	Control *Control
	// Manual receives a value each time the user asks for an iteration
	// (Enter): it delivers the changes that the manual trigger holds and
	// runs what AutoBuild, AutoSync or AutoDeploy held back.
	Manual <-chan struct{}
	// CheckConfig loads the changed configuration: when it fails, the
	// error is reported and the loop goes on with the configuration it
	// has; when it succeeds, Dev returns ErrConfigChanged.
	CheckConfig func() error
	// Watch limits the artifacts whose changes are acted on (-w) to those
	// whose image contains one of these names, as in Skaffold; empty
	// watches all.
	Watch []string
	// Retry keeps the loop going when the first build or deploy fails
	// (after a reload); without it Dev returns the failure.
	Retry bool
	// HotSwap serves a Go change of a ko artifact without a new pod: its
	// executable is built alone, swapped into the running containers and
	// restarted there (see hotswap.go). Without it, the change rebuilds
	// the image and redeploys.
	HotSwap bool
}

// The triggers of DevOptions.Trigger: file system events, polling, or
// Enter (DevOptions.Manual).
const (
	TriggerNotify  = watch.Notify
	TriggerPolling = watch.Polling
	TriggerManual  = watch.Manual
)

// ErrConfigChanged is what Dev returns when a config file changed: the
// caller loads the project again and calls Dev on a new Runner.
var ErrConfigChanged = errors.New("the configuration changed")

// dev is the state of one Dev call.
type dev struct {
	r    *Runner
	opts DevOptions
	in   *inputs
	// build builds the images named (all of them when names is nil) and
	// those they require, and returns every image it built.
	build func(ctx context.Context, names []string) ([]artifact.Image, error)

	rules  map[string]*sync.Rules    // by image name; nil rules sync nothing
	images map[string]artifact.Image // by image name: the images deployed
	// stale are the images whose last build failed: any later rebuild
	// retries them.
	stale map[string]bool
	// built are the images as last built (before devImages), which the
	// tests test; retest are the images whose tests must run again: a
	// dependency of theirs changed, or they failed.
	built  map[string]artifact.Image
	retest map[string]bool
	// undeployed says the last deploy failed or was held back.
	undeployed bool
	// imageChanged are the images a change since their build needs
	// rebuilt rather than hot-swapped (noteImageChange); noSupervisor
	// those whose containers ran without skiff-agent run at a hot swap,
	// rebuilt until the manifests change; swapDir holds the hot-swapped
	// executables.
	imageChanged map[string]bool
	noSupervisor map[string]bool
	swapDir      string

	// autoFrom says where the rules of each artifact with sync.auto came
	// from, and noRulesSaid which images were said to declare none.
	autoFrom    map[string]string
	noRulesSaid map[string]bool

	syncer *syncer
	// paths are the syncer's ways into the containers (sync hooks exec
	// through them).
	paths syncPaths
	// stopObserving stops the log streams and port-forwards, once they
	// have started after the first deploy that worked.
	stopObserving func()

	// ctl holds the auto switches and the triggers from outside.
	ctl *Control

	// Held back by --auto-*=false until Manual.
	heldSyncs  map[string][]sync.Op
	heldBuilds map[string]bool
	heldDeploy bool
}

// Dev is skiff dev: it builds and deploys the project, streams logs and
// forwards ports (as Observe), then watches the sources until ctx ends:
// changes that an artifact's sync rules cover are copied into its running
// containers, other changes rebuild the artifact (and those that require
// it) and redeploy, and a changed manifest redeploys. Unless
// opts.Build.Test is off (--skip-tests), each image built is tested (Test)
// before it is deployed, and a change to a test's dependencies tests its
// image again without a build; an image whose tests fail is not deployed
// until they pass. A failed build, test or deploy is reported and the
// loop goes on; what ran before keeps running.
// Dev returns ErrConfigChanged when a config file changes, and nil when
// ctx ends; deleting what it deployed is the caller's (Delete).
func (r *Runner) Dev(ctx context.Context, opts DevOptions) error {
	in, err := newInputs(r.opts.Project, r.kinds, r.buildEnv())
	if err != nil {
		return err
	}
	if opts.Build.Test {
		// Refused before anything is built, as Build refuses.
		if err := r.Check("test"); err != nil {
			return err
		}
		if err := in.addTests(ctx, r.opts.Project, r.opts.Environ); err != nil {
			return err
		}
	}
	for _, t := range r.targets() {
		t.prepareSync(ctx, opts.Build)
	}
	r.supervise = opts.HotSwap
	d := &dev{
		r: r, opts: opts, in: in,
		build: func(ctx context.Context, names []string) ([]artifact.Image, error) {
			o := opts.Build
			o.DevMode = true
			o.Test = false // dev tests the images itself (dev.test)
			if names != nil {
				o.Images = names
			}
			return r.Build(ctx, o)
		},
		images:      map[string]artifact.Image{},
		stale:       map[string]bool{},
		built:       map[string]artifact.Image{},
		retest:      map[string]bool{},
		heldSyncs:   map[string][]sync.Op{},
		heldBuilds:  map[string]bool{},
		autoFrom:    map[string]string{},
		noRulesSaid: map[string]bool{},
		ctl:         opts.Control,
	}
	if d.ctl == nil {
		d.ctl = NewControl(Auto{Build: opts.AutoBuild, Sync: opts.AutoSync, Deploy: opts.AutoDeploy})
	}
	var names []string
	for _, a := range r.opts.Project.Artifacts() {
		names = append(names, a.ImageName)
	}
	d.ctl.setArtifacts(names)
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

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if d.stopObserving != nil {
			d.stopObserving()
		}
	}()
	if d.observesEarly() {
		r.onApplied = d.startObserving
		defer func() { r.onApplied = nil }()
	}
	if err := d.first(ctx); err != nil {
		if !opts.Retry || ctx.Err() != nil {
			return err
		}
		d.printf("%v\n", err)
	}
	if !d.undeployed {
		if err := d.startObserving(ctx); err != nil {
			return err
		}
	}
	stopSyncer, err := d.startSyncer(ctx)
	if err != nil {
		return err
	}
	defer stopSyncer()
	defer d.removeSwapDir()

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
			b, err := d.reload(b, opts.CheckConfig)
			if err != nil {
				return err
			}
			d.iterate(ctx, b)
		case <-opts.Manual:
			if err := d.onEnter(ctx, w); err != nil {
				return err
			}
		case <-d.ctl.wake:
			if err := d.onControl(ctx, w); err != nil {
				return err
			}
		}
	}
}

// onEnter runs what Enter asks for: the changes --trigger=manual holds
// in w, and what the --auto-* switches held back. With another trigger,
// w delivers what it collected at once (without the debounce; polling,
// after a walk), as the next batch.
func (d *dev) onEnter(ctx context.Context, w *watch.Watcher) error {
	if d.opts.Trigger != TriggerManual {
		w.Trigger()
	}
	if err := d.collect(ctx, w); err != nil {
		return err
	}
	d.release(ctx)
	return nil
}

// onControl runs what Control asked for (execute), with the changes
// --trigger=manual holds in w, as Skaffold's API runs them whatever the
// trigger.
func (d *dev) onControl(ctx context.Context, w *watch.Watcher) error {
	if err := d.collect(ctx, w); err != nil {
		return err
	}
	d.execute(ctx)
	return nil
}

// reload handles the configuration files changed in b: it returns
// ErrConfigChanged when check (DevOptions.CheckConfig) loads them or is
// nil; else it reports why they do not load and returns the rest of b.
func (d *dev) reload(b watch.Batch, check func() error) (watch.Batch, error) {
	if !d.reloads(b) {
		return b, nil
	}
	d.printf("%s changed: reloading the configuration\n", strings.Join(d.changedConfigs(b), ", "))
	if check == nil {
		return b, ErrConfigChanged
	}
	err := check()
	if err == nil {
		return b, ErrConfigChanged
	}
	d.printf("ERROR: %v\nThe previous configuration keeps running; fix the file and save it again.\n", err)
	return d.withoutConfigs(b), nil
}

// collect takes the changes that --trigger=manual holds in w, on Enter or
// a Control trigger (/v2/execute), and holds them back as the --auto-*
// switches would (hold), so that release or execute runs them in the
// iteration it runs anyway: Enter and an execute that come together run
// one build, whichever comes first taking the changes. With another
// trigger, w delivers its changes by itself and collect does nothing. It
// returns ErrConfigChanged as reload does.
func (d *dev) collect(ctx context.Context, w *watch.Watcher) error {
	if d.opts.Trigger != TriggerManual {
		return nil
	}
	b, err := d.reload(w.Take(ctx), d.opts.CheckConfig)
	if err != nil {
		return err
	}
	d.hold(b)
	return nil
}

// hold plans the changes of b as iterate does, and holds all of it back
// for release or execute: the syncs, the rebuilds, the redeploy of
// changed manifests.
func (d *dev) hold(b watch.Batch) {
	if b.Empty() {
		return
	}
	syncs, rebuild, redeploy := d.plan(b)
	for _, n := range d.retests(b) {
		d.retest[n] = true
	}
	for name, ops := range syncs {
		d.heldSyncs[name] = append(d.heldSyncs[name], ops...)
	}
	for _, n := range rebuild {
		d.heldBuilds[n] = true
	}
	d.heldDeploy = d.heldDeploy || redeploy
}

// first builds everything, tests it and deploys it.
func (d *dev) first(ctx context.Context) error {
	built, err := d.build(ctx, nil)
	if err != nil {
		for _, a := range d.r.opts.Project.Artifacts() {
			d.stale[a.ImageName] = true
		}
		d.undeployed = true
		return err
	}
	d.autoRules(ctx, built)
	d.record(ctx, built)
	if err := d.test(ctx, built); err != nil {
		d.undeployed = true
		return err
	}
	if err := d.r.Deploy(ctx, d.deployImages()); err != nil {
		d.undeployed = true
		return err
	}
	return nil
}

// iterate handles one batch of changes.
func (d *dev) iterate(ctx context.Context, b watch.Batch) {
	syncs, rebuild, redeploy := d.plan(b)
	for _, n := range d.retests(b) {
		d.retest[n] = true
	}
	for name, ops := range syncs {
		if !d.ctl.Auto().Sync {
			d.heldSyncs[name] = append(d.heldSyncs[name], ops...)
			d.printf("%s: %s ready to sync; press Enter to sync (--auto-sync=false)\n", name, files(ops))
			delete(syncs, name)
		}
	}
	if len(rebuild) > 0 && !d.ctl.Auto().Build {
		for _, n := range rebuild {
			d.heldBuilds[n] = true
		}
		d.printf("%s changed; press Enter to rebuild (--auto-build=false)\n", strings.Join(rebuild, ", "))
		rebuild = nil
	}
	d.run(ctx, syncs, rebuild, redeploy, false, true)
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
		d.run(ctx, syncs, rebuild, redeploy, true, true)
	}
}

// execute runs what Control asked for: the phases triggered, and what
// the auto switches turned on had held back. A build or sync of named
// artifacts runs theirs only: what is held back for the others stays
// held, and the artifacts whose last build failed are not retried.
func (d *dev) execute(ctx context.Context) {
	p, released := d.ctl.take()
	syncs := map[string][]sync.Op{}
	switch {
	case released.Sync || p.sync.all:
		syncs, d.heldSyncs = d.heldSyncs, map[string][]sync.Op{}
	case p.sync.on:
		for _, n := range p.sync.only() {
			if ops, ok := d.heldSyncs[n]; ok {
				syncs[n] = ops
				delete(d.heldSyncs, n)
			} else {
				d.printf("%s: nothing to sync: no change of its files is waiting\n", n)
			}
		}
	}
	var rebuild []string
	retryStale := true
	switch {
	case released.Build || p.build.all:
		rebuild = slices.Sorted(maps.Keys(d.heldBuilds))
		d.heldBuilds = map[string]bool{}
		if p.build.all && len(rebuild) == 0 {
			for _, a := range d.r.opts.Project.Artifacts() {
				rebuild = append(rebuild, a.ImageName)
			}
		}
		rebuild = append(rebuild, p.build.only()...)
	case p.build.on:
		rebuild = p.build.only()
		for _, n := range rebuild {
			delete(d.heldBuilds, n)
		}
		retryStale = false
	}
	slices.Sort(rebuild)
	rebuild = slices.Compact(rebuild)
	for _, n := range rebuild {
		// The new image has the changes.
		delete(syncs, n)
		delete(d.heldSyncs, n)
	}
	redeploy := p.deploy || (released.Deploy && d.heldDeploy)
	if redeploy {
		d.heldDeploy = false
	}
	d.run(ctx, syncs, rebuild, redeploy, p.deploy, retryStale)
}

// run syncs, rebuilds, tests and redeploys, printing one line for each,
// as an iteration of the loop (a DevLoop task, ending Failed with the
// build's, the tests' or the deploy's failure). now says the user asked
// for it (Enter): nothing is held back for --auto-deploy. retryStale
// rebuilds the artifacts whose last build failed along with rebuild.
func (d *dev) run(ctx context.Context, syncs map[string][]sync.Op, rebuild []string, redeploy, now, retryStale bool) {
	if len(syncs) == 0 && len(rebuild) == 0 && !redeploy && !d.undeployed && len(d.toRetest()) == 0 {
		return
	}
	d.r.opts.Events.TaskStarted(event.TaskDevLoop, "")
	err := d.runPhases(ctx, syncs, rebuild, redeploy, now, retryStale)
	d.r.opts.Events.TaskEnded(event.TaskDevLoop, err)
}

// runPhases is run's work; it returns the failure of the build, the
// tests or the deploy, which it has printed.
func (d *dev) runPhases(ctx context.Context, syncs map[string][]sync.Op, rebuild []string, redeploy, now, retryStale bool) error {
	for _, name := range slices.Sorted(maps.Keys(syncs)) {
		d.sync(ctx, name, syncs[name])
	}
	if len(rebuild) == 0 && !redeploy && !d.undeployed && len(d.toRetest()) == 0 {
		return nil
	}
	var swapFailed map[string]bool
	var swapErr error
	if redeploy {
		clear(d.noSupervisor) // a manifest's command: may be gone
	}
	if d.opts.HotSwap {
		if rebuild, swapFailed, swapErr = d.hotSwaps(ctx, rebuild); ctx.Err() != nil {
			return ctx.Err()
		}
		if len(rebuild) == 0 && !redeploy && !d.undeployed && len(d.toRetest()) == 0 {
			return swapErr
		}
	}
	var stale []string
	if retryStale {
		stale = slices.DeleteFunc(slices.Sorted(maps.Keys(d.stale)), func(n string) bool { return swapFailed[n] })
	}
	if len(rebuild) > 0 || len(stale) > 0 {
		names := append(stale, rebuild...)
		slices.Sort(names)
		names = slices.Compact(names)
		start := time.Now()
		images, err := d.build(ctx, names)
		if ctx.Err() != nil {
			return ctx.Err() // Ctrl-C: the caller cleans up
		}
		if err != nil {
			for _, n := range names {
				d.stale[n] = true
			}
			d.printf("Build of %s failed: %v\nThe previous version keeps running. Watching for changes...\n", strings.Join(names, ", "), err)
			return err
		}
		d.autoRules(ctx, images)
		d.record(ctx, images)
		built := time.Since(start)
		if err := d.test(ctx, images); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.undeployed = true
			d.printf("Rebuilt %s in %s; the tests failed: %v\nNot deploying until they pass. Watching for changes...\n", strings.Join(names, ", "), output.Duration(built), err)
			return err
		}
		if !d.ctl.Auto().Deploy && !now {
			d.heldDeploy = true
			d.printf("Rebuilt %s in %s; press Enter to redeploy (--auto-deploy=false)\n", strings.Join(names, ", "), output.Duration(built))
			return nil
		}
		start = time.Now()
		if err := d.deploy(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.printf("Rebuilt %s in %s; the deploy failed: %v\nWatching for changes...\n", strings.Join(names, ", "), output.Duration(built), err)
			return err
		}
		d.printf("Rebuilt %s in %s, redeployed in %s\nWatching for changes...\n", strings.Join(names, ", "), output.Duration(built), output.Duration(time.Since(start)))
		return nil
	}
	if retest := d.toRetest(); len(retest) > 0 {
		err := d.test(ctx, nil)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && (redeploy || d.undeployed):
			d.undeployed = true
			d.printf("Tests of %s failed: %v\nNot deploying until they pass. Watching for changes...\n", strings.Join(imageNames(retest), ", "), err)
			return err
		case err != nil:
			d.printf("Tests of %s failed: %v\nWatching for changes...\n", strings.Join(imageNames(retest), ", "), err)
			return err
		case !redeploy && !d.undeployed:
			d.printf("Tests of %s passed\nWatching for changes...\n", strings.Join(imageNames(retest), ", "))
			return nil
		}
	}
	if !d.ctl.Auto().Deploy && !now {
		d.heldDeploy = true
		d.printf("The manifests changed; press Enter to redeploy (--auto-deploy=false)\n")
		return nil
	}
	start := time.Now()
	if err := d.deploy(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.printf("Deploy failed: %v\nWatching for changes...\n", err)
		return err
	}
	d.printf("Redeployed in %s\nWatching for changes...\n", output.Duration(time.Since(start)))
	return nil
}

// deploy redeploys every image as it is now, and starts the log streams
// and port-forwards if no deploy has worked before.
func (d *dev) deploy(ctx context.Context) error {
	// Before: the pods that start in the rollout are warmed as they run;
	// after: the docker deployer's containers, which send no notice.
	d.warm(ctx)
	defer d.warm(ctx)
	if err := d.r.Deploy(ctx, d.deployImages()); err != nil {
		d.undeployed = true
		return err
	}
	d.undeployed = false
	return d.startObserving(ctx)
}

// observesEarly says whether the log streams and port-forwards start as
// soon as the cluster's objects are applied (Runner.onApplied), before the
// status check ends: the forward then holds a connection until the first
// pod is ready, instead of starting after the whole rollout. It is so when
// the cluster is the only target; deploy.docker's containers are observed
// once they run.
func (d *dev) observesEarly() bool {
	ts := d.r.targets()
	if len(ts) != 1 {
		return false
	}
	_, kube := ts[0].(kubeTarget)
	return kube
}

// startObserving starts streaming logs and forwarding ports (see Observe),
// unless they have started already.
func (d *dev) startObserving(ctx context.Context) error {
	if d.stopObserving != nil {
		return nil
	}
	stop, err := d.r.StartObserving(ctx)
	if err != nil {
		return err
	}
	d.stopObserving = stop
	return nil
}

// record notes newly built images, and the development images dev deploys
// for them (devImages): what was synced into the previous image of each
// is in the new one.
func (d *dev) record(ctx context.Context, built []artifact.Image) {
	for _, im := range built {
		d.built[im.Name] = im
	}
	for _, im := range d.r.devImages(ctx, built, d.rules) {
		if old, ok := d.images[im.Name]; ok && old.Ref != im.Ref && d.syncer != nil {
			d.syncer.Forget(old.Ref)
		}
		d.images[im.Name] = im
		delete(d.stale, im.Name)
		delete(d.imageChanged, im.Name)
	}
}

// deployImages are the images to deploy, in the project's order.
func (d *dev) deployImages() []artifact.Image {
	var out []artifact.Image
	for _, a := range d.r.opts.Project.Artifacts() {
		if im, ok := d.images[a.ImageName]; ok {
			out = append(out, im)
		}
	}
	return out
}

func (d *dev) printf(format string, args ...any) {
	fmt.Fprintf(d.r.opts.ErrOut, format, args...)
}

// WaitForChange waits until file is written again (or created, renamed
// into place, removed); it returns ctx's error when ctx ends first. Dev's
// caller waits so for a config file that failed to load.
func WaitForChange(ctx context.Context, file string) error {
	file, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	w, err := watch.New([]string{dir}, watch.Options{Ignore: func(p string, isDir bool) bool {
		return p != file && p != dir
	}})
	if err != nil {
		return err
	}
	defer w.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := false
	err = w.Run(wctx, func(watch.Batch) {
		changed = true
		cancel()
	})
	switch {
	case changed:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}
