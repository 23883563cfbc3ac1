package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestTarTransportWithoutShell checks that a batch of deletions and writes
// runs rm and tar apart when the container has no sh, and that the error
// then names the program that is missing.
func TestTarTransportWithoutShell(t *testing.T) {
	t.Parallel()
	dir := localFiles(t, map[string]string{"a.js": "x"})
	ops := []Op{
		{Kind: Delete, Local: filepath.Join(dir, "old.js"), Dest: "/app/old.js", Root: "/app"},
		{Kind: Write, Local: filepath.Join(dir, "a.js"), Dest: "/app/a.js", Root: "/app"},
	}
	for _, tt := range []struct {
		name    string
		missing string
		want    []string // the commands' names
		err     string   // "" for none
	}{
		{"no sh", "sh", []string{"sh", "rm", "tar"}, ""},
		{"no sh nor rm", "sh rm", []string{"sh", "rm"}, "no rm in $PATH"},
		{"no tar", "tar", []string{"sh", "rm", "tar"}, "no tar in $PATH"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := &fakeExec{run: func(cmd []string, _ io.Reader, _, _ io.Writer) error {
				for _, m := range strings.Fields(tt.missing) {
					if cmd[0] == m || cmd[0] == "sh" && strings.Contains(cmd[2], m+" ") {
						if cmd[0] == "sh" {
							return &ExitError{Code: 127}
						}
						return fmt.Errorf("%w: exec: %q: executable file not found in $PATH", ErrNotFound, m)
					}
				}
				return nil
			}}
			err := (&TarTransport{Exec: fe}).Sync(context.Background(), target, ops)
			var names []string
			for _, c := range fe.cmds {
				names = append(names, c[0])
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("commands %q, want %q", names, tt.want)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("Sync() = %v", err)
			case tt.err != "" && (!errors.Is(err, ErrNoTar) || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("Sync() = %v, want ErrNoTar saying %q", err, tt.err)
			}
		})
	}
}
