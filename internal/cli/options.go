package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) newOptionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "options",
		Short: "List the options every command takes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.streams.Out, "The following options can be passed to any command:\n\n%s", cmd.Root().PersistentFlags().FlagUsages())
			return nil
		},
	}
}
