package buildpacks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/image"
)

// Builder builds buildpacks artifacts by running the builder's lifecycle
// on the Docker Engine; it implements build.Builder and is safe for
// concurrent builds.
type Builder struct {
	client Client
	opts   options
}

var _ build.Builder = (*Builder)(nil)

type options struct {
	keychain     authn.Keychain
	dockerConfig string
	trusted      []string
	runOptions   func(*schema.Artifact) RunOptions
}

// Option configures a Builder.
type Option func(*options) error

// WithKeychain sets where registry credentials come from (default
// authn.DefaultKeychain: ~/.docker/config.json and its credential
// helpers), as for the publisher.
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) error {
		o.keychain = kc
		return nil
	}
}

// WithDockerConfig names the docker config file the credentials come
// from, for errors that tell how to log in.
func WithDockerConfig(file string) Option {
	return func(o *options) error {
		o.dockerConfig = file
		return nil
	}
}

// WithTrustedBuilders names builders to trust as if their artifacts set
// trustBuilder: image references, matched by repository (any tag or
// digest) when they name no tag, else exactly.
func WithTrustedBuilders(refs ...string) Option {
	return func(o *options) error {
		for _, r := range refs {
			if _, err := name.ParseReference(r); err != nil {
				return fmt.Errorf("trusted builder %q is not an image reference: %w", r, err)
			}
		}
		o.trusted = append(o.trusted, refs...)
		return nil
	}
}

// trusts reports whether builder is one of the trusted builders.
func (o *options) trusts(builder string) bool {
	b, err := name.ParseReference(builder)
	if err != nil {
		return false
	}
	for _, t := range o.trusted {
		if t == builder {
			return true
		}
		tr, err := name.ParseReference(t)
		if err != nil {
			continue
		}
		if tr.Context().Name() != b.Context().Name() {
			continue
		}
		// A repository without a tag or digest trusts all of its images.
		if !strings.ContainsAny(path.Base(t), ":@") || tr.Identifier() == b.Identifier() {
			return true
		}
	}
	return false
}

// WithRunOptions sets the options of this run that Build applies to each
// artifact: skiff dev sets CNB_EXEC_ENV=development and its variables.
func WithRunOptions(f func(a *schema.Artifact) RunOptions) Option {
	return func(o *options) error {
		o.runOptions = f
		return nil
	}
}

// New returns a Builder that runs lifecycles through c.
func New(c Client, opts ...Option) (*Builder, error) {
	b := &Builder{client: c, opts: options{keychain: authn.DefaultKeychain}}
	for _, opt := range opts {
		if err := opt(&b.opts); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// RunOptions are choices of one run beyond the artifact's, for skiff dev
// (and debug).
type RunOptions struct {
	// ExecEnv is CNB_EXEC_ENV for the buildpacks ("development" for dev
	// mode); it needs Platform API 0.15. Empty means the default,
	// production.
	ExecEnv string
	// Env are build-time variables added over the artifact's.
	Env map[string]string
	// devMode says ExecEnv is development mode's: a builder whose
	// lifecycle predates CNB_EXEC_ENV builds without it (with the other
	// variables of development mode) instead of failing.
	devMode bool
}

// debugEnv are the build variables of a build for a debugger: the Go
// compiler flags, which Google's Go buildpacks and skiff's read from
// GOOGLE_GOGCFLAGS, as Skaffold passes them.
var debugEnv = map[string]string{"GOOGLE_GOGCFLAGS": "all=-N -l"}

// ExecEnvDevelopment is CNB_EXEC_ENV for development mode (skiff dev):
// the image gets the label io.buildpacks.exec-env=development.
const ExecEnvDevelopment = "development"

// devEnv are the build variables of development mode beyond
// CNB_EXEC_ENV, for buildpacks that predate it: Google's (GOOGLE_DEVMODE)
// and Paketo's (BP_LIVE_RELOAD_ENABLED).
var devEnv = map[string]string{"GOOGLE_DEVMODE": "1", "BP_LIVE_RELOAD_ENABLED": "true"}

// devRunOptions adds development mode to ro: CNB_EXEC_ENV=development
// unless ro names an exec env, and devEnv under ro's own variables.
func devRunOptions(ro RunOptions) RunOptions {
	if ro.ExecEnv == "" {
		ro.ExecEnv, ro.devMode = ExecEnvDevelopment, true
	}
	env := maps.Clone(devEnv)
	maps.Copy(env, ro.Env)
	ro.Env = env
	return ro
}

// Build builds a and has the lifecycle export it as req.Tag: to its
// registry when req.Push, else into the Docker daemon, with the run
// options WithRunOptions set. The image is already where it belongs when
// Build returns, hence Built{External: true}.
func (b *Builder) Build(ctx context.Context, a *schema.Artifact, req build.Request) (build.Built, error) {
	var ro RunOptions
	if b.opts.runOptions != nil {
		ro = b.opts.runOptions(a)
	}
	if req.Debug {
		ro.Env = maps.Clone(ro.Env)
		if ro.Env == nil {
			ro.Env = map[string]string{}
		}
		for k, v := range debugEnv {
			ro.Env[k] = v
		}
	}
	if req.DevMode {
		ro = devRunOptions(ro)
	}
	if _, err := b.BuildWith(ctx, a, req, ro); err != nil {
		return build.Built{}, err
	}
	return build.Built{External: true}, nil
}

// BuildWith is Build with per-run options; it returns what the exporter
// reported (the manifest digest when pushed, the image ID otherwise).
func (b *Builder) BuildWith(ctx context.Context, a *schema.Artifact, req build.Request, ro RunOptions) (Report, error) {
	bp := a.BuildpackArtifact
	if bp == nil {
		return Report{}, fmt.Errorf("artifact %q is not a buildpacks artifact", a.ImageName)
	}
	if err := Validate(a); err != nil {
		return Report{}, err
	}
	out := req.Out
	if out == nil {
		out = io.Discard
	}
	platform, err := onePlatform(req.Platforms)
	if err != nil {
		return Report{}, err
	}
	workspace, err := filepath.Abs(a.Workspace)
	if err != nil {
		return Report{}, fmt.Errorf("finding the build context %q: %w", a.Workspace, err)
	}
	proj, err := LoadProject(a)
	if err != nil {
		return Report{}, err
	}
	env, err := buildEnv(bp.Env, proj, ro.Env, req.Env)
	if err != nil {
		return Report{}, err
	}
	tag, err := name.NewTag(req.Tag)
	if err != nil {
		return Report{}, fmt.Errorf("the image to build, %q, is not a repository:tag: %w", req.Tag, err)
	}
	reg := image.NewRegistry(req.InsecureRegistries, image.WithKeychain(b.opts.keychain), image.WithDockerConfig(b.opts.dockerConfig))

	bi, md, api, err := b.builderFor(ctx, reg, bp.Builder, platform, ro)
	if err != nil {
		return Report{}, err
	}
	if ro.devMode && !api.AtLeast(execEnvAPI) {
		fmt.Fprintf(out, "The lifecycle of builder %s speaks Platform API %s, before CNB_EXEC_ENV (%s): building for development with GOOGLE_DEVMODE and BP_LIVE_RELOAD_ENABLED only\n", bp.Builder, api, execEnvAPI)
		ro.ExecEnv = ""
	}
	runImage := bp.RunImage
	if runImage == "" {
		runImage = md.RunImage()
	}
	if runImage == "" {
		return Report{}, fmt.Errorf("builder %s names no run image; set buildpacks.runImage", bp.Builder)
	}
	if !req.Push {
		// The lifecycle reads the run image from the daemon it exports to.
		if _, err := b.ensureImage(ctx, reg, runImage, "run", platform); err != nil {
			return Report{}, err
		}
	}
	order, err := resolveOrder(ctx, workspace, md, bp.Buildpacks, proj, func(ctx context.Context, ref string) (v1.Image, error) {
		var p *v1.Platform
		if platform != nil {
			p = &v1.Platform{OS: platform.OS, Architecture: platform.Architecture, Variant: platform.Variant}
		}
		return reg.Image(ctx, ref, p)
	})
	if err != nil {
		return Report{}, err
	}

	auth, err := registryAuth(ctx, b.opts.keychain, req.Tag, runImage)
	if err != nil {
		return Report{}, err
	}
	binds, err := buildBinds(bp.Volumes)
	if err != nil {
		return Report{}, err
	}
	app := appKey(tag)
	plan := &buildPlan{
		API: api, Tag: req.Tag, Previous: previousImage(tag), Push: req.Push, RunImage: runImage,
		UID: md.UID, GID: md.GID, BuilderImage: bi.ID,
		CacheVolume: "skiff-cnb-cache-" + app, LaunchCacheVolume: "skiff-cnb-launch-" + app,
		Insecure: insecureFor(req.InsecureRegistries, req.Tag, runImage), RegistryAuth: auth,
		ExecEnv: ro.ExecEnv, BuildBinds: binds,
	}
	if _, ok := md.Buildpacks[goBuildpack]; ok {
		plan.GoCacheVolume = "skiff-cnb-gocache-" + app
	}
	if !req.Push {
		if err := plan.setDaemon(b.client.DaemonHost()); err != nil {
			return Report{}, err
		}
	}
	if bp.ClearCache {
		if err := b.clearCache(ctx, plan); err != nil {
			return Report{}, err
		}
		fmt.Fprintf(out, "Cleared the build cache of %s\n", tag.Context())
	}
	id, err := randomID()
	if err != nil {
		return Report{}, err
	}
	vol := "skiff-cnb-" + id
	plan.LayersVolume, plan.AppVolume, plan.PlatformVolume = vol+"-layers", vol+"-app", vol+"-platform"

	r := &run{b: b, plan: plan, workspace: workspace, proj: proj, env: env, order: order, md: md, out: out, platform: platform}
	defer r.cleanup(ctx)
	if bp.TrustBuilder || b.opts.trusts(bp.Builder) {
		return r.run(ctx, []phase{plan.creator()})
	}
	if plan.LifecycleImage, err = b.lifecycleImage(ctx, bi.ID, v1.Platform{OS: md.OS, Architecture: md.Arch}); err != nil {
		return Report{}, err
	}
	return r.run(ctx, plan.phases())
}

// builderFor makes sure the builder is in the daemon and reads its
// metadata: its platform must be the one asked for, and its lifecycle must
// speak a Platform API skiff speaks (0.15 for an exec env).
func (b *Builder) builderFor(ctx context.Context, reg *image.Registry, ref string, platform *ocispec.Platform, ro RunOptions) (client.ImageInspectResult, *BuilderMetadata, APIVersion, error) {
	bi, err := b.ensureImage(ctx, reg, ref, "builder", platform)
	if err != nil {
		return bi, nil, APIVersion{}, err
	}
	var labels map[string]string
	var env []string
	if bi.Config != nil {
		labels, env = bi.Config.Labels, bi.Config.Env
	}
	md, err := ParseBuilderMetadata(ref, labels, env, bi.Os, bi.Architecture)
	if err != nil {
		return bi, nil, APIVersion{}, err
	}
	if platform != nil && (platform.OS != md.OS || platform.Architecture != md.Arch) {
		return bi, nil, APIVersion{}, fmt.Errorf("builder %s is a %s/%s image: it has no target %s/%s; use a builder for that platform or drop platforms", ref, md.OS, md.Arch, platform.OS, platform.Architecture)
	}
	api, err := NegotiatePlatformAPI(ref, md)
	if err != nil {
		return bi, nil, APIVersion{}, err
	}
	if ro.ExecEnv != "" && !ro.devMode && !api.AtLeast(execEnvAPI) {
		return bi, nil, APIVersion{}, fmt.Errorf("CNB_EXEC_ENV=%s needs Platform API %s; builder %s speaks up to %s; use a builder whose lifecycle speaks it (lifecycle v0.21.14 does; make builder makes one)", ro.ExecEnv, execEnvAPI, ref, api)
	}
	return bi, md, api, nil
}

// clearCache removes the application's cache volumes (clearCache).
func (b *Builder) clearCache(ctx context.Context, plan *buildPlan) error {
	for _, v := range []string{plan.CacheVolume, plan.LaunchCacheVolume, plan.GoCacheVolume} {
		if v == "" {
			continue
		}
		if _, err := b.client.VolumeRemove(ctx, v, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("clearing the build cache (volume %s): %w", v, err)
		}
	}
	return nil
}

// goBuildpack is the ID of skiff's Go buildpack, which builds with the
// build image's Go build cache at goCacheDir.
const goBuildpack = "skiff/go"

// onePlatform reads the single target platform, nil for the host's.
func onePlatform(platforms []string) (*ocispec.Platform, error) {
	switch len(platforms) {
	case 0:
		return nil, nil
	case 1:
		p, err := v1.ParsePlatform(platforms[0])
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", platforms[0], err)
		}
		return &ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
	}
	return nil, fmt.Errorf("platforms %s: a buildpacks build makes one platform's image; build one platform per artifact", strings.Join(platforms, ", "))
}

// buildEnv merges the build-time variables: the artifact's env
// (templates expanded), then the project descriptor's, which win as in
// Skaffold, then the run's.
func buildEnv(artifactEnv []string, proj *Project, extra map[string]string, tmpl config.Env) (map[string]string, error) {
	env := map[string]string{}
	for _, e := range artifactEnv {
		s, err := config.Expand(e, tmpl)
		if err != nil {
			return nil, fmt.Errorf("buildpacks.env %q: %w", e, err)
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, "/\x00") {
			return nil, fmt.Errorf("buildpacks.env entry %q expands to %q, which is not KEY=value", e, s)
		}
		env[k] = v
	}
	if proj != nil {
		for _, e := range proj.Env {
			env[e.Name] = e.Value
		}
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// buildBinds turns the artifact's volumes into binds.
func buildBinds(vols []*schema.BuildpackVolume) ([]string, error) {
	var out []string
	for _, v := range vols {
		if err := checkVolume(v); err != nil {
			return nil, err
		}
		ro, _ := volumeMode(v.Options)
		bind := v.Host + ":" + v.Target
		if ro {
			bind += ":ro"
		}
		out = append(out, bind)
	}
	return out, nil
}

// previousImage is where the previous build of tag's repository is: its
// :latest, which every build exports too (as Skaffold's buildpacks builder
// does), so that a rebuild under a new tag reuses its layers.
func previousImage(tag name.Tag) string {
	if tag.TagStr() == "latest" {
		return ""
	}
	return tag.Context().Tag("latest").String()
}

// appKey names an application's cache volumes: a hash of the image's
// repository, so that every tag of one image shares its cache.
func appKey(tag name.Tag) string {
	sum := sha256.Sum256([]byte(tag.Context().Name()))
	return hex.EncodeToString(sum[:8])
}

// insecureFor lists the registries the lifecycle may reach over plain
// HTTP: those the user listed that the build uses.
func insecureFor(insecure []string, refs ...string) []string {
	var out []string
	for _, ref := range refs {
		n, err := name.ParseReference(ref)
		if err != nil {
			continue
		}
		host := n.Context().RegistryStr()
		for _, r := range insecure {
			if r == host && !slices.Contains(out, host) {
				out = append(out, host)
			}
		}
	}
	return out
}

func randomID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
