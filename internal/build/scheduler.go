package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/output"
)

// Tagger names the tag of an artifact's next image.
type Tagger interface {
	GenerateTag(ctx context.Context, a *schema.Artifact) (string, error)
}

// Published is where a publisher put an image.
type Published struct {
	// Digest is the manifest digest in the registry, when pushed.
	Digest string
	// ImageID is the image ID in the local daemon, when loaded.
	ImageID string
}

// Publisher pushes or loads what builders produce, and brings cached
// images back under a new tag.
type Publisher interface {
	// Publish makes b available as ref: in its registry when push is
	// true, else in the local Docker daemon.
	Publish(ctx context.Context, ref string, b Built, push bool) (Published, error)
	// Reuse checks that a cached image still exists and makes it
	// available as ref; ok is false when it is gone.
	Reuse(ctx context.Context, ref string, e CacheEntry, push bool) (p Published, ok bool, err error)
}

// Options configure one build run.
type Options struct {
	// Builders by builder type ("docker", "ko", "custom", ...).
	Builders map[string]Builder
	Tagger   Tagger
	// Tag, when set (-t), replaces the tagger's tag for every artifact.
	Tag       string
	Publisher Publisher
	// Cache, when not nil, skips artifacts whose inputs did not change.
	Cache *Cache
	// Concurrency is how many artifacts build at once; 0 means no limit.
	Concurrency int
	Push        bool
	Platforms   []string
	Insecure    []string
	Env         config.Env
	// DryRun computes the tags without building anything.
	DryRun bool
	// Debug builds for a debugger (Request.Debug); such images are cached
	// apart from the others.
	Debug bool
	// DevMode builds the artifacts whose sync rules come from the builder
	// (sync.auto) for skiff dev (Request.DevMode); such images are cached
	// apart from the others. Other artifacts build as usual.
	DevMode bool
	// Deps lists an artifact's dependency files, relative to its context.
	Deps func(ctx context.Context, a *schema.Artifact) ([]string, error)
	// Repo maps an image name to the repository it is published to
	// (--default-repo applied).
	Repo func(image string) (string, error)
	// Progress receives one line per step ("Building [app]..."); Run
	// serialises the lines of concurrent builds.
	Progress io.Writer
	// Output returns the writer for an artifact's build output.
	Output func(a *schema.Artifact) io.Writer
	// Events receives a BuildSubtaskEvent when each artifact's build
	// starts and when it ends (see buildEvent); nil: none.
	Events *event.Bus
	// Hooks, when set, runs an artifact's build hooks: before it is built
	// (after false) and after it is published (after true), with the
	// reference built, repo:tag; never for a cache hit, as in Skaffold.
	// An error fails the artifact's build.
	Hooks func(ctx context.Context, a *schema.Artifact, repo, tag string, after bool) error
}

// Run builds artifacts in dependency order (every required artifact
// before the artifacts requiring it), up to Concurrency at once, and
// returns the results in the order of artifacts. Every artifact required
// must be among artifacts. The first failure cancels the builds still
// running and is returned, naming its artifact.
func Run(ctx context.Context, artifacts []*schema.Artifact, opts Options) ([]artifact.Image, error) {
	byName := map[string]*node{}
	nodes := make([]*node, len(artifacts))
	for i, a := range artifacts {
		nodes[i] = &node{a: a, done: make(chan struct{})}
		byName[a.ImageName] = nodes[i]
	}
	for _, n := range nodes {
		for _, d := range n.a.Dependencies {
			dep, ok := byName[d.ImageName]
			if !ok {
				return nil, fmt.Errorf("artifact %q requires %q, which is not among the artifacts to build; build it too (drop -b or add -b %s)", n.a.ImageName, d.ImageName, d.ImageName)
			}
			n.requires = append(n.requires, required{node: dep, alias: d.Alias})
		}
	}

	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	lines := output.NewLines(progress)
	events := opts.Events
	if opts.DryRun {
		events = nil // nothing is built
	}

	g, ctx := errgroup.WithContext(ctx)
	var sem chan struct{}
	if opts.Concurrency > 0 {
		sem = make(chan struct{}, opts.Concurrency)
	}
	for _, n := range nodes {
		g.Go(func() error {
			defer close(n.done)
			for _, r := range n.requires {
				select {
				case <-r.node.done:
					if r.node.err != nil {
						n.err = fmt.Errorf("artifact %q was not built because %q, which it requires, failed", n.a.ImageName, r.node.a.ImageName)
						return n.err
					}
				case <-ctx.Done():
					n.err = ctx.Err()
					return n.err
				}
			}
			if sem != nil {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
					n.err = ctx.Err()
					return n.err
				}
			}
			start := time.Now()
			events.Publish(buildEvent(n, false, 0))
			n.err = buildOne(ctx, n, opts, lines.Prefixed(""))
			events.Publish(buildEvent(n, true, time.Since(start)))
			return n.err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, firstRealError(nodes, err)
	}
	results := make([]artifact.Image, len(nodes))
	for i, n := range nodes {
		results[i] = n.result
	}
	return results, nil
}

// firstRealError prefers an artifact's own failure over the cancellations
// and skips it caused.
func firstRealError(nodes []*node, err error) error {
	for _, n := range nodes {
		if n.err != nil && !errors.Is(n.err, context.Canceled) && !n.skipped() {
			return n.err
		}
	}
	return err
}

type node struct {
	a        *schema.Artifact
	requires []required
	done     chan struct{}
	err      error
	key      string
	result   artifact.Image
	// cached says the image came from the cache.
	cached bool
}

// buildEvent is n's build event (event.ArtifactBuild).
func buildEvent(n *node, ended bool, took time.Duration) event.Event {
	step := "Build"
	if ended && n.err == nil && n.cached {
		step = "Cache"
	}
	return event.ArtifactBuild(n.a.ImageName, step, ended, n.err, n.result.Ref, took)
}

type required struct {
	node  *node
	alias string
}

func (n *node) skipped() bool {
	for _, r := range n.requires {
		if r.node.err != nil {
			return true
		}
	}
	return false
}

// buildOne tags, checks the cache, builds and publishes one artifact;
// progress takes whole lines.
func buildOne(ctx context.Context, n *node, opts Options, progress io.Writer) error {
	a := n.a
	tag := opts.Tag
	if tag == "" {
		var err error
		if tag, err = opts.Tagger.GenerateTag(ctx, a); err != nil {
			return fmt.Errorf("tagging artifact %q: %w", a.ImageName, err)
		}
	}
	repo, err := opts.Repo(a.ImageName)
	if err != nil {
		return fmt.Errorf("artifact %q: %w", a.ImageName, err)
	}
	ref := repo + ":" + tag
	fmt.Fprintf(progress, " - %s -> %s\n", a.ImageName, ref)
	if opts.DryRun {
		n.result = artifact.Image{Name: a.ImageName, Ref: ref}
		return nil
	}

	var reqs []Required
	var reqKeys []string
	for _, r := range n.requires {
		reqs = append(reqs, Required{ImageName: r.node.a.ImageName, Alias: r.alias, Ref: r.node.result.Ref})
		reqKeys = append(reqKeys, r.node.key)
	}
	platforms := a.Platforms
	if len(platforms) == 0 {
		platforms = opts.Platforms
	}

	devMode := opts.DevMode && AutoSync(a)
	if opts.Cache != nil {
		files, err := opts.Deps(ctx, a)
		if err != nil {
			return fmt.Errorf("listing the dependencies of artifact %q: %w", a.ImageName, err)
		}
		args, err := keyBuildArgs(a, opts.Env)
		if err != nil {
			return err
		}
		n.key, err = cacheKey(keyInputs{artifact: a, files: files, buildArgs: args, platforms: platforms, requires: reqKeys, push: opts.Push, debug: opts.Debug, devMode: devMode})
		if err != nil {
			return err
		}
		if e, hit := opts.Cache.Get(n.key); hit {
			p, ok, err := opts.Publisher.Reuse(ctx, ref, e, opts.Push)
			if err != nil {
				return fmt.Errorf("artifact %q: reusing the cached image %s: %w", a.ImageName, e.Ref, err)
			}
			if ok {
				fmt.Fprintf(progress, " - %s: Found in cache, not rebuilt\n", a.ImageName)
				n.cached = true
				n.result = artifact.Image{Name: a.ImageName, Ref: finalRef(ref, p)}
				opts.Cache.Put(n.key, CacheEntry{Digest: p.Digest, ImageID: p.ImageID, Ref: ref})
				return nil
			}
			fmt.Fprintf(progress, " - %s: cached image %s is gone, building\n", a.ImageName, e.Ref)
		} else {
			fmt.Fprintf(progress, " - %s: Not found. Building\n", a.ImageName)
		}
	}

	builder, ok := opts.Builders[a.BuilderType()]
	if !ok {
		return fmt.Errorf("artifact %q: the %s builder is not supported by skiff yet", a.ImageName, a.BuilderType())
	}
	if opts.Hooks != nil {
		if err := opts.Hooks(ctx, a, repo, tag, false); err != nil {
			return fmt.Errorf("artifact %q was not built: %w", a.ImageName, err)
		}
	}
	fmt.Fprintf(progress, "Building [%s]...\n", a.ImageName)
	start := time.Now()
	out := io.Discard
	if opts.Output != nil {
		out = opts.Output(a)
	}
	built, err := builder.Build(ctx, a, Request{
		Tag: ref, Push: opts.Push, Platforms: platforms, Requires: reqs,
		Env: opts.Env, Out: out, InsecureRegistries: opts.Insecure, Debug: opts.Debug,
		DevMode: devMode,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("building artifact %q: %w", a.ImageName, err)
	}
	p, err := opts.Publisher.Publish(ctx, ref, built, opts.Push)
	if err != nil {
		return fmt.Errorf("publishing artifact %q as %s: %w", a.ImageName, ref, err)
	}
	n.result = artifact.Image{Name: a.ImageName, Ref: finalRef(ref, p)}
	if opts.Cache != nil {
		opts.Cache.Put(n.key, CacheEntry{Digest: p.Digest, ImageID: p.ImageID, Ref: ref})
	}
	if opts.Hooks != nil {
		if err := opts.Hooks(ctx, a, repo, tag, true); err != nil {
			return fmt.Errorf("artifact %q was built as %s, but: %w", a.ImageName, n.result.Ref, err)
		}
	}
	fmt.Fprintf(progress, "Build [%s] succeeded in %s\n", a.ImageName, time.Since(start).Round(time.Millisecond))
	return nil
}

// finalRef pins a pushed image by digest.
func finalRef(ref string, p Published) string {
	if p.Digest != "" {
		return ref + "@" + p.Digest
	}
	return ref
}

// AutoSync reports whether a's sync rules come from its builder
// (sync.auto), which builds it in development mode for skiff dev.
func AutoSync(a *schema.Artifact) bool {
	return a.Sync != nil && a.Sync.Auto != nil && *a.Sync.Auto
}
