package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/runner"
)

// globalConfigCommands are the commands that take --config (-c), the
// global config file, as in Skaffold; every command that loads a project
// reads the file.
var globalConfigCommands = []string{"run", "dev", "debug", "build", "deploy", "delete", "diagnose", "apply"}

const globalConfigUsage = "the global config file (default ~/.skaffold/config)"

// addGlobalConfigFlags gives globalConfigCommands their --config flag.
func (a *app) addGlobalConfigFlags(root *cobra.Command) {
	for _, c := range root.Commands() {
		if slices.Contains(globalConfigCommands, c.Name()) {
			c.Flags().StringVarP(&a.global.globalConfig, "config", "c", "", globalConfigUsage)
		}
	}
}

// globalConfigFile is the global config file: --config (or
// SKAFFOLD_CONFIG), else ~/.skaffold/config under the environment's HOME;
// "" when neither is known.
func (a *app) globalConfigFile() string {
	if a.global.globalConfig != "" {
		return a.global.globalConfig
	}
	if home := environValue(a.environ, "HOME"); home != "" {
		return config.GlobalConfigFile(home)
	}
	return ""
}

// environValue is name's value in environ, "" when unset.
func environValue(environ []string, name string) string {
	for _, kv := range slices.Backward(environ) {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// applyGlobalConfig sets p's user settings from the global config, for
// the kube context skiff works with: --kube-context, else
// deploy.kubeContext, else the kubeconfig's current context (none: the
// global values), as Skaffold picks it.
func (a *app) applyGlobalConfig(p *config.Project) error {
	path := a.globalConfigFile()
	if path == "" {
		return nil
	}
	g, err := config.ReadGlobalConfig(path)
	if err != nil {
		return err
	}
	kubeContext := a.global.kubeContext
	if kubeContext == "" {
		kubeContext = p.KubeContext()
	}
	if kubeContext == "" && len(g.KubeContexts) > 0 {
		if kubeContext, err = runner.CurrentKubeContext(a.global.kubeconfig); err != nil {
			kubeContext = ""
		}
	}
	if p.User, err = g.ForContext(kubeContext); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// configOptions are the flags of skiff config's commands.
type configOptions struct {
	file        string
	kubeContext string
	global      bool
	all         bool
}

func (a *app) newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Read and change the global config (~/.skaffold/config), Skaffold's per-user settings",
		Long: `The global config holds per-user settings, as Skaffold's: under global:
for every kube context, and under kubeContexts: for the contexts an entry's
kube-context names (exactly, or as a regular expression). A context's own
value wins over the global one; a flag (--default-repo) or its SKAFFOLD_*
variable wins over both. The keys: ` + strings.Join(config.GlobalConfigKeys(), ", ") + `.`,
		Args: cobra.ArbitraryArgs,
		RunE: runGroup,
	}
	cmd.AddCommand(a.newConfigListCmd(), a.newConfigSetCmd(), a.newConfigUnsetCmd())
	return cmd
}

// addConfigFlags adds the flags skiff config's commands share.
func addConfigFlags(f *pflag.FlagSet, o *configOptions, edits bool) {
	f.StringVarP(&o.file, "config", "c", "", globalConfigUsage)
	f.StringVarP(&o.kubeContext, "kube-context", "k", "", "the kube context whose entry to use (default the current context)")
	if edits {
		f.BoolVarP(&o.global, "global", "g", false, "change the global values, which apply to every kube context")
	}
}

func (a *app) newConfigListCmd() *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the global config's entry for the kube context (--all: the whole file)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.configPath(o)
			if err != nil {
				return err
			}
			var entry *config.ConfigEntry
			if !o.all {
				e := a.configEntry(o)
				entry = &e
			}
			out, err := config.GlobalConfigYAML(path, entry)
			if err != nil {
				return err
			}
			if len(out) == 0 {
				what := "nothing"
				if entry != nil {
					what = "no entry for " + entry.String()
				}
				a.log.Infof("the global config %s has %s", path, what)
				return nil
			}
			fmt.Fprintf(a.streams.Out, "skiff config: %s\n%s", path, out)
			return nil
		},
	}
	addConfigFlags(cmd.Flags(), o, false)
	cmd.Flags().BoolVarP(&o.all, "all", "a", false, "print the whole file: the global values and every kube context's")
	return cmd
}

func (a *app) newConfigSetCmd() *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Set a value in the global config, for the kube context or (--global) for all",
		Long: `Sets KEY to VALUE in the global config's entry for the kube context (-k, else
the current context), or in its global values (--global, or when there is no
current context). insecure-registries gets VALUE added. The keys: ` + strings.Join(config.GlobalConfigKeys(), ", ") + `.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError(cmd, "skiff config set takes a KEY and a VALUE, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.configPath(o)
			if err != nil {
				return err
			}
			e := a.configEntry(o)
			if err := config.SetGlobalValue(path, e, args[0], args[1]); err != nil {
				return err
			}
			if e.Global {
				fmt.Fprintf(a.streams.Out, "set global value %s to %s\n", args[0], args[1])
			} else {
				fmt.Fprintf(a.streams.Out, "set value %s to %s for context %s\n", args[0], args[1], e.KubeContext)
			}
			return nil
		},
	}
	addConfigFlags(cmd.Flags(), o, true)
	return cmd
}

func (a *app) newConfigUnsetCmd() *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:   "unset KEY",
		Short: "Remove a value from the global config, for the kube context or (--global) for all",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "skiff config unset takes a KEY, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.configPath(o)
			if err != nil {
				return err
			}
			e := a.configEntry(o)
			if err := config.UnsetGlobalValue(path, e, args[0]); err != nil {
				return err
			}
			if e.Global {
				fmt.Fprintf(a.streams.Out, "unset global value %s\n", args[0])
			} else {
				fmt.Fprintf(a.streams.Out, "unset value %s for context %s\n", args[0], e.KubeContext)
			}
			return nil
		},
	}
	addConfigFlags(cmd.Flags(), o, true)
	return cmd
}

// configPath is the file skiff config reads and writes: --config, else
// ~/.skaffold/config.
func (a *app) configPath(o *configOptions) (string, error) {
	if o.file != "" {
		return o.file, nil
	}
	if path := a.globalConfigFile(); path != "" {
		return path, nil
	}
	return "", errors.New("no home directory (HOME is unset) to find ~/.skaffold/config in; pass --config FILE")
}

// configEntry is the entry skiff config addresses: --global, else -k's
// context, else the current context; with no current context, the global
// values, as in Skaffold.
func (a *app) configEntry(o *configOptions) config.ConfigEntry {
	if o.global {
		return config.ConfigEntry{Global: true}
	}
	if o.kubeContext != "" {
		return config.ConfigEntry{KubeContext: o.kubeContext}
	}
	ctx, err := runner.CurrentKubeContext(a.global.kubeconfig)
	if err != nil {
		a.log.Warnf("finding the current kube context: %v; using the global values", err)
	}
	if ctx == "" {
		return config.ConfigEntry{Global: true}
	}
	return config.ConfigEntry{KubeContext: ctx}
}
