package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/runner"
)

// BuildOptions are the inputs of `skiff build`: what to build and how
// (the engine's), and where the results go.
type BuildOptions struct {
	runner.BuildOptions
	FileOutput string
	Output     string
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
	buildFlags(f, &opts.BuildOptions, &push)
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
func buildFlags(f *pflag.FlagSet, opts *runner.BuildOptions, push *bool) {
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
	results, err := a.newEngine(p).Build(ctx, opts.BuildOptions)
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
