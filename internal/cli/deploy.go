package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/runner"
)

// ImageSource says where commands that do not build take their images
// from: a build's --file-output (-a), references on the command line
// (--images), or, with neither, the tags the tag policy computes.
type ImageSource struct {
	BuildArtifacts string
	Images         []string
	// Tag (-t) replaces the tag policy's tag of the images computed.
	Tag string
}

func imageFlags(f *pflag.FlagSet, src *ImageSource) {
	f.StringVarP(&src.BuildArtifacts, "build-artifacts", "a", "", "the build output of skiff build (--file-output, or -q's standard output): a file, or - for standard input")
	f.StringSliceVarP(&src.Images, "images", "i", nil, "images to deploy, as references (web:v1) or name=reference")
}

func (a *app) newDeployCmd() *cobra.Command {
	src := &ImageSource{}
	dopts := &DeployOptions{}
	var mute []string
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy images built earlier and wait until the application is healthy",
		Long: `Render the manifests with images built earlier (from -a, --images, or the tags
the tag policy computes now), apply them with server-side apply, prune what
an earlier deploy of the project left behind, and wait until the workloads
are ready.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.muteBuild(cmd, mute); err != nil {
				return err
			}
			ctx := cmd.Context()
			r, err := a.engineFor(cmd, "deploy", dopts)
			if err != nil {
				return err
			}
			imgs, err := a.prebuiltImages(ctx, r, src)
			if err != nil {
				return err
			}
			if err := interruptibleErr(ctx, func() error { return r.Deploy(ctx, imgs) }); err != nil {
				return err
			}
			return a.observe(ctx, r, "deploy")
		},
	}
	f := cmd.Flags()
	imageFlags(f, src)
	f.StringVarP(&src.Tag, "tag", "t", "", "without -a or --images, deploy the images with this tag instead of the tag policy's")
	muteFlag(f, &mute)
	deployFlags(f, dopts)
	addIgnoredFlags(f, "deploy")
	return cmd
}

func (a *app) newApplyCmd() *cobra.Command {
	dopts := &DeployOptions{}
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Apply manifests rendered earlier (skiff render -o) and wait until they are healthy",
		Long: `Apply already rendered manifests with server-side apply, as part of the
project's deployment set (what is no longer in them is pruned), and wait
until the workloads are ready. "-" reads standard input.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("apply needs the manifest files to apply")}
			}
			ctx := cmd.Context()
			r, err := a.engineFor(cmd, "apply", dopts)
			if err != nil {
				return err
			}
			// Reading stdin (or a FIFO) waits for its writer: Ctrl-C
			// must still stop skiff.
			files, err := interruptible(ctx, func() ([]runner.ManifestFile, error) {
				var files []runner.ManifestFile
				for _, file := range args {
					f, err := a.readManifests(file)
					if err != nil {
						return nil, err
					}
					files = append(files, f)
				}
				return files, nil
			})
			if err != nil {
				return err
			}
			if err := interruptibleErr(ctx, func() error { return r.ApplyRendered(ctx, files) }); err != nil {
				return err
			}
			return a.observe(ctx, r, "apply")
		},
	}
	deployFlags(cmd.Flags(), dopts)
	addIgnoredFlags(cmd.Flags(), "apply")
	return cmd
}

// readManifests reads a file of rendered manifests ("-": stdin).
func (a *app) readManifests(file string) (runner.ManifestFile, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(a.streams.In)
		file = "<stdin>"
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return runner.ManifestFile{}, fmt.Errorf("reading manifests: %w", err)
	}
	return runner.ManifestFile{Name: file, Data: data}, nil
}

func (a *app) newDeleteCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete everything the project deployed and wait until it is gone",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.loadConfig(cmd.Context(), "delete")
			if err != nil {
				return err
			}
			opts := a.engineOptions(p)
			opts.DeleteDryRun = dryRun
			return runner.New(opts).Delete(cmd.Context(), 0)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be deleted and delete nothing")
	addIgnoredFlags(cmd.Flags(), "delete")
	return cmd
}

// prebuiltImages returns the images commands that do not build deploy.
func (a *app) prebuiltImages(ctx context.Context, r *runner.Runner, src *ImageSource) ([]artifact.Image, error) {
	var out []artifact.Image
	if src.BuildArtifacts != "" {
		imgs, err := a.readBuildOutput(ctx, src.BuildArtifacts)
		if err != nil {
			return nil, err
		}
		out = imgs
	}
	for _, s := range src.Images {
		name, ref, ok := strings.Cut(s, "=")
		if !ok {
			ref, name = s, runner.Repository(s)
		}
		if name == "" || ref == "" {
			return nil, fmt.Errorf("--images %q: use a reference (web:v1) or name=reference", s)
		}
		out = append(out, artifact.Image{Name: name, Ref: ref})
	}
	if src.BuildArtifacts != "" || len(src.Images) > 0 {
		return out, nil
	}
	return r.Tags(ctx, src.Tag, false)
}

// readBuildOutput reads the images of a build output (skiff build -q or
// --file-output) from file, "-" for standard input.
func (a *app) readBuildOutput(ctx context.Context, file string) ([]artifact.Image, error) {
	// Reading stdin waits for its writer: Ctrl-C must still stop skiff.
	data, err := interruptible(ctx, func() ([]byte, error) {
		if file == "-" {
			return io.ReadAll(io.LimitReader(a.streams.In, maxBuildOutput+1))
		}
		return os.ReadFile(file)
	})
	name := file
	if file == "-" {
		name = "standard input"
	}
	if err != nil {
		return nil, fmt.Errorf("reading --build-artifacts from %s: %w", name, err)
	}
	if len(data) > maxBuildOutput {
		return nil, fmt.Errorf("--build-artifacts: %s holds more than %d bytes; a build output is much smaller", name, maxBuildOutput)
	}
	var out BuildOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("--build-artifacts: %s is not a build output (skiff build -q or --file-output: {\"builds\":[{\"imageName\":...,\"tag\":...}]}): %w", name, err)
	}
	for i, b := range out.Builds {
		if b.ImageName == "" || b.Tag == "" {
			return nil, fmt.Errorf("--build-artifacts: %s: builds[%d] needs both imageName and tag", name, i)
		}
	}
	return out.images(), nil
}

// maxBuildOutput bounds what --build-artifacts reads.
const maxBuildOutput = 16 << 20
