package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) newTestCmd() *cobra.Command {
	src := &ImageSource{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the tests (test[]) on images built earlier",
		Long: `Run the tests of the images built earlier (from -a, --images, or the
tags the tag policy computes now), as skiff build, run and dev do after
building unless --skip-tests. For each test case, its structureTests first:
container-structure-test (from PATH) runs on the image, pulled into the
local Docker daemon when it was pushed, with the files the patterns match
and structureTestsArgs. Then each test[].custom command, with sh -c in the
test's context directory, IMAGE set to the image's reference and
TEST_CONTEXT to that directory, stopped after its timeoutSeconds. The
first failure fails the command. Structure tests without
container-structure-test on PATH are refused before anything runs.`,
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

func (a *app) newVerifyCmd() *cobra.Command {
	src := &ImageSource{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Run the verify tests (verify[]) to completion on the Docker Engine or as Kubernetes Jobs",
		Long: `Run each verify[] container to completion, one after the other, its output
prefixed with the test's name: on the local Docker Engine (Skaffold's local
execution mode), or with executionMode.kubernetesCluster as a Kubernetes Job
named after the test in the deploy namespace (-n), made from jobManifestPath
and overrides as Skaffold makes it and deleted afterwards. A container whose
image names an artifact runs the image built earlier (from -a, --images, or
the tags the tag policy computes now); a Job's image must be in a registry the
cluster pulls from (skiff build --push). Every test runs; the command fails
when any exits non-zero or outlives its timeout, naming it and its exit code.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := a.loadConfig(ctx, "verify")
			if err != nil {
				return err
			}
			r := a.newEngine(p)
			if err := r.Check("verify"); err != nil {
				return err
			}
			imgs, err := a.prebuiltImages(ctx, r, src)
			if err != nil {
				return err
			}
			return r.Verify(ctx, imgs)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&src.BuildArtifacts, "build-artifacts", "a", "", "the build output of skiff build (--file-output, or -q's standard output): a file, or - for standard input")
	f.StringSliceVarP(&src.Images, "images", "i", nil, "images to verify with, as references (web:v1) or name=reference")
	addIgnoredFlags(f, "verify")
	return cmd
}

func (a *app) newExecCmd() *cobra.Command {
	src := &ImageSource{}
	cmd := &cobra.Command{
		Use:   "exec ACTION",
		Short: "Run a custom action (customActions[]) on the Docker Engine or as Kubernetes Jobs",
		Long: `Run the containers of the custom action ACTION at once and to completion,
each one's output prefixed with its name: on the local Docker Engine (Skaffold's
local execution mode), or with executionMode.kubernetesCluster each as a
Kubernetes Job named after the container in the deploy namespace (-n), made
from jobManifestPath and overrides as Skaffold makes it and deleted afterwards.
A container whose image names an artifact runs the image built earlier (from
-a, --images, or the tags the tag policy computes now). With failFast (the
default) the first container that fails stops the others; the action's
timeout bounds each container.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "skiff exec takes the name of one custom action, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := a.loadConfig(ctx, "exec")
			if err != nil {
				return err
			}
			r := a.newEngine(p)
			imgs, err := a.prebuiltImages(ctx, r, src)
			if err != nil {
				return err
			}
			return r.Exec(ctx, args[0], imgs)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&src.BuildArtifacts, "build-artifacts", "a", "", "the build output of skiff build (--file-output, or -q's standard output): a file, or - for standard input")
	f.StringSliceVarP(&src.Images, "images", "i", nil, "images for the action, as references (web:v1) or name=reference")
	addIgnoredFlags(f, "exec")
	return cmd
}
