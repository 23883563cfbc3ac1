package dockerbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	skbuild "skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/fsutil"
)

// Client is the part of the Docker Engine API client that the builder
// uses; the *client.Client of internal/docker satisfies it.
type Client interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options client.ImageBuildOptions) (client.ImageBuildResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	// DialHijack opens the /session connection BuildKit's secrets and
	// ssh forwarding run over.
	DialHijack(ctx context.Context, url, proto string, meta map[string][]string) (net.Conn, error)
	DaemonHost() string
}

// Builder builds docker artifacts with the Docker Engine; it implements
// build.Builder and is safe for concurrent builds.
type Builder struct {
	client Client
	opts   options

	mu         sync.Mutex
	daemonPing *client.PingResult
}

var _ skbuild.Builder = (*Builder)(nil)

type options struct {
	buildKit *bool
	keychain authn.Keychain
}

// Option configures a Builder.
type Option func(*options) error

// WithBuildKit chooses the daemon's builder, as build.local.useBuildkit
// does: true for BuildKit, false for the classic builder, nil (the
// default) for the daemon's default, except that artifacts with secrets
// or ssh use BuildKit, which alone supports them.
func WithBuildKit(use *bool) Option {
	return func(o *options) error {
		o.buildKit = use
		return nil
	}
}

// WithKeychain sets where registry credentials for pulling base and
// cacheFrom images come from (default authn.DefaultKeychain:
// ~/.docker/config.json and its credential helpers).
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) error {
		o.keychain = kc
		return nil
	}
}

// New returns a Builder that builds through c.
func New(c Client, opts ...Option) (*Builder, error) {
	b := &Builder{client: c, opts: options{keychain: authn.DefaultKeychain}}
	for _, opt := range opts {
		if err := opt(&b.opts); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Build builds a's Dockerfile in its context and tags the image
// req.Tag in the daemon. It returns the image's ID. A failed step comes back
// as a *StepError.
func (b *Builder) Build(ctx context.Context, a *schema.Artifact, req skbuild.Request) (skbuild.Built, error) {
	d := a.DockerArtifact
	if d == nil {
		return skbuild.Built{}, fmt.Errorf("artifact %q is not a docker artifact", a.ImageName)
	}
	out := req.Out
	if out == nil {
		out = io.Discard
	}
	env := req.Env
	if env == nil {
		env = config.Env{}
	}
	req.Env = env

	bc, err := newBuildContext(a.Workspace, d.DockerfilePath)
	if err != nil {
		return skbuild.Built{}, err
	}
	dockerfile, err := fsutil.ReadRegular(bc.dockerfile, deps.MaxDockerfileSize)
	if err != nil {
		return skbuild.Built{}, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	opts, err := b.buildOptions(a, req, bc, dockerfile)
	if err != nil {
		return skbuild.Built{}, err
	}
	bases, err := checkDockerfile(bc, opts, env)
	if err != nil {
		return skbuild.Built{}, err
	}

	ping, err := b.ping(ctx)
	if err != nil {
		return skbuild.Built{}, err
	}
	buildKit, err := b.useBuildKit(d, ping)
	if err != nil {
		return skbuild.Built{}, err
	}
	if buildKit {
		// BuildKit asks the session for registry credentials, secrets
		// and ssh agents.
		opts.Version = build.BuilderBuildKit
		s, err := b.newSession(ctx, d, env)
		if err != nil {
			return skbuild.Built{}, err
		}
		defer s.Close()
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			if err := s.Run(context.WithoutCancel(ctx), b.dialSession); err != nil {
				cancel(fmt.Errorf("connecting BuildKit's session to the Docker Engine at %s: %w", b.client.DaemonHost(), err))
			}
		}()
		opts.SessionID = s.ID()
	} else {
		// The classic builder takes credentials for every registry it
		// may pull from with the request.
		opts.Version = build.BuilderV1
		if opts.AuthConfigs, err = authConfigs(ctx, b.opts.keychain, append(bases, opts.CacheFrom...)); err != nil {
			return skbuild.Built{}, err
		}
		b.prepareCacheFrom(ctx, out, opts.CacheFrom)
	}

	id, err := b.run(ctx, bc, opts, dockerfile, out)
	if err != nil {
		return skbuild.Built{}, err
	}
	if id == "" {
		res, err := b.client.ImageInspect(ctx, req.Tag)
		if err != nil {
			return skbuild.Built{}, fmt.Errorf("the build succeeded but its image %s cannot be found in the daemon: %w", req.Tag, err)
		}
		id = res.ID
	}
	return skbuild.Built{DaemonID: id}, nil
}

// buildOptions maps the artifact's fields, then its cliFlags, onto the
// API's build options.
func (b *Builder) buildOptions(a *schema.Artifact, req skbuild.Request, bc *buildContext, dockerfile []byte) (client.ImageBuildOptions, error) {
	d := a.DockerArtifact
	args, err := buildArgs(d, req, dockerfile)
	if err != nil {
		return client.ImageBuildOptions{}, err
	}
	opts := client.ImageBuildOptions{
		Tags:        []string{req.Tag},
		Dockerfile:  bc.dockerfileName,
		BuildArgs:   args,
		Target:      d.Target,
		NetworkMode: strings.ToLower(d.NetworkMode),
		ExtraHosts:  d.AddHost,
		CacheFrom:   cacheFrom(d.CacheFrom, a.ImageName, req.Tag),
		NoCache:     d.NoCache,
		PullParent:  d.PullParent,
		Squash:      d.Squash,
		// Intermediate containers go, also those of a failed step: a dev
		// loop that fails often would otherwise pile them up.
		Remove:      true,
		ForceRemove: true,
	}
	switch len(req.Platforms) {
	case 0:
	case 1:
		p, err := parsePlatform(req.Platforms[0])
		if err != nil {
			return opts, err
		}
		opts.Platforms = []ocispec.Platform{p}
	default:
		return opts, fmt.Errorf("building for several platforms at once (%s) is not supported by skiff's docker builder yet: the Docker Engine stores one platform per image tag; build one platform at a time (--platform)", strings.Join(req.Platforms, ", "))
	}
	flags := make([]string, len(d.CliFlags))
	for i, f := range d.CliFlags {
		if flags[i], err = config.Expand(f, req.Env.With(config.ImageEnv(req.Tag))); err != nil {
			return opts, fmt.Errorf("docker.cliFlags: %w", err)
		}
	}
	if err := applyCLIFlags(&opts, flags, req.Env.Lookup); err != nil {
		return opts, err
	}
	return opts, nil
}

// cacheFrom returns the cacheFrom images with the artifact's own image
// name replaced by the reference being built, as Skaffold does.
func cacheFrom(images []string, imageName, ref string) []string {
	if len(images) == 0 {
		return nil
	}
	out := make([]string, len(images))
	for i, img := range images {
		out[i] = img
		if img == imageName {
			out[i] = ref
		}
	}
	return out
}

// checkDockerfile reads the Dockerfile and the context before anything is
// sent, so that a syntax error, a target that does not exist or a COPY
// source that is missing or ignored is reported with its file and line. It
// returns the images the Dockerfile's stages start from.
func checkDockerfile(bc *buildContext, opts client.ImageBuildOptions, env config.Env) ([]string, error) {
	dopts := []deps.Option{deps.WithLookupEnv(env.Lookup)}
	if len(opts.Platforms) == 1 {
		p := opts.Platforms[0]
		s := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			s += "/" + p.Variant
		}
		dopts = append(dopts, deps.WithPlatform(s))
	}
	if _, err := deps.Dockerfile(bc.dir, bc.dockerfile, opts.Target, opts.BuildArgs, dopts...); err != nil {
		return nil, err
	}
	content, err := fsutil.ReadRegular(bc.dockerfile, deps.MaxDockerfileSize)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	df, err := deps.ParseDockerfile(bytes.NewReader(content), opts.BuildArgs, append(dopts, deps.WithFilename(bc.dockerfile), deps.WithTarget(opts.Target))...)
	if err != nil {
		return nil, err
	}
	var bases []string
	for _, st := range df.Stages {
		if st.BaseStage == nil && st.Base != "scratch" && !slices.Contains(bases, st.Base) {
			bases = append(bases, st.Base)
		}
	}
	return bases, nil
}

// ping asks the daemon for its default builder, once, and turns a daemon
// that does not answer into an error that says how to start one.
func (b *Builder) ping(ctx context.Context) (client.PingResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.daemonPing != nil {
		return *b.daemonPing, nil
	}
	p, err := b.client.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return p, daemonError(b.client.DaemonHost(), err)
	}
	b.daemonPing = &p
	return p, nil
}

// daemonError explains an error of the connection to the daemon.
func daemonError(host string, err error) error {
	switch {
	case client.IsErrConnectionFailed(err):
		return &daemonDownError{host: host, err: err}
	case strings.Contains(err.Error(), "permission denied"):
		return fmt.Errorf("no permission to use the Docker Engine at %s: %w; run skiff as a member of the docker group or as root", host, err)
	}
	return fmt.Errorf("the Docker Engine at %s does not answer: %w", host, err)
}

// daemonDownError is a Docker Engine that does not run.
type daemonDownError struct {
	host string
	err  error
}

func (e *daemonDownError) Error() string {
	return fmt.Sprintf("cannot connect to the Docker Engine at %s: it is not running; start it (sudo systemctl start docker, or sudo dockerd &; skiff's hack/cluster.sh up starts one) or point DOCKER_HOST at one that runs", e.host)
}

func (e *daemonDownError) Unwrap() error { return e.err }

func (b *Builder) useBuildKit(d *schema.DockerArtifact, ping client.PingResult) (bool, error) {
	needs := len(d.Secrets) > 0 || d.SSH != ""
	if b.opts.buildKit != nil {
		if !*b.opts.buildKit && needs {
			return false, errors.New("docker.secrets and docker.ssh need BuildKit, but build.local.useBuildkit is false; set it to true or remove it")
		}
		return *b.opts.buildKit, nil
	}
	return needs || ping.BuilderVersion == build.BuilderBuildKit, nil
}

// prepareCacheFrom pulls the cacheFrom images the daemon lacks, as
// Skaffold does: the classic builder only uses images it has. An image
// that cannot be pulled is skipped with a warning.
func (b *Builder) prepareCacheFrom(ctx context.Context, out io.Writer, images []string) {
	for _, img := range images {
		if _, err := b.client.ImageInspect(ctx, img); err == nil || !cerrdefs.IsNotFound(err) {
			continue
		}
		fmt.Fprintf(out, "Pulling cacheFrom image %s\n", img)
		err := func() error {
			var pull client.ImagePullOptions
			if _, cfg, ok, err := credentials(ctx, b.opts.keychain, img); err != nil {
				return err
			} else if ok {
				if pull.RegistryAuth, err = encodeAuth(cfg); err != nil {
					return err
				}
			}
			resp, err := b.client.ImagePull(ctx, img, pull)
			if err != nil {
				return err
			}
			defer resp.Close()
			return resp.Wait(ctx)
		}()
		if err != nil {
			fmt.Fprintf(out, "WARNING: cacheFrom image %s is not in the Docker Engine and could not be pulled (%v); building without it\n", img, err)
		}
	}
}

// run streams the context to the daemon and the build's output to out,
// and returns the image ID the daemon reports.
func (b *Builder) run(ctx context.Context, bc *buildContext, opts client.ImageBuildOptions, dockerfile []byte, out io.Writer) (string, error) {
	pr, pw := io.Pipe()
	sent := make(chan error, 1)
	go func() {
		err := bc.writeTar(pw)
		pw.CloseWithError(err)
		sent <- err
	}()
	res, err := b.client.ImageBuild(ctx, pr, opts)
	if err != nil {
		pr.CloseWithError(err)
		if ctx.Err() != nil {
			<-sent
			return "", context.Cause(ctx)
		}
		if tarErr := <-sent; tarErr != nil && !errors.Is(tarErr, err) {
			return "", tarErr
		}
		return "", requestError(b.client.DaemonHost(), opts, err)
	}
	defer res.Body.Close()
	p := newProgress(out, dockerfile, bc, opts.Version == build.BuilderBuildKit)
	streamErr := p.consume(res.Body)
	pr.CloseWithError(errBuildDone)
	if tarErr := <-sent; tarErr != nil && !errors.Is(tarErr, errBuildDone) && !errors.Is(tarErr, io.ErrClosedPipe) {
		// The daemon saw a truncated context; the reason is here.
		return "", tarErr
	}
	switch {
	case p.failure != nil:
		return "", p.failure
	case streamErr != nil:
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		return "", fmt.Errorf("reading the build output from the Docker Engine: %w", streamErr)
	}
	return p.imageID, nil
}

// errBuildDone stops the context stream once the daemon has answered.
var errBuildDone = errors.New("the build has ended")

// requestError explains a build the daemon refused before it started.
func requestError(host string, opts client.ImageBuildOptions, err error) error {
	msg := err.Error()
	switch {
	case client.IsErrConnectionFailed(err):
		return daemonError(host, err)
	case opts.Squash && strings.Contains(msg, "experimental"):
		return fmt.Errorf("docker.squash needs a Docker Engine with experimental features: %w; start dockerd with --experimental (or \"experimental\": true in /etc/docker/daemon.json), or remove squash", err)
	case opts.Squash && opts.Version == build.BuilderBuildKit && strings.Contains(msg, "squash"):
		return fmt.Errorf("docker.squash is not supported with BuildKit: %w; remove squash or set build.local.useBuildkit: false", err)
	}
	return fmt.Errorf("the Docker Engine refused the build: %w", err)
}

// parsePlatform parses os/arch[/variant].
func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: want os/arch or os/arch/variant, e.g. linux/amd64", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}
