package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/upgrade"
)

func (a *app) newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Information about the skaffold.yaml schema versions skiff reads",
		Args:  cobra.ArbitraryArgs,
		RunE:  runGroup,
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
	get := &cobra.Command{
		Use:   "get VERSION",
		Short: "Print the JSON schema of skaffold.yaml (" + upgrade.Latest + ", the version skiff reads)",
		Long: `Print the JSON schema (draft-07) of skaffold.yaml in the newest apiVersion,
` + upgrade.Latest + `: every key skiff reads, with its type. Editors validate
skaffold.yaml with it. Older apiVersions are upgraded when read (skiff fix
shows how), so skiff keeps no schema of its own for them.`,
		Example: "  skiff schema get " + upgrade.Latest + " > skaffold-schema.json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("name the apiVersion, such as %s (skiff schema list lists them)", upgrade.Latest)}
			}
			v := args[0]
			if !strings.HasPrefix(v, "skaffold/") {
				v = "skaffold/" + v
			}
			if !slices.Contains(upgrade.Versions, v) {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("unknown apiVersion %q; skiff schema list lists those skiff reads", args[0])}
			}
			if v != upgrade.Latest {
				return fmt.Errorf("skiff has the JSON schema of %s only: it upgrades %s when reading it (skiff fix prints the upgraded config); ask for %s", upgrade.Latest, v, upgrade.Latest)
			}
			data, err := config.JSONSchema()
			if err != nil {
				return err
			}
			_, err = a.streams.Out.Write(append(data, '\n'))
			return err
		},
	}
	cmd.AddCommand(list, get)
	return cmd
}
