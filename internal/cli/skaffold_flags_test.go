package cli

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// skaffoldFlagsFile lists Skaffold v2.24's commands and flags; its header
// names the source.
const skaffoldFlagsFile = "testdata/skaffold-v2.24-flags.txt"

// skaffoldFlag is one flag line of skaffoldFlagsFile.
type skaffoldFlag struct {
	line               int
	command, name      string
	shorthand, def     string
	hiddenOrDeprecated string
}

// readSkaffoldCLI reads skaffoldFlagsFile.
func readSkaffoldCLI(t *testing.T) (commands []string, flags []skaffoldFlag) {
	t.Helper()
	f, err := os.Open(skaffoldFlagsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		switch {
		case fields[0] == "command" && len(fields) == 2:
			commands = append(commands, fields[1])
		case fields[0] == "flag" && (len(fields) == 5 || len(fields) == 6):
			fl := skaffoldFlag{line: n, command: fields[1], name: fields[2], shorthand: fields[3], def: fields[4]}
			if fl.shorthand == "-" {
				fl.shorthand = ""
			}
			if len(fields) == 6 {
				fl.hiddenOrDeprecated = fields[5]
			}
			flags = append(flags, fl)
		default:
			t.Fatalf("%s:%d: cannot read %q", skaffoldFlagsFile, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return commands, flags
}

// findCommand finds the command of path (space-separated, "" for the root)
// in a fresh command tree.
func findCommand(t *testing.T, path string) (*cobra.Command, bool) {
	t.Helper()
	root := (&app{}).newRootCmd()
	if path == "" {
		return root, true
	}
	cmd, rest, err := root.Find(strings.Fields(path))
	if err != nil || len(rest) > 0 || cmd == root || cmd.CommandPath() != "skiff "+path {
		return nil, false
	}
	return cmd, true
}

// Every command of Skaffold v2.24 is a command of skiff.
func TestSkaffoldCommandsExist(t *testing.T) {
	t.Parallel()
	commands, _ := readSkaffoldCLI(t)
	if len(commands) < 20 {
		t.Fatalf("%s lists %d commands; the file is truncated", skaffoldFlagsFile, len(commands))
	}
	for _, c := range commands {
		if _, ok := findCommand(t, c); !ok {
			t.Errorf("skiff has no command %q, which Skaffold v2.24 has", c)
		}
	}
}

// Every flag of Skaffold v2.24's commands that skiff has is accepted: by
// name, by its shorthand, and with Skaffold's default value as a value.
func TestSkaffoldFlagsAccepted(t *testing.T) {
	t.Parallel()
	_, flags := readSkaffoldCLI(t)
	if len(flags) < 400 {
		t.Fatalf("%s lists %d flags; the file is truncated", skaffoldFlagsFile, len(flags))
	}
	for _, fl := range flags {
		where := "skiff " + strings.TrimSpace(fl.command+" --"+fl.name)
		// A flag without a default is given "1", which every type of
		// flag parses.
		v := skaffoldValue(fl.def)
		if v == "" {
			v = "1"
		}
		args := []string{"--" + fl.name + "=" + v}
		cmd, ok := findCommand(t, fl.command)
		if !ok {
			t.Errorf("%s:%d: %s: no such command", skaffoldFlagsFile, fl.line, where)
			continue
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Errorf("%s:%d: %s rejects %v: %v", skaffoldFlagsFile, fl.line, where, args, err)
			continue
		}
		f := cmd.Flags().Lookup(fl.name)
		if f == nil {
			t.Errorf("%s:%d: %s: parsed but not found", skaffoldFlagsFile, fl.line, where)
			continue
		}
		if f.Shorthand != fl.shorthand {
			t.Errorf("%s:%d: %s has shorthand %q, Skaffold's is %q", skaffoldFlagsFile, fl.line, where, f.Shorthand, fl.shorthand)
		}
		if fl.hiddenOrDeprecated != "" && !f.Hidden {
			t.Errorf("%s:%d: %s is %s in Skaffold but shown in skiff's help", skaffoldFlagsFile, fl.line, where, fl.hiddenOrDeprecated)
		}
		if fl.hiddenOrDeprecated == "deprecated" && len(f.Annotations[annotationDeprecated]) == 0 {
			t.Errorf("%s:%d: %s is deprecated in Skaffold; skiff should say so when it is given", skaffoldFlagsFile, fl.line, where)
		}
	}
}

// skaffoldValue is a value to give a flag, from its default as Skaffold's
// help prints it: quotes removed; "" when there is none to give.
func skaffoldValue(def string) string {
	switch def {
	case "", "[]", "''":
		return ""
	}
	return strings.Trim(def, "'")
}

// Every flag of Skaffold v2.24's commands is also read from its
// SKAFFOLD_<FLAG> variable, as Skaffold reads it.
func TestSkaffoldFlagsFromEnvironment(t *testing.T) {
	t.Parallel()
	_, flags := readSkaffoldCLI(t)
	byCommand := map[string][]skaffoldFlag{}
	for _, fl := range flags {
		if fl.command != "" {
			byCommand[fl.command] = append(byCommand[fl.command], fl)
		}
	}
	for command, fls := range byCommand {
		var environ []string
		for _, fl := range fls {
			v := skaffoldValue(fl.def)
			if v == "" {
				v = "1"
			}
			switch fl.name {
			case "event-log-file":
				v = filepath.Join(t.TempDir(), "events.json") // the file is written
			case "rpc-port", "rpc-http-port":
				v = "0" // both APIs listen: on free ports, not both on 1
			}
			environ = append(environ, "SKAFFOLD_"+strings.ToUpper(strings.ReplaceAll(fl.name, "-", "_"))+"="+v)
		}
		a := &app{environ: environ, streams: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}}
		cmd, _, err := a.newRootCmd().Find(strings.Fields(command))
		if err != nil {
			t.Fatal(err)
		}
		cmd.SetContext(t.Context())
		if err := cmd.ParseFlags(nil); err != nil {
			t.Fatal(err)
		}
		if err := a.prepare(cmd, nil); err != nil {
			t.Errorf("skiff %s with %v: %v", command, environ, err)
			continue
		}
		if err := a.closeEvents(); err != nil {
			t.Errorf("skiff %s: %v", command, err)
		}
		for _, fl := range fls {
			if f := cmd.Flags().Lookup(fl.name); f == nil || !f.Changed {
				t.Errorf("skiff %s: SKAFFOLD_%s does not set --%s", command, strings.ToUpper(strings.ReplaceAll(fl.name, "-", "_")), fl.name)
			}
		}
	}
}
