package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/upgrade"
	"skiff.dev/skiff/internal/fsutil"
)

// FixOptions are the inputs of `skiff fix`.
type FixOptions struct {
	File      string
	Overwrite bool
	// Output is a file to write the upgraded config to (-o).
	Output string
	// Version is the apiVersion to upgrade to; skiff upgrades only to the
	// newest.
	Version string
}

func (a *app) newFixCmd() *cobra.Command {
	opts := &FixOptions{}
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Print the config upgraded to the newest schema (" + upgrade.Latest + ")",
		Long: `Print the config upgraded to the newest schema (` + upgrade.Latest + `), comments kept.
With --overwrite, rewrite the file instead and keep the original as <file>.bak.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Version != upgrade.Latest {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("--version %s: skiff fix upgrades only to the newest apiVersion, %s", opts.Version, upgrade.Latest)}
			}
			if opts.Overwrite && opts.Output != "" {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("--overwrite rewrites the config file and -o writes another; give one")}
			}
			opts.File = a.global.filename
			return a.toFile(opts.Output, "fix -o", func(out io.Writer) error { return a.runFix(cmd.Context(), out, opts) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Overwrite, "overwrite", false, "rewrite the config file in place, keeping a backup as <file>.bak")
	f.StringVarP(&opts.Output, "output", "o", "", "write the upgraded config to this file instead of standard output")
	f.StringVar(&opts.Version, "version", upgrade.Latest, "the apiVersion to upgrade to (skiff upgrades only to the newest)")
	addIgnoredFlags(cmd.Flags(), "fix")
	return cmd
}

func (a *app) runFix(ctx context.Context, out io.Writer, opts *FixOptions) error {
	type fixed struct {
		file string
		data []byte
		res  *config.FixResult
	}
	// Reading and upgrading a config takes no context: Ctrl-C must
	// still stop skiff.
	f, err := interruptible(ctx, func() (fixed, error) {
		file, err := config.ResolveFile(opts.File)
		if err != nil {
			return fixed{}, err
		}
		data, err := config.ReadFile(file)
		if err != nil {
			return fixed{}, err
		}
		res, err := config.Fix(file, data)
		return fixed{file, data, res}, err
	})
	if err != nil {
		return err
	}
	file, data, res := f.file, f.data, f.res
	for _, n := range res.Notes {
		if msg, warn := upgrade.Warning(n); warn {
			a.log.Warnf("%s", msg)
		} else {
			a.log.Infof("%s", n)
		}
	}
	if !res.Changed() {
		fmt.Fprintf(a.streams.ErrOut, "%s is already at the newest apiVersion, %s\n", file, upgrade.Latest)
		if !opts.Overwrite {
			_, err := out.Write(data)
			return err
		}
		return nil
	}
	if !opts.Overwrite {
		_, err := out.Write(res.YAML)
		return err
	}
	backup := file + ".bak"
	if err := fsutil.WriteFileAtomic(backup, data, 0o644); err != nil {
		return fmt.Errorf("keeping a backup of %s: %w; the config was not changed", file, err)
	}
	if err := fsutil.WriteFileAtomic(file, res.YAML, 0o644); err != nil {
		return fmt.Errorf("rewriting %s: %w; the original is unchanged (backup in %s)", file, err, backup)
	}
	fmt.Fprintf(a.streams.ErrOut, "Upgraded %s to %s; the original is in %s\n", file, upgrade.Latest, backup)
	return nil
}
