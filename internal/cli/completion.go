package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a shell completion script. For example:
  source <(skiff completion bash)
  skiff completion zsh > "${fpath[1]}/_skiff"
  skiff completion fish | source`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("name one shell: bash, zsh or fish")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.streams.Out, true)
			case "zsh":
				return root.GenZshCompletion(a.streams.Out)
			case "fish":
				return root.GenFishCompletion(a.streams.Out, true)
			}
			return &UsageError{Command: commandName(cmd), Err: fmt.Errorf("unsupported shell %q: use bash, zsh or fish", args[0])}
		},
	}
}
