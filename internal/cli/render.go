package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/runner"
)

// Digest sources of skiff render --digest-source, as in Skaffold.
var digestSources = []string{"local", "remote", "tag", "none"}

// RenderOptions are the inputs of `skiff render`.
type RenderOptions struct {
	Images       ImageSource
	Build        runner.BuildOptions
	Output       string
	Offline      bool
	DigestSource string
	Debug        bool
	// Loud shows the build's progress and output, which render keeps
	// quiet by default, as Skaffold does.
	Loud bool
	// Deploy holds -l.
	Deploy DeployOptions
}

func (a *app) newRenderCmd() *cobra.Command {
	opts := &RenderOptions{}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the manifests skiff would apply, with the built images substituted",
		Long: `Render the manifests (raw YAML, kustomize, Helm charts) with every built image
substituted, skiff's labels added and namespaces set, and print them.

The images come from -a or --images; otherwise --digest-source decides:
local builds them (the default), tag uses the tags the tag policy computes
without building, remote also resolves those tags' digests in the registry,
and none leaves the manifests' image references alone.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(digestSources, opts.DigestSource) {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("unknown --digest-source %q: use local, remote, tag or none", opts.DigestSource)}
			}
			return a.runRender(cmd, opts)
		},
	}
	f := cmd.Flags()
	imageFlags(f, &opts.Images)
	f.StringVarP(&opts.Output, "output", "o", "", "write the manifests to this file instead of standard output (default manifests.output)")
	f.BoolVar(&opts.Offline, "offline", false, "render without contacting a cluster or registry")
	f.BoolVar(&opts.Debug, "debug", false, "build for debugging and render the manifests as skiff debug deploys them, each container of a built image under its debugger")
	f.StringVar(&opts.DigestSource, "digest-source", "local", "where image references come from: local, remote, tag or none")
	f.StringSliceVar(&opts.Build.Insecure, "insecure-registry", nil, "registries reachable over plain HTTP (loopback ones always are)")
	f.BoolVar(&opts.Build.CacheArtifacts, "cache-artifacts", true, "skip artifacts whose inputs have not changed since an image was built from them")
	f.StringVarP(&opts.Build.Tag, "tag", "t", "", "use this tag for every image instead of the tag policy's")
	f.StringSliceVar(&opts.Build.Platforms, "platform", nil, "target platforms of the images built, os/arch (default the host's)")
	f.BoolVar(&opts.Loud, "loud", false, "show the build's progress and output (render is quiet about building)")
	labelFlag(f, &opts.Deploy)
	addIgnoredFlags(cmd.Flags(), "render")
	return cmd
}

func (a *app) runRender(cmd *cobra.Command, opts *RenderOptions) error {
	ctx := cmd.Context()
	p, err := a.loadConfig(ctx, "render")
	if err != nil {
		return err
	}
	if opts.Debug {
		opts.Deploy.Debug = &runner.DebugOptions{}
		opts.Build.Debug = true
	}
	r, err := a.newRunner(cmd, p, &opts.Deploy)
	if err != nil {
		return err
	}
	opts.Build.Quiet = !opts.Loud
	imgs, err := a.renderImages(ctx, r, opts)
	if err != nil {
		return err
	}
	return a.writeRendered(ctx, r, imgs, opts.Offline, opts.Output)
}

// writeRendered renders the manifests with imgs and writes them to file,
// else to manifests.output, else to standard output.
func (a *app) writeRendered(ctx context.Context, r *runner.Runner, imgs []artifact.Image, offline bool, file string) error {
	data, err := interruptible(ctx, func() ([]byte, error) { return r.RenderYAML(ctx, imgs, offline) })
	if err != nil {
		return err
	}
	if file == "" {
		file = r.RenderOutput()
	}
	if file != "" {
		if err := fsutil.WriteFileAtomic(file, data, 0o644); err != nil {
			return fmt.Errorf("writing the rendered manifests to %s: %w", file, err)
		}
		return nil
	}
	_, err = a.streams.Out.Write(data)
	return err
}

// renderImages picks render's images by -a/--images or --digest-source.
func (a *app) renderImages(ctx context.Context, r *runner.Runner, opts *RenderOptions) ([]artifact.Image, error) {
	if opts.Images.BuildArtifacts != "" || len(opts.Images.Images) > 0 {
		return a.prebuiltImages(ctx, r, &opts.Images)
	}
	switch opts.DigestSource {
	case "none":
		return nil, nil
	case "local":
		if opts.Offline {
			return nil, fmt.Errorf("--offline cannot build and push images; use --digest-source=tag or none, or pass -a/--images")
		}
		return r.Build(ctx, opts.Build)
	}
	imgs, err := r.Tags(ctx, opts.Build.Tag, opts.Offline)
	if err != nil {
		return nil, err
	}
	if opts.DigestSource == "tag" {
		return imgs, nil
	}
	if opts.Offline {
		return nil, fmt.Errorf("--digest-source=remote needs the registry; drop --offline or use --digest-source=tag")
	}
	if err := r.ResolveDigests(ctx, imgs, opts.Build); err != nil {
		return nil, err
	}
	return imgs, nil
}
