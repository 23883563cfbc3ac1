package cli

import (
	"bytes"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md and internal/front/help.txt")

// docsFile is the generated command-line reference.
const docsFile = "../../docs/cli.md"

// rootHelpFile is the top-level help the skiff executable prints without
// the engine (internal/front).
const rootHelpFile = "../front/help.txt"

// versionEnvFile lists the variables that could change what `skiff
// version` and `skiff` print: internal/front leaves those to the engine.
const versionEnvFile = "../front/env.txt"

// versionEnv is versionEnvFile's content: SKIFF_ and SKAFFOLD_ and the
// name of each flag of `skiff version` and of `skiff` (prepare reads
// them), and SKAFFOLD_DEPLOY_NAMESPACE (prepare warns of it), sorted.
func versionEnv() []byte {
	root := (&app{}).newRootCmd()
	var names []string
	add := func(f *pflag.Flag) {
		name := strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		names = append(names, "SKIFF_"+name, "SKAFFOLD_"+name)
	}
	for _, c := range []*cobra.Command{root, findSub(root, "version")} {
		c.Flags().VisitAll(add)
		c.InheritedFlags().VisitAll(add)
	}
	names = append(names, "SKAFFOLD_DEPLOY_NAMESPACE")
	slices.Sort(names)
	return []byte(strings.Join(slices.Compact(names), "\n") + "\n")
}

// docs/cli.md is what writeDocs makes of the commands,
// internal/front/help.txt is `skiff --help` and internal/front/env.txt
// versionEnv: a new command or flag shows there, or this test fails (go test -run TestCLIDocs -update, or make
// docs, rewrites them).
func TestCLIDocs(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeDocs(&b); err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	if err := Run(t.Context(), IOStreams{In: strings.NewReader(""), Out: &help, ErrOut: &help}, []string{"--help"}, WithEnviron(nil)); err != nil {
		t.Fatal(err)
	}
	for file, got := range map[string][]byte{docsFile: b.Bytes(), rootHelpFile: help.Bytes(), versionEnvFile: versionEnv()} {
		if *update {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (make docs writes it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with the commands: run make docs (go test ./internal/cli -run TestCLIDocs -update) and commit it", file)
		}
	}
}
