package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) newTestCmd() *cobra.Command {
	src := &ImageSource{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the custom tests (test[].custom) on images built earlier",
		Long: `Run each test[].custom command of the images built earlier (from -a,
--images, or the tags the tag policy computes now), as skiff build, run and
dev do after building unless --skip-tests: with sh -c in the test's context
directory, IMAGE set to the image's reference and TEST_CONTEXT to that
directory, stopped after its timeoutSeconds. The first failure fails the
command. test[].structureTests need container-structure-test, which skiff
does not run: such a config is refused before anything runs.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := a.loadConfig(ctx, "test")
			if err != nil {
				return err
			}
			r := a.newEngine(p)
			if err := r.Check("test"); err != nil {
				return err
			}
			imgs, err := a.prebuiltImages(ctx, r, src)
			if err != nil {
				return err
			}
			return r.Test(ctx, imgs)
		},
	}
	f := cmd.Flags()
	imageFlags(f, src)
	f.StringVarP(&a.global.globalConfig, "config", "c", "", globalConfigUsage)
	addIgnoredFlags(f, "test")
	return cmd
}
