package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// writeDocs writes docs/cli.md: every command and flag of skiff, generated
// from the cobra commands, with the differences from Skaffold (the
// Skaffold commands skiff lacks and the flags that have no effect).
// TestCLIDocs keeps the file in sync.
func writeDocs(w io.Writer) error {
	a := &app{streams: IOStreams{In: os.Stdin, Out: io.Discard, ErrOut: io.Discard}}
	root := a.newRootCmd()
	d := &docWriter{w: w}
	d.p(docsHeader)
	d.p("## Exit codes\n\n")
	d.p("| Code | Meaning |\n|---|---|\n")
	d.p("| %d | The command did what it was asked. |\n", ExitOK)
	d.p("| %d | The command failed: a build, a deploy, a config that does not load, the cluster. |\n", ExitFailure)
	d.p("| %d | The command line is not one skiff runs: an unknown command or flag (with what was probably meant), a bad flag value, missing arguments, or a Skaffold command skiff does not have. |\n\n", ExitUsage)

	d.p("## Differences from Skaffold v2.24\n\n")
	d.p("Every flag of Skaffold v2.24's commands is accepted (internal/cli/testdata/skaffold-v2.24-flags.txt lists them; a test parses each). ")
	d.p("The same goes for their environment form: a flag not given on the command line is read from `SKIFF_<FLAG>`, then `SKAFFOLD_<FLAG>` (upper case, `-` as `_`), from the environment and then from `skaffold.env`.\n\n")
	d.p("Commands Skaffold has and skiff does not (they exit %d and say what to use):\n\n", ExitUsage)
	for _, c := range skaffoldOnly {
		d.p("- `%s`: %s.\n", c.name, c.instead)
	}
	d.p("\nFlags that skiff accepts but that change nothing in skiff; with `-v info` skiff says so when one is given:\n\n")
	d.p("| Flag | Commands | Why it has no effect |\n|---|---|---|\n")
	for _, fl := range ignoredFlags {
		// A flag with an effect in some of its commands is listed for
		// the others.
		cmds := slices.DeleteFunc(slices.Clone(fl.commands), func(c string) bool { return slices.Contains(fl.effectIn, c) })
		for i, c := range cmds {
			if c == "" {
				cmds[i] = "all"
			}
		}
		if len(fl.effectIn) > 0 && slices.Contains(fl.commands, "") {
			cmds[len(cmds)-1] += " but " + strings.Join(fl.effectIn, ", ")
		}
		note := fl.noEffect
		if fl.deprecated != "" {
			note += " (deprecated in Skaffold: " + fl.deprecated + ")"
		}
		d.p("| `--%s` | %s | %s |\n", fl.name, strings.Join(cmds, ", "), escapeCell(note))
	}
	d.p("\n")
	d.p(docsDifferences)

	d.p("## Global flags\n\nEvery command takes these (`skiff options` lists them too).\n\n")
	d.flags(root.PersistentFlags())
	d.p("## Commands\n\n")
	for _, c := range visibleCommands(root) {
		d.p("- [`%s`](#%s): %s\n", c.CommandPath(), anchor(c.CommandPath()), c.Short)
	}
	d.p("\n")
	for _, c := range visibleCommands(root) {
		d.command(c)
	}
	return d.err
}

// docWriter writes markdown, keeping the first error.
type docWriter struct {
	w   io.Writer
	err error
}

func (d *docWriter) p(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, format, args...)
	}
}

// visibleCommands are the commands under root that help shows, depth
// first, in name order.
func visibleCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			out = append(out, sub)
			walk(sub)
		}
	}
	walk(root)
	return out
}

func (d *docWriter) command(c *cobra.Command) {
	d.p("### %s\n\n%s\n\n", c.CommandPath(), c.Short)
	if c.Long != "" {
		d.p("%s\n\n", c.Long)
	}
	d.p("```\n%s\n```\n\n", c.UseLine())
	if c.Example != "" {
		d.p("Examples:\n\n```\n%s\n```\n\n", c.Example)
	}
	if c.HasAvailableLocalFlags() {
		d.flags(c.LocalFlags())
	}
	if c.HasAvailableSubCommands() {
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, "`"+sub.Name()+"`")
			}
		}
		d.p("Subcommands: %s.\n\n", strings.Join(names, ", "))
	}
}

// flags writes a table of fs's visible flags.
func (d *docWriter) flags(fs *pflag.FlagSet) {
	d.p("| Flag | Default | Environment | Description |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		name := "`--" + f.Name + "`"
		if f.Shorthand != "" {
			name = "`-" + f.Shorthand + "`, " + name
		}
		def := f.DefValue
		if def == "[]" || def == "" {
			def = ""
		} else {
			def = "`" + def + "`"
		}
		env := strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		d.p("| %s | %s | `SKIFF_%s`, `SKAFFOLD_%s` | %s |\n", name, def, env, env, escapeCell(f.Usage))
	})
	d.p("\n")
}

// escapeCell makes s safe in a markdown table cell.
func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// anchor is the markdown heading anchor of a command path.
func anchor(path string) string {
	return strings.ReplaceAll(strings.ToLower(path), " ", "-")
}

const docsHeader = `<!-- Generated by internal/cli (writeDocs) from skiff's commands; do not edit.
     Regenerate with: make docs (go test ./internal/cli -run TestCLIDocs -update) -->
# skiff's command line

skiff reads skaffold.yaml and takes Skaffold's commands and flags, so
command lines and scripts written for Skaffold v2.24 run unchanged; this
page lists every command and flag skiff has, and where skiff differs.

A minimal skaffold.yaml, for a project with a Dockerfile and manifests in
k8s/:

` + "```yaml" + `
apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: app
manifests:
  rawYaml: [k8s/*.yaml]
` + "```" + `

`

const docsDifferences = `Other differences:

- ` + "`skiff build`" + ` without ` + "`-q`" + ` or ` + "`-o`" + ` prints each built image's reference, one a
  line, after the progress; ` + "`-o json`" + ` is short for ` + "`-o '{{json .}}'`" + ` and ` + "`-o text`" + `
  prints the references. With ` + "`-q`" + `, as in Skaffold, only the build output
  (` + "`{{json .}}`" + ` by default, without a trailing newline) is printed, for
  ` + "`skiff deploy -a -`" + `.
- ` + "`-b`" + ` selects an artifact by its image name, or as in Skaffold every artifact
  whose image contains the name.
- ` + "`-l`" + ` labels go on every object and on its pods; skiff's own labels
  (` + "`app.kubernetes.io/managed-by`" + `, ` + "`skiff.dev/*`" + `) cannot be overridden.
- ` + "`--force`" + ` deletes and recreates an object that server-side apply cannot change
  in place (an immutable field), as ` + "`kubectl apply --force`" + ` would.
- ` + "`skiff inspect`" + ` prints the JSON of Skaffold's inspect list subcommands; the
  subcommands that edit skaffold.yaml are not in skiff.
- ` + "`skiff lint`" + ` reports what ` + "`skiff diagnose`" + ` finds (invalid config, features skiff
  does not implement, artifacts whose sources cannot be listed) with Skaffold's
  lint result fields; its rules are skiff's (` + "`SKIFF-*`" + `), not Skaffold's Dockerfile
  and manifest linters. It exits 1 when there is an error.
- ` + "`skiff schema get`" + ` prints the schema of the newest apiVersion only; older ones are
  upgraded when read (` + "`skiff fix`" + ` shows how).
- ` + "`run --cleanup`" + ` has no effect, as in Skaffold; ` + "`dev --render-only`" + ` is refused (use
  ` + "`skiff render`" + `); ` + "`run --render-only`" + ` works and warns that it is deprecated.

`
