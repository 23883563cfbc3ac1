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
