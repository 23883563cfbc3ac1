package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// maxFilterInput bounds the manifests skiff filter reads from stdin.
const maxFilterInput = 64 << 20

func (a *app) newFilterCmd() *cobra.Command {
	src := &ImageSource{}
	dopts := &DeployOptions{}
	cmd := &cobra.Command{
		Use:   "filter",
		Short: "Read manifests on stdin and write them with skiff's image replacement and labels (a Helm post-renderer)",
		Long: `Read Kubernetes manifests on standard input and write them to standard output
as skiff render would leave them: the images of -a (a build output) or
--images replaced, skiff's labels and -l's added, -n's namespace set. It builds
nothing, and without -a or --images it uses the tags the tag policy computes.
Use it as a Helm post-renderer:
  helm install web ./chart --post-renderer skiff --post-renderer-args filter`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if src.BuildArtifacts == "-" {
				return usageError(cmd, "filter reads the manifests on standard input: give -a a file")
			}
			ctx := cmd.Context()
			r, err := a.engineFor(cmd, "filter", dopts)
			if err != nil {
				return err
			}
			imgs, err := a.prebuiltImages(ctx, r, src)
			if err != nil {
				return err
			}
			data, err := interruptible(ctx, func() ([]byte, error) {
				return io.ReadAll(io.LimitReader(a.streams.In, maxFilterInput+1))
			})
			if err != nil {
				return fmt.Errorf("reading the manifests from standard input: %w", err)
			}
			if len(data) > maxFilterInput {
				return fmt.Errorf("the manifests on standard input are larger than %d bytes", maxFilterInput)
			}
			out, err := r.Filter("<stdin>", data, imgs)
			if err != nil {
				return err
			}
			_, err = a.streams.Out.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	imageFlags(f, src)
	labelFlag(f, dopts)
	addIgnoredFlags(f, "filter")
	return cmd
}
