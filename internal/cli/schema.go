package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/config/upgrade"
)

func (a *app) newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Information about the skaffold.yaml schema versions skiff reads",
	}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the apiVersions skiff reads, oldest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(a.streams.Out).Encode(map[string]any{"versions": upgrade.Versions, "latest": upgrade.Latest})
			}
			for _, v := range upgrade.Versions {
				fmt.Fprintln(a.streams.Out, v)
			}
			return nil
		},
	}
	outputFlag(list, &output)
	cmd.AddCommand(list)
	return cmd
}
