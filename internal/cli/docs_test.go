package cli

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md")

// docsFile is the generated command-line reference.
const docsFile = "../../docs/cli.md"

// docs/cli.md is what writeDocs makes of the commands: a new command or
// flag shows there, or this test fails (go test -run TestCLIDocs -update,
// or make docs, rewrites it).
func TestCLIDocs(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeDocs(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(docsFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatalf("%v (make docs writes it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s is out of date with the commands: run make docs (go test ./internal/cli -run TestCLIDocs -update) and commit it", docsFile)
	}
}
