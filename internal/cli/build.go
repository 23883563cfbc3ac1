package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/custom"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/build/dockerbuild"
	"skiff.dev/skiff/internal/build/ko"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/docker"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/image"
	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/tag"
)

// BuildOptions are the inputs of `skiff build`.
type BuildOptions struct {
	// Images limits the build to these artifacts (-b) and those they require.
	Images []string
	// Push pushes to a registry (true), loads into the local daemon
	// (false), or decides from the config and the cluster (nil).
	Push           *bool
	FileOutput     string
	Quiet          bool
	Output         string
	DryRun         bool
	Tag            string
	CacheArtifacts bool
	CacheFile      string
	Insecure       []string
	Platforms      []string
}

// BuildReport is what `skiff build --output json` and --file-output write,
// in Skaffold's build.json format.
type BuildReport struct {
	Builds []artifact.Image `json:"builds"`
}

func (a *app) newBuildCmd() *cobra.Command {
	opts := &BuildOptions{}
	var push bool
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the artifacts, tag them and push or load them",
		Long: `Build every artifact (or those named with -b, with the artifacts they require) in
dependency order, tag the images, and push them to a registry or load them
into the local Docker daemon. Prints each image's final reference.

Images are pushed when --push is given, when build.local.push says so, when
--default-repo is set, or when the current kube context's cluster advertises
a local registry (KEP-1755), which then is the default repo.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("push") {
				opts.Push = &push
			}
			if err := checkOutput(cmd, opts.Output); err != nil {
				return err
			}
			return a.runBuild(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	buildFlags(f, opts, &push)
	f.StringVar(&opts.FileOutput, "file-output", "", "write the built images to this file as JSON ({\"builds\":[{\"imageName\",\"tag\"}]}), for skiff deploy -a")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress or build output, only the results")
	outputFlag(cmd, &opts.Output)
	f.BoolVar(&opts.DryRun, "dry-run", false, "compute the tags without building anything")
	f.StringVarP(&opts.Tag, "tag", "t", "", "use this tag for every image instead of the tag policy's")
	return cmd
}

// buildFlags binds the flags that say what to build and how, shared by
// build, run and dev; push is set by --push, which the command applies only
// when the flag is given (the default is the config's and the cluster's).
func buildFlags(f *pflag.FlagSet, opts *BuildOptions, push *bool) {
	f.StringSliceVarP(&opts.Images, "build-image", "b", nil, "only build these images (and the images they require)")
	f.BoolVar(push, "push", false, "push the images to their registry (default: decided by the config and the cluster)")
	f.BoolVar(&opts.CacheArtifacts, "cache-artifacts", true, "skip artifacts whose inputs have not changed since an image was built from them")
	f.StringVar(&opts.CacheFile, "cache-file", "", "the build cache file (default ~/.skiff/cache)")
	f.StringSliceVar(&opts.Insecure, "insecure-registry", nil, "registries reachable over plain HTTP (loopback ones always are)")
	f.StringSliceVar(&opts.Platforms, "platform", nil, "target platforms, os/arch (default the host's)")
}

func (a *app) runBuild(ctx context.Context, opts *BuildOptions) error {
	p, err := a.loadConfig(ctx, "build")
	if err != nil {
		return err
	}
	results, err := a.buildProject(ctx, p, opts)
	if err != nil {
		return err
	}
	report := BuildReport{Builds: results}
	if opts.FileOutput != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(opts.FileOutput, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing --file-output %s: %w", opts.FileOutput, err)
		}
	}
	if opts.Output == "json" {
		return json.NewEncoder(a.streams.Out).Encode(report)
	}
	for _, r := range results {
		fmt.Fprintln(a.streams.Out, r.Ref)
	}
	return nil
}

// buildProject builds the selected artifacts of p; later commands (run,
// dev) build through it too.
func (a *app) buildProject(ctx context.Context, p *config.Project, opts *BuildOptions) ([]artifact.Image, error) {
	if err := unsupportedIn(p, "build"); err != nil {
		return nil, err
	}
	arts, err := selectArtifacts(p.Artifacts(), opts.Images)
	if err != nil {
		return nil, err
	}
	progress := a.streams.ErrOut
	if opts.Quiet {
		progress = io.Discard
	}
	if len(arts) == 0 {
		fmt.Fprintln(progress, "No artifacts to build.")
		return nil, nil
	}

	push, defaultRepo := a.buildTarget(ctx, p, opts)
	insecure := insecureRegistries(p, opts.Insecure)
	repo := image.DefaultRepo{Repo: defaultRepo}
	registry := a.registry(insecure)
	dockerClient, err := docker.NewClient()
	if err != nil {
		return nil, err
	}
	defer dockerClient.Close()

	dockerBuilder, err := dockerbuild.New(dockerClient, dockerbuild.WithBuildKit(p.UseBuildkit()))
	if err != nil {
		return nil, err
	}
	koBuilder, err := ko.New(func(ctx context.Context, ref string, platform v1.Platform) (v1.Image, error) {
		if ref == "" {
			return image.StaticBase(platform)
		}
		return registry.Image(ctx, ref, &platform)
	}, ko.WithEnviron(a.environ))
	if err != nil {
		return nil, err
	}
	customBuilder := custom.New()

	listDeps := memoizeDeps(func(ctx context.Context, art *schema.Artifact) ([]string, error) {
		return deps.ForArtifact(ctx, art, p.Env, a.environ)
	})
	tagger, err := a.taggers(p, listDeps)
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
			a.log.Warnf("%v; building without the cache", err)
			cache = nil
		}
	}

	lines := output.NewLines(a.streams.ErrOut)
	if opts.Quiet {
		lines = output.NewLines(io.Discard)
	}
	var outs []*output.PrefixWriter
	fmt.Fprintln(progress, "Generating tags...")
	start := time.Now()
	results, err := build.Run(ctx, arts, build.Options{
		Builders:    map[string]build.Builder{"docker": dockerBuilder, "ko": koBuilder, "custom": customBuilder},
		Tagger:      tagger,
		Tag:         opts.Tag,
		Publisher:   &build.ImagePublisher{Registry: registry, Daemon: dockerClient, PushOptions: []image.Option{image.WithDockerConfig(a.dockerConfigFile())}},
		Cache:       cache,
		Concurrency: p.Concurrency(),
		Push:        push,
		Platforms:   opts.Platforms,
		Insecure:    insecure,
		Env:         p.Env,
		DryRun:      opts.DryRun,
		Deps:        listDeps,
		Repo:        repo.Apply,
		Progress:    progress,
		Output: func(art *schema.Artifact) io.Writer {
			w := lines.Prefixed("[" + art.ImageName + "] ")
			outs = append(outs, w)
			return w
		},
	})
	for _, w := range outs {
		w.Flush()
	}
	if cache != nil {
		if serr := cache.Save(); serr != nil {
			a.log.Warnf("%v", serr)
		}
	}
	if err != nil {
		return nil, err
	}
	if !opts.DryRun {
		fmt.Fprintf(progress, "Built %d artifacts in %s\n", len(results), time.Since(start).Round(time.Millisecond))
	}
	return results, nil
}

// buildTarget decides where images go: pushed to a registry or loaded
// into the local daemon, and under which default repo.
func (a *app) buildTarget(ctx context.Context, p *config.Project, opts *BuildOptions) (push bool, defaultRepo string) {
	defaultRepo = a.global.defaultRepo
	if opts.Push != nil {
		return *opts.Push, defaultRepo
	}
	if push := p.Push(); push != nil {
		return *push, defaultRepo
	}
	if host, ok := a.clusterRegistry(ctx, p); ok {
		if defaultRepo == "" {
			defaultRepo = host
		}
		a.log.Infof("The cluster advertises a local registry (%s): pushing there", host)
		return true, defaultRepo
	}
	return defaultRepo != "", defaultRepo
}

// clusterRegistry asks the cluster skiff deploys to (--kube-context, else
// deploy.kubeContext, else the current context, as the deploy chooses)
// for the registry it advertises (KEP-1755); no cluster means no registry.
func (a *app) clusterRegistry(ctx context.Context, p *config.Project) (string, bool) {
	name := a.global.kubeContext
	if name == "" {
		name = p.KubeContext()
	}
	kc, err := kube.Load(name)
	if err != nil {
		a.log.Debugf("no cluster to ask for a local registry: %v", err)
		return "", false
	}
	cs, err := kc.Clientset(3 * time.Second)
	if err != nil {
		return "", false
	}
	host, ok, err := image.LocalRegistry(ctx, cs)
	if err != nil {
		a.log.Debugf("kube context %s: no local registry: %v", kc.Context, err)
		return "", false
	}
	return host, ok
}

// taggers returns a tagger that tags each artifact with its own config's
// tag policy; a tagger that fails falls back to "latest" with a warning,
// as in Skaffold.
func (a *app) taggers(p *config.Project, listDeps func(context.Context, *schema.Artifact) ([]string, error)) (build.Tagger, error) {
	perImage := tag.PerImage{}
	all := p.Artifacts()
	for _, c := range p.Configs {
		t, err := tag.New(c.Build.TagPolicy, p.Env, listDeps, tag.WithArtifacts(all), tag.WithEnviron(a.environ))
		if err != nil {
			return nil, fmt.Errorf("%s: build.tagPolicy: %w", c.File, err)
		}
		t = tag.Fallback(t, func(art *schema.Artifact, err error) {
			a.log.Warnf("tagging %s: %v; using the tag \"latest\"", art.ImageName, err)
		})
		for _, art := range c.Build.Artifacts {
			perImage[art.ImageName] = t
		}
	}
	return perImage, nil
}

// selectArtifacts keeps the artifacts named with -b and, transitively,
// those they require.
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
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("no artifact builds image %q (-b); the images are: %s", n, strings.Join(known, ", "))
		}
		mark(n)
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
func insecureRegistries(p *config.Project, flag []string) []string {
	return append(slices.Clone(flag), p.InsecureRegistries()...)
}

// unsupportedIn fails when the project uses a feature of stage that skiff
// does not implement yet.
func unsupportedIn(p *config.Project, stage string) error {
	var errs config.Errors
	for _, c := range p.Configs {
		for _, e := range config.Unsupported(c) {
			if strings.HasPrefix(e.Path, stage) {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// memoizeDeps lists each artifact's dependencies once per run: the tagger
// (inputDigest) and the cache key both need them, and listing a Go
// package's files runs go list.
func memoizeDeps(list func(context.Context, *schema.Artifact) ([]string, error)) func(context.Context, *schema.Artifact) ([]string, error) {
	type result struct {
		once  sync.Once
		files []string
		err   error
	}
	var mu sync.Mutex
	memo := map[*schema.Artifact]*result{}
	return func(ctx context.Context, a *schema.Artifact) ([]string, error) {
		mu.Lock()
		r, ok := memo[a]
		if !ok {
			r = &result{}
			memo[a] = r
		}
		mu.Unlock()
		r.once.Do(func() { r.files, r.err = list(ctx, a) })
		return r.files, r.err
	}
}

// registry is a registry client with the docker config file credentials
// come from named in its errors.
func (a *app) registry(insecure []string) *image.Registry {
	return image.NewRegistry(insecure, image.WithDockerConfig(a.dockerConfigFile()))
}

// dockerConfigFile is the docker config file credentials come from, as the
// environment names it: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json.
func (a *app) dockerConfigFile() string {
	if dir := a.getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	return image.DefaultDockerConfig
}
