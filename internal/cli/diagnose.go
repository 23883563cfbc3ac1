package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/upgrade"
	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/version"
)

// DiagnoseOptions are the inputs of `skiff diagnose`.
type DiagnoseOptions struct {
	// YAMLOnly prints only the effective configuration.
	YAMLOnly bool
	// Output is a file to write to instead of standard output (-o).
	Output string
}

func (a *app) newDiagnoseCmd() *cobra.Command {
	opts := &DiagnoseOptions{}
	cmd := &cobra.Command{
		Use:   "diagnose",
		Short: "Show the effective configuration and what each artifact is built from",
		Long: `Show the effective configuration after upgrades, profiles and defaults, the
settings in effect (kube context, default repo, insecure registries, local
cluster, push, debug helpers registry) with where each comes from (flag,
environment, project, global config, default), and for each artifact its
context, builder (for buildpacks, the builder image) and number of
dependency files.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Summing up a config runs through its files; a huge one
			// takes long, and Ctrl-C must still stop skiff.
			ctx := cmd.Context()
			return a.toFile(opts.Output, "diagnose -o", func(out io.Writer) error {
				return interruptibleErr(ctx, func() error { return a.runDiagnose(ctx, out, opts) })
			})
		},
	}
	cmd.Flags().BoolVar(&opts.YAMLOnly, "yaml-only", false, "print only the effective configuration")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file instead of standard output")
	addIgnoredFlags(cmd.Flags(), "diagnose")
	return cmd
}

func (a *app) runDiagnose(ctx context.Context, out io.Writer, opts *DiagnoseOptions) error {
	p, err := a.loadConfig(ctx, "diagnose")
	if err != nil {
		return err
	}
	if !opts.YAMLOnly {
		if err := a.diagnoseSummary(ctx, out, p); err != nil {
			return err
		}
		fmt.Fprintln(out, "\nEffective configuration:")
	}
	docs := make([]any, len(p.Configs))
	for i, c := range p.Configs {
		docs[i] = &c.SkaffoldConfig
	}
	if err := config.WriteYAML(out, docs...); err != nil {
		return fmt.Errorf("printing the effective config: %w", err)
	}
	return nil
}

func (a *app) diagnoseSummary(ctx context.Context, out io.Writer, p *config.Project) error {
	fmt.Fprintf(out, "skiff version: %s\n", version.Get().Version)
	fmt.Fprintf(out, "Configuration version: %s\n", upgrade.Latest)
	fmt.Fprintf(out, "Number of configs: %d\n", len(p.Configs))
	for _, c := range p.Configs {
		profiles := "none"
		if len(c.ActiveProfiles) > 0 {
			profiles = fmt.Sprint(c.ActiveProfiles)
		}
		fmt.Fprintf(out, " - %s (%s): active profiles: %s\n", c.Name(), c.File, profiles)
	}
	a.diagnoseSettings(out, p)
	r := a.newEngine(p)
	arts := p.Artifacts()
	fmt.Fprintf(out, "Number of artifacts: %d\n", len(arts))
	for i, art := range arts {
		fmt.Fprintf(out, "\nArtifact %d: %s\n", i+1, art.ImageName)
		fmt.Fprintf(out, "  Builder: %s\n", art.BuilderType())
		if bp := art.BuildpackArtifact; bp != nil {
			fmt.Fprintf(out, "  Builder image: %s\n", bp.Builder)
			if bp.RunImage != "" {
				fmt.Fprintf(out, "  Run image: %s\n", bp.RunImage)
			}
		}
		fmt.Fprintf(out, "  Context: %s\n", art.Workspace)
		files, err := r.Dependencies(ctx, art)
		if err != nil {
			fmt.Fprintf(out, "  Dependencies: unknown (%v)\n", err)
			continue
		}
		fmt.Fprintf(out, "  Dependencies: %d files\n", len(files))
		for _, f := range files {
			a.log.Debugf("  %s: %s", art.ImageName, f)
		}
	}
	if unsupported := r.Unsupported(); len(unsupported) > 0 {
		fmt.Fprintln(out, "\nNot supported by skiff yet (commands that need these stop with an error):")
		for _, e := range unsupported {
			fmt.Fprintf(out, "  %s\n", e)
		}
	}
	return nil
}

// toFile runs write on standard output, or when file is given on a buffer
// that it then writes to file atomically (what, for errors, is the flag).
func (a *app) toFile(file, what string, write func(io.Writer) error) error {
	if file == "" {
		return write(a.streams.Out)
	}
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(file, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s %s: %w", what, file, err)
	}
	return nil
}
