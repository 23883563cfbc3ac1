package cli

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md and internal/front/help.txt")

// docsFile is the generated command-line reference.
const docsFile = "../../docs/cli.md"

// rootHelpFile is the top-level help the skiff executable prints without
// the engine (internal/front).
const rootHelpFile = "../front/help.txt"

// docs/cli.md is what writeDocs makes of the commands, and
// internal/front/help.txt is `skiff --help`: a new command or flag shows
// there, or this test fails (go test -run TestCLIDocs -update, or make
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
	for file, got := range map[string][]byte{docsFile: b.Bytes(), rootHelpFile: help.Bytes()} {
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
