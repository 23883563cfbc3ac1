package cli

import (
	"bytes"
	"context"
	"fmt"
	"text/template"

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
	// Output is -o: a Go template over BuildOutput, as in Skaffold
	// (default {{json .}}); "json" is short for {{json .}}, "text" prints
	// one reference a line.
	Output string
}

// BuildOutput is what `skiff build -q` prints and --file-output writes,
// and what deploy and render -a read: Skaffold's build output, whose
// shape (and field names, for -o templates) it keeps.
type BuildOutput struct {
	Builds []Build `json:"builds"`
}

// Build is one built image in BuildOutput.
type Build struct {
	// ImageName is the artifact's image, as in skaffold.yaml.
	ImageName string `json:"imageName"`
	// Tag is the full reference of the built image.
	Tag string `json:"tag"`
}

// newBuildOutput is the BuildOutput of images.
func newBuildOutput(images []artifact.Image) BuildOutput {
	out := BuildOutput{Builds: []Build{}}
	for _, im := range images {
		out.Builds = append(out.Builds, Build{ImageName: im.Name, Tag: im.Ref})
	}
	return out
}

// images are the images of a BuildOutput.
func (o BuildOutput) images() []artifact.Image {
	var out []artifact.Image
	for _, b := range o.Builds {
		out = append(out, artifact.Image{Name: b.ImageName, Ref: b.Tag})
	}
	return out
}

func (a *app) newBuildCmd() *cobra.Command {
	opts := &BuildOptions{}
	var bvals buildFlagValues
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the artifacts, tag them and push or load them",
		Long: `Build every artifact (or those named with -b, with the artifacts they require) in
dependency order, tag the images, and push them to a registry or load them
into the local Docker daemon. Prints each image's final reference.

Images are pushed when --push is given, when build.local.push says so, when
--default-repo is set, or when the current kube context's cluster advertises
a local registry (KEP-1755), which then is the default repo.`,
		Example: `  # Build, then deploy what was built
  skiff build -q | skiff deploy -a -

  # Print each image's reference
  skiff build -q -o '{{range .Builds}}{{.Tag}}{{"\n"}}{{end}}'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bvals.apply(cmd, &opts.BuildOptions, a); err != nil {
				return err
			}
			tmpl, err := buildTemplate(opts.Output)
			if err != nil {
				return &UsageError{Command: commandName(cmd), Err: err}
			}
			// Without -q or -o, the results are the references, one a
			// line, after the progress.
			if !opts.Quiet && !cmd.Flags().Changed("output") {
				tmpl = nil
			}
			return a.runBuild(cmd.Context(), opts, tmpl)
		},
	}
	f := cmd.Flags()
	buildFlags(f, &opts.BuildOptions, &bvals)
	f.StringVar(&opts.FileOutput, "file-output", "", "write the build output (-o, default JSON: {\"builds\":[{\"imageName\",\"tag\"}]}) to this file, for skiff deploy -a")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress or build output; print the build output (-o, default JSON) for skiff deploy -a -")
	f.StringVarP(&opts.Output, "output", "o", defaultBuildTemplate, "the build output's format: a Go template over {Builds: [{ImageName, Tag}]} with the functions json, join, title, lower, upper; json is short for {{json .}}, text prints a reference a line")
	f.BoolVar(&opts.DryRun, "dry-run", false, "compute the tags without building anything")
	addIgnoredFlags(cmd.Flags(), "build")
	return cmd
}

// buildFlags binds the flags that say what to build and how, shared by
// build, run and dev; v holds those the command applies only when given
// (buildFlagValues.apply).
func buildFlags(f *pflag.FlagSet, opts *runner.BuildOptions, v *buildFlagValues) {
	f.StringSliceVarP(&opts.Images, "build-image", "b", nil, "only build these images, or those whose image contains the name (and the images they require)")
	f.BoolVar(&v.push, "push", false, "push the images to their registry (default: decided by the config and the cluster)")
	f.IntVar(&v.concurrency, "build-concurrency", -1, "how many artifacts build at once, 0 for no limit (default build.local.concurrency); dependencies still build first")
	f.StringVarP(&opts.Tag, "tag", "t", "", "use this tag for every image instead of the tag policy's")
	f.BoolVar(&opts.CacheArtifacts, "cache-artifacts", true, "skip artifacts whose inputs have not changed since an image was built from them")
	f.StringVar(&opts.CacheFile, "cache-file", "", "the build cache file (default ~/.skiff/cache)")
	f.StringSliceVar(&opts.Insecure, "insecure-registry", nil, "registries reachable over plain HTTP (loopback ones always are)")
	f.StringSliceVar(&opts.Platforms, "platform", nil, "target platforms, os/arch (default the host's)")
	muteFlag(f, &v.mute)
	f.BoolVar(&v.skipTests, "skip-tests", false, "do not run the tests (test[]: structure tests and custom tests) after building")
	f.BoolVar(&v.singlePlatform, "disable-multi-platform-build", false, "build only the first --platform when several are given (default true in dev, to keep the loop fast)")
}

func (a *app) runBuild(ctx context.Context, opts *BuildOptions, tmpl *template.Template) error {
	p, err := a.loadConfig(ctx, "build")
	if err != nil {
		return err
	}
	results, err := a.newEngine(p).Build(ctx, opts.BuildOptions)
	if err != nil {
		return err
	}
	output := newBuildOutput(results)
	if opts.FileOutput != "" {
		var b bytes.Buffer
		if err := formatBuildOutput(&b, fileTemplate(tmpl), output); err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(opts.FileOutput, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing --file-output %s: %w", opts.FileOutput, err)
		}
	}
	if tmpl == nil {
		for _, r := range results {
			fmt.Fprintln(a.streams.Out, r.Ref)
		}
		return nil
	}
	return formatBuildOutput(a.streams.Out, tmpl, output)
}
