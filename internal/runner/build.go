package runner

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/hooks"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/tag"
)

// BuildOptions say what to build and how: the build flags of build, run,
// render and dev.
type BuildOptions struct {
	// Images limits the build to these artifacts (-b) and those they
	// require.
	Images []string
	// Push pushes to a registry (true), loads into the local daemon
	// (false), or decides from the config and the cluster (nil).
	Push *bool
	// Quiet prints no progress and no build output.
	Quiet bool
	// DryRun computes the tags without building anything.
	DryRun bool
	// Offline contacts no cluster (render --offline): the registry a
	// cluster advertises (KEP-1755) is not asked for the default repo.
	Offline bool
	// Tag replaces the tag policy's tag for every image (-t).
	Tag string
	// CacheArtifacts reuses the images of artifacts whose inputs have not
	// changed; CacheFile is the cache (default ~/.skiff/cache).
	CacheArtifacts bool
	CacheFile      string
	// Insecure are registries reachable over plain HTTP, beyond the
	// config's build.insecureRegistries.
	Insecure []string
	// Platforms are the target platforms (os/arch); empty means the host's.
	Platforms []string
	// Debug builds for a debugger (skiff debug): Go code without
	// optimizations or inlining; cached apart from other builds.
	Debug bool
	// Concurrency is how many artifacts build at once, 0 for no limit
	// (--build-concurrency); nil follows build.local.concurrency.
	Concurrency *int
	// MuteOutput keeps the builders' output off the progress stream
	// (--mute-logs build); its last maxMutedOutput bytes are shown when
	// the build fails.
	MuteOutput bool
	// DevMode builds the artifacts whose sync rules come from their
	// builder (sync.auto) in development mode (build.Options.DevMode);
	// Dev and debug set it, build and run never do.
	DevMode bool
	// Test runs the custom tests of the images built (see Test) after a
	// build that is not a dry run: build, run, dev and debug set it unless
	// --skip-tests.
	Test bool
}

// maxMutedOutput is how much muted build output is kept for a failure.
const maxMutedOutput = 1 << 20

// Build builds the selected artifacts of the project in dependency order,
// tags them, and pushes or loads the images (see build.Run). It prints
// progress to ErrOut, each artifact's output prefixed with its name. With
// opts.Test, the images built are then tested (Test), after the Build
// task has ended.
func (r *Runner) Build(ctx context.Context, opts BuildOptions) ([]artifact.Image, error) {
	results, err := r.build(ctx, opts)
	if err != nil || !opts.Test || opts.DryRun {
		return results, err
	}
	if err := r.Test(ctx, results); err != nil {
		return nil, err
	}
	return results, nil
}

// build is Build without the tests. A dry run builds nothing, so it
// computes the tags even of artifacts whose builder skiff does not have
// (or that Cloud Build or a cluster would build), as Skaffold renders
// them without building.
func (r *Runner) build(ctx context.Context, opts BuildOptions) (_ []artifact.Image, err error) {
	stages := []string{"build"}
	if opts.Test {
		stages = append(stages, "test")
	}
	if !opts.DryRun {
		if err := r.Check(stages...); err != nil {
			return nil, err
		}
	}
	p := r.opts.Project
	arts, err := selectArtifacts(p.Artifacts(), opts.Images)
	if err != nil {
		return nil, err
	}
	progress := r.opts.ErrOut
	if opts.Quiet {
		progress = io.Discard
	}
	r.lastBuild = opts
	if len(arts) == 0 {
		fmt.Fprintln(progress, "No artifacts to build.")
		return nil, nil
	}
	if r.opts.Events != nil {
		var names []string
		for _, a := range arts {
			names = append(names, a.ImageName)
		}
		r.opts.Events.TaskStarted(event.TaskBuild, "Building "+strings.Join(names, ", "))
	}
	defer func() { r.opts.Events.TaskEnded(event.TaskBuild, err) }()

	push, defaultRepo := r.buildTarget(ctx, opts)
	insecure := r.insecureRegistries(opts)
	registry := r.registry(insecure)
	dockerClient, err := docker.NewClient()
	if err != nil {
		return nil, err
	}
	defer dockerClient.Close()
	var builders map[string]build.Builder
	if !opts.DryRun {
		if err := r.kinds.Validate(arts); err != nil {
			return nil, err
		}
		builders, err = r.kinds.Builders(arts, build.Services{Env: r.buildEnv(), Docker: dockerClient, Registry: registry, BuildKit: p.UseBuildkit(), DockerConfig: r.dockerConfigFile()})
		if err != nil {
			return nil, err
		}
	}
	// The tagger (inputDigest) and the cache key both need each
	// artifact's files: list them once per build.
	listDeps := memoize(r.Dependencies)
	tagger, err := r.taggers(listDeps)
	if err != nil {
		return nil, err
	}
	var cache *build.Cache
	if opts.CacheArtifacts && !opts.DryRun {
		file := opts.CacheFile
		if file == "" {
			if file, err = build.DefaultCacheFile(); err != nil {
				return nil, err
			}
		}
		if cache, err = build.OpenCache(file); err != nil {
			r.opts.Log.Warnf("%v; building without the cache", err)
			cache = nil
		}
	}

	outDest := progress
	var muted *tailBuffer
	if opts.MuteOutput && !opts.Quiet {
		muted = &tailBuffer{max: maxMutedOutput}
		outDest = muted
	}
	lines := output.NewLines(outDest)
	var outs []*output.PrefixWriter
	var logs []*event.LogWriter
	var outsMu gosync.Mutex
	fmt.Fprintln(progress, "Generating tags...")
	start := time.Now()
	if !opts.DryRun {
		if err := r.buildPhaseHooks(ctx, hooks.PreBuild); err != nil {
			return nil, err
		}
	}
	var publisher build.Publisher = &build.ImagePublisher{Registry: registry, Daemon: dockerClient, PushOptions: []image.Option{image.WithDockerConfig(r.dockerConfigFile())}}
	if opts.DevMode {
		publisher = r.keepPushed(publisher)
	}
	results, err := build.Run(ctx, arts, build.Options{
		Builders:    builders,
		Tagger:      tagger,
		Tag:         opts.Tag,
		Publisher:   publisher,
		Cache:       cache,
		Concurrency: concurrency(p.Concurrency(), opts),
		Push:        push,
		Platforms:   opts.Platforms,
		Insecure:    insecure,
		Env:         p.Env,
		DryRun:      opts.DryRun,
		Debug:       opts.Debug,
		DevMode:     opts.DevMode,
		Deps:        listDeps,
		Repo:        image.DefaultRepo{Repo: defaultRepo}.Apply,
		Progress:    progress,
		Events:      r.opts.Events,
		Hooks:       r.artifactHooks(push),
		Output: func(art *schema.Artifact) io.Writer {
			// The artifacts build concurrently.
			outsMu.Lock()
			defer outsMu.Unlock()
			w := lines.Prefixed("[" + art.ImageName + "] ")
			outs = append(outs, w)
			if r.opts.Events == nil {
				return w
			}
			// The output goes to the events too, where the dashboard
			// shows a failed build's compiler messages.
			ev := r.opts.Events.LogWriter(event.TaskBuild, art.ImageName)
			logs = append(logs, ev)
			return io.MultiWriter(w, ev)
		},
	})
	for _, w := range outs {
		w.Flush()
	}
	for _, w := range logs {
		w.Flush()
	}
	if muted != nil {
		if err != nil {
			fmt.Fprintf(progress, "The build failed; its output (muted with --mute-logs build):\n%s", muted.String())
		} else {
			fmt.Fprintln(progress, "Build output muted (--mute-logs build)")
		}
	}
	if cache != nil {
		if serr := cache.Save(); serr != nil {
			r.opts.Log.Warnf("%v", serr)
		}
	}
	if err == nil && !opts.DryRun {
		err = r.buildPhaseHooks(ctx, hooks.PostBuild)
	}
	if err != nil {
		return nil, err
	}
	if !opts.DryRun {
		fmt.Fprintf(progress, "Built %d artifacts in %s\n", len(results), time.Since(start).Round(time.Millisecond))
	}
	return results, nil
}

// Tags computes the images the tag policy names now (or with tag, when
// given: -t), without building: what deploy and render use when given no
// built images. offline asks no cluster for its registry (render
// --offline).
func (r *Runner) Tags(ctx context.Context, tag string, offline bool) ([]artifact.Image, error) {
	return r.Build(ctx, BuildOptions{DryRun: true, Quiet: true, Tag: tag, Offline: offline})
}

// ResolveDigests pins each image's reference to the digest its registry
// has for it (render --digest-source=remote); an image missing from its
// registry is an error that says how to push it.
func (r *Runner) ResolveDigests(ctx context.Context, imgs []artifact.Image, opts BuildOptions) error {
	reg := r.registry(r.insecureRegistries(opts))
	for i, im := range imgs {
		digest, ok, err := reg.Digest(ctx, im.Ref)
		if err != nil {
			return fmt.Errorf("resolving %s in its registry: %w", im.Ref, err)
		}
		if !ok {
			return fmt.Errorf("%s is not in its registry; build and push it first (skiff build --push) or use --digest-source=local", im.Ref)
		}
		imgs[i].Ref = im.Ref + "@" + digest
	}
	return nil
}

// Dependencies lists the files artifact a is built from, relative to its
// context, as its builder says (build.Sources).
func (r *Runner) Dependencies(ctx context.Context, a *schema.Artifact) ([]string, error) {
	s, err := r.kinds.Sources(a, r.buildEnv())
	if err != nil {
		return nil, err
	}
	return s.Files(ctx)
}

// buildEnv is the environment builders see. While artifacts are cached
// (BuildOptions.CacheArtifacts), go lists are kept in go-lists.json next
// to the build cache file (BuildOptions.CacheFile, else
// build.DefaultCacheFile).
func (r *Runner) buildEnv() build.Env {
	env := build.Env{Vars: r.opts.Project.Env, Environ: r.opts.Environ}
	if !r.lastBuild.CacheArtifacts {
		return env
	}
	file := r.lastBuild.CacheFile
	if file == "" {
		file, _ = build.DefaultCacheFile()
	}
	if file != "" {
		env.GoListCache = filepath.Join(filepath.Dir(file), "go-lists.json")
	}
	return env
}

// buildTarget decides where images go: pushed to a registry or loaded
// into the local daemon, and under which default repo.
func (r *Runner) buildTarget(ctx context.Context, opts BuildOptions) (push bool, defaultRepo string) {
	defaultRepo = r.opts.DefaultRepo
	if opts.Push != nil {
		return *opts.Push, defaultRepo
	}
	if push := r.opts.Project.Push(); push != nil {
		return *push, defaultRepo
	}
	if local := r.opts.Project.LocalCluster(); local != nil {
		r.opts.Log.Infof("Using local-cluster=%t from the global config: images are %s", *local, map[bool]string{true: "loaded into the local Docker daemon", false: "pushed"}[*local])
		return !*local, defaultRepo
	}
	if opts.Offline {
		return defaultRepo != "", defaultRepo
	}
	if host, ok := r.clusterRegistry(ctx); ok {
		if defaultRepo == "" {
			defaultRepo = host
		}
		r.opts.Log.Infof("The cluster advertises a local registry (%s): pushing there", host)
		return true, defaultRepo
	}
	return defaultRepo != "", defaultRepo
}

// clusterRegistry asks the cluster skiff deploys to (--kube-context, else
// deploy.kubeContext, else the current context, as the deploy chooses)
// for the registry it advertises (KEP-1755); no cluster means no registry.
func (r *Runner) clusterRegistry(ctx context.Context) (string, bool) {
	kc, err := r.kubeConfig()
	if err != nil {
		r.opts.Log.Debugf("no cluster to ask for a local registry: %v", err)
		return "", false
	}
	api, err := kc.API(3 * time.Second)
	if err != nil {
		return "", false
	}
	host, ok, err := image.LocalRegistry(ctx, api)
	if err != nil {
		r.opts.Log.Debugf("kube context %s: no local registry: %v", kc.Context, err)
		return "", false
	}
	return host, ok
}

// taggers returns a tagger that tags each artifact with its own config's
// tag policy; a tagger that fails falls back to "latest" with a warning,
// as in Skaffold.
func (r *Runner) taggers(listDeps func(context.Context, *schema.Artifact) ([]string, error)) (build.Tagger, error) {
	p := r.opts.Project
	perImage := tag.PerImage{}
	all := p.Artifacts()
	for _, c := range p.Configs {
		t, err := tag.New(c.Build.TagPolicy, p.Env, listDeps, tag.WithArtifacts(all), tag.WithEnviron(r.opts.Environ))
		if err != nil {
			return nil, fmt.Errorf("%s: build.tagPolicy: %w", c.File, err)
		}
		t = tag.Fallback(t, func(art *schema.Artifact, err error) {
			r.opts.Log.Warnf("tagging %s: %v; using the tag \"latest\"", art.ImageName, err)
		})
		for _, art := range c.Build.Artifacts {
			perImage[art.ImageName] = t
		}
	}
	return perImage, nil
}

// concurrency is how many artifacts build at once: --build-concurrency
// when given, else the config's.
func concurrency(config int, opts BuildOptions) int {
	if opts.Concurrency != nil {
		return *opts.Concurrency
	}
	return config
}

// selectArtifacts keeps the artifacts named with -b and, transitively,
// those they require. A name selects the artifact of that image, or when
// there is none, as in Skaffold, every artifact whose image contains it.
func selectArtifacts(all []*schema.Artifact, names []string) ([]*schema.Artifact, error) {
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]*schema.Artifact{}
	var known []string
	for _, a := range all {
		byName[a.ImageName] = a
		known = append(known, a.ImageName)
	}
	keep := map[string]bool{}
	var mark func(name string)
	mark = func(name string) {
		if keep[name] {
			return
		}
		keep[name] = true
		for _, d := range byName[name].Dependencies {
			mark(d.ImageName)
		}
	}
	for _, n := range names {
		if _, ok := byName[n]; ok {
			mark(n)
			continue
		}
		found := false
		for _, k := range known {
			if strings.Contains(k, n) {
				mark(k)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no artifact's image is or contains %q (-b); the images are: %s", n, strings.Join(known, ", "))
		}
	}
	var out []*schema.Artifact
	for _, a := range all {
		if keep[a.ImageName] {
			out = append(out, a)
		}
	}
	return out, nil
}

// insecureRegistries are the registries reachable over plain HTTP: those
// of --insecure-registry and of every config's build.insecureRegistries.
func (r *Runner) insecureRegistries(opts BuildOptions) []string {
	return append(slices.Clone(opts.Insecure), r.opts.Project.InsecureRegistries()...)
}

// memoize makes list answer once per artifact, however often and
// concurrently it is asked.
func memoize(list func(context.Context, *schema.Artifact) ([]string, error)) func(context.Context, *schema.Artifact) ([]string, error) {
	type result struct {
		once  gosync.Once
		files []string
		err   error
	}
	var mu gosync.Mutex
	memo := map[*schema.Artifact]*result{}
	return func(ctx context.Context, a *schema.Artifact) ([]string, error) {
		mu.Lock()
		res, ok := memo[a]
		if !ok {
			res = &result{}
			memo[a] = res
		}
		mu.Unlock()
		res.once.Do(func() { res.files, res.err = list(ctx, a) })
		return res.files, res.err
	}
}

// registry is a registry client with the docker config file credentials
// come from named in its errors.
func (r *Runner) registry(insecure []string) *image.Registry {
	return image.NewRegistry(insecure, image.WithDockerConfig(r.dockerConfigFile()))
}

// dockerConfigFile is the docker config file credentials come from, as the
// environment names it: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json.
func (r *Runner) dockerConfigFile() string {
	if dir := r.getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	return image.DefaultDockerConfig
}

// getenv reads a variable of the environment skiff runs in (the last
// value of Options.Environ).
func (r *Runner) getenv(key string) string {
	for _, kv := range slices.Backward(r.opts.Environ) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// tailBuffer keeps the last max bytes written to it; it is safe for
// concurrent use.
type tailBuffer struct {
	mu  gosync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
