package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/internal/config"
)

// Exit codes of Main, one convention for every command (docs/cli.md):
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitFailure: the command failed (a build, a deploy, a config that
	// does not load, the cluster).
	ExitFailure = 1
	// ExitUsage: the command line is not one skiff runs: an unknown
	// command or flag, a bad flag value, missing arguments, or a Skaffold
	// command skiff does not have (yet).
	ExitUsage = 2
)

// usageError is a UsageError for cmd, whose help Main points to.
func usageError(cmd *cobra.Command, format string, args ...any) *UsageError {
	return &UsageError{Command: commandName(cmd), Err: fmt.Errorf(format, args...)}
}

// commandName is cmd's path without "skiff " ("" for the root).
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
}

// NotInSkiffError is a command of Skaffold that skiff does not have; it
// says what to use instead. Main exits with ExitUsage.
type NotInSkiffError struct {
	Command string
	// Instead says why the command is missing and what to use.
	Instead string
}

func (e *NotInSkiffError) Error() string {
	return fmt.Sprintf("skiff has no %q command (Skaffold has): %s", e.Command, e.Instead)
}

// unknownCommand is the error for an argument of parent that names no
// command, with the commands it may have meant.
func unknownCommand(parent *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, parent.CommandPath())
	if parent.SuggestionsMinimumDistance <= 0 {
		parent.SuggestionsMinimumDistance = 2
	}
	if s := parent.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + orList(s) + "?"
	} else {
		var names []string
		for _, c := range parent.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		msg += "; the commands are: " + strings.Join(names, ", ")
	}
	return usageError(parent, "%s", msg)
}

// runGroup is the RunE of a command that only groups others (the root,
// schema, inspect): without arguments it prints its help; an argument
// names an unknown command.
func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return unknownCommand(cmd, args[0])
	}
	return cmd.Help()
}

// flagError turns a flag parsing error into a UsageError, with the flags
// that cmd has whose name is close to an unknown one.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := flagSuggestions(cmd, name); len(s) > 0 {
			msg += "; did you mean " + orList(s) + "?"
		}
	}
	return &UsageError{Command: commandName(cmd), Err: errors.New(msg)}
}

// flagSuggestions are cmd's visible flags whose name is within two edits
// of name, or starts with it or it with them, as "--flag".
func flagSuggestions(cmd *cobra.Command, name string) []string {
	var out []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		if config.EditDistance(f.Name, name) <= 2 || (len(name) >= 3 && (strings.HasPrefix(f.Name, name) || strings.HasPrefix(name, f.Name))) {
			out = append(out, "--"+f.Name)
		}
	})
	slices.Sort(out)
	return out
}

// orList joins names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// newHelpCmd is `skiff help [command]`; an unknown command is a usage
// error with suggestions, not a usage text and exit 0.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			target := root
			for _, name := range args {
				next := findSub(target, name)
				if next == nil {
					return unknownCommand(target, name)
				}
				target = next
			}
			return target.Help()
		},
	}
}

// findSub is parent's subcommand called name (or aliased so), or nil.
func findSub(parent *cobra.Command, name string) *cobra.Command {
	for _, c := range parent.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}
