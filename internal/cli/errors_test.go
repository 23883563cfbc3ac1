package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// main runs Main and returns its exit code and what it printed.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	return code, out.String(), errOut.String()
}

// One exit code convention: 2 for every command line skiff does not run
// (unknown command or flag, with what was meant; a command only Skaffold
// has, with what to use), 0 for help.
func TestUsageErrorsExitTwoAndSuggest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"rnu"}, []string{`unknown command "rnu" for "skiff"; did you mean run?`, "Run 'skiff --help' for usage."}},
		{[]string{"rnu", "--tail"}, []string{`unknown command "rnu"`, "did you mean run?"}},
		{[]string{"-v", "info", "rnu"}, []string{`unknown command "rnu"`, "did you mean run?"}},
		{[]string{"help", "rnu"}, []string{`unknown command "rnu" for "skiff"; did you mean run?`}},
		{[]string{"help", "schema", "gte"}, []string{`unknown command "gte" for "skiff schema"; did you mean get?`}},
		{[]string{"schema", "lsit"}, []string{`unknown command "lsit" for "skiff schema"; did you mean list?`, "Run 'skiff schema --help' for usage."}},
		{[]string{"run", "--tial"}, []string{"unknown flag: --tial; did you mean --tag or --tail?", "Run 'skiff run --help' for usage."}},
		{[]string{"build", "--pussh"}, []string{"unknown flag: --pussh; did you mean --push?"}},
		{[]string{"schema", "get", "--bogus"}, []string{"unknown flag: --bogus", "Run 'skiff schema get --help' for usage."}},
		{[]string{"exec"}, []string{"skiff exec takes the name of one custom action, got 0 arguments", "Run 'skiff exec --help' for usage."}},
	} {
		code, _, stderr := runMain(t, tc.args...)
		if code != ExitUsage {
			t.Errorf("%v exited %d, want %d\n%s", tc.args, code, ExitUsage, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, stderr)
			}
		}
	}
	for _, args := range [][]string{{"help", "run"}, {"run", "--help"}, {}, {"schema"}} {
		code, out, stderr := runMain(t, args...)
		if code != ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%v exited %d with stdout %q, stderr %q; want help and 0", args, code, out, stderr)
		}
	}
}
