// Package front is the part of skiff that runs in the small skiff
// executable (cmd/skiff). Go runs the init of every package linked into an
// executable before main, and skiff's engine links about 500 (client-go,
// Helm, the registries' clients) whose inits take most of its ~30 ms start.
// So `skiff version` and skiff's top-level help, which need none of them,
// are answered here, byte for byte as the engine answers them; every other
// command line goes to skiff-engine, next to the skiff executable,
// unchanged (Exec).
package front

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/version"
)

// EngineName is the executable, next to skiff, that runs its commands.
const EngineName = "skiff-engine"

// RootHelp is the engine's `skiff --help`. make docs writes it from the
// engine's commands (internal/cli's TestCLIDocs -update), and TestCLIDocs
// fails when it is out of date.
//
//go:embed help.txt
var RootHelp string

// versionEnv lists the variables that could change what the engine
// answers to `skiff version` and `skiff`, one per line: SKIFF_ and
// SKAFFOLD_ and the name of each of their flags, which the engine reads
// from the environment. make docs writes it (TestCLIDocs).
//
//go:embed env.txt
var versionEnv string

// Answer writes to out what the engine would answer to args, when args is
// a command line the front answers itself, and reports whether it did:
//   - `skiff --help` and `skiff -h`: the top-level help;
//   - `skiff` and `skiff version`, when nothing could change what the
//     engine does before it answers: no variable in environ that sets one
//     of their flags (versionEnv; a bad value fails as a usage error) and
//     no skaffold.env in the working directory (the engine reads it into
//     the environment first).
//
// Everything else, such as `skiff version -o json` or `skiff help`, is the
// engine's.
func Answer(args, environ []string, out io.Writer) (bool, error) {
	switch {
	case len(args) == 1 && (args[0] == "--help" || args[0] == "-h"):
		_, err := io.WriteString(out, RootHelp)
		return true, err
	case len(args) == 0 && quiet(environ):
		_, err := io.WriteString(out, RootHelp)
		return true, err
	case len(args) == 1 && args[0] == "version" && quiet(environ):
		_, err := io.WriteString(out, version.Get().Text())
		return true, err
	}
	return false, nil
}

// quiet reports whether neither environ nor a skaffold.env in the working
// directory says anything to skiff.
func quiet(environ []string) bool {
	names := strings.Fields(versionEnv)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(names, name) {
			return false
		}
	}
	_, err := os.Lstat("skaffold.env")
	return errors.Is(err, os.ErrNotExist)
}

// Engine returns the path of skiff-engine next to the running executable.
func Engine() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding %s next to skiff: %w", EngineName, err)
	}
	engine := filepath.Join(filepath.Dir(self), EngineName)
	if _, err := os.Stat(engine); err != nil {
		return "", fmt.Errorf("skiff runs its commands in %s, which is not next to it: %w; build both with make build, or go install skiff.dev/skiff/cmd/skiff-engine into the directory of skiff", EngineName, err)
	}
	return engine, nil
}
