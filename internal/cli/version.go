package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/version"
)

// outputFlag adds -o/--output (text or json) to cmd.
func outputFlag(cmd *cobra.Command, out *string) {
	cmd.Flags().StringVarP(out, "output", "o", "text", "output format: text or json")
}

func checkOutput(cmd *cobra.Command, out string) error {
	if out != "text" && out != "json" {
		return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("unknown --output %q: use text or json", out)}
	}
	return nil
}

func (a *app) newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print skiff's version, commit and Go version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			info := version.Get()
			if output == "json" {
				enc := json.NewEncoder(a.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			_, err := io.WriteString(a.streams.Out, info.Text())
			return err
		},
	}
	outputFlag(cmd, &output)
	return cmd
}
