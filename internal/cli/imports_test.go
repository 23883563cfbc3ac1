package cli

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// The CLI parses flags into options and calls the engine (internal/runner);
// it imports no builder, no Docker or Kubernetes client and no watcher
// (issue 12). A new import of skiff's own packages has to be added here on
// purpose.
func TestCLIImportsOnlyTheEngine(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{
		// The HTTP API (--rpc-http-port), which the CLI starts on the
		// session's event stream and the engine's runner.Control.
		"skiff.dev/skiff/internal/api",
		"skiff.dev/skiff/internal/artifact",
		"skiff.dev/skiff/internal/config",
		"skiff.dev/skiff/internal/config/upgrade",
		// skiff init writes a config: it analyzes files, it runs no stage.
		"skiff.dev/skiff/internal/config/initconfig",
		// The session's event stream, which the CLI opens and hands to
		// the engine (--event-log-file, later the event API).
		"skiff.dev/skiff/internal/event",
		"skiff.dev/skiff/internal/fsutil",
		"skiff.dev/skiff/internal/log",
		"skiff.dev/skiff/internal/output",
		"skiff.dev/skiff/internal/runner",
		// The web dashboard (--ui), which the CLI adds to the API's server.
		"skiff.dev/skiff/internal/ui",
		"skiff.dev/skiff/internal/version",
	}
	// Client libraries, the file watcher and image libraries belong to
	// the engine's stages.
	forbidden := []string{
		"k8s.io/client-go", "k8s.io/apimachinery", "k8s.io/api/",
		"github.com/moby/moby", "github.com/docker/",
		"github.com/google/go-containerregistry",
		"github.com/fsnotify",
		"helm.sh/", "sigs.k8s.io/kustomize",
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "skiff.dev/") && !slices.Contains(allowed, imp) {
			t.Errorf("internal/cli imports %s; the CLI may only call the engine (internal/runner) and %v", imp, allowed)
		}
		for _, f := range forbidden {
			if strings.HasPrefix(imp, f) {
				t.Errorf("internal/cli imports %s, a client or stage library: that belongs to the engine", imp)
			}
		}
	}
}
