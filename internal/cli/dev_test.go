package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestDevRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--trigger=sometimes"}, `--trigger=sometimes: use notify, polling or manual`},
		{[]string{"dev", "--watch-poll-interval=0"}, `--watch-poll-interval=0: it must be a positive number`},
	} {
		_, _, err := run(t, nil, tc.args...)
		var usage *UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("skiff %s: got %v, want a usage error containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestDevReadsFlagsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, []string{"SKAFFOLD_TRIGGER=sometimes"}, "dev")
	if err == nil || !strings.Contains(err.Error(), "--trigger=sometimes") {
		t.Fatalf("SKAFFOLD_TRIGGER=sometimes: got %v, want the trigger rejected", err)
	}
}

// The --port-forward help of dev, debug and run names the debug mode,
// and debug's shows its default.
func TestPortForwardHelpNamesDebug(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"dev", "debug", "run"} {
		out, _, err := run(t, nil, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		var line string
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "--port-forward") {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("skiff %s --help has no --port-forward flag:\n%s", cmd, out)
		}
		if !strings.Contains(line, "debug (skiff debug's debug ports)") || !strings.Contains(line, "next free one") {
			t.Errorf("skiff %s --help: %q; want the debug mode and the next free port named", cmd, line)
		}
		if cmd == "debug" && !strings.Contains(line, "(default [user,debug])") {
			t.Errorf("skiff debug --help: %q; want the default user,debug", line)
		}
	}
}
