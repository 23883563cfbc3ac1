//go:build lean

package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/render"
)

// FullEngine is the engine, next to this one, that links Helm.
const FullEngine = "skiff-engine-full"

// handOff runs the command line in FullEngine, in place of this process
// (exec, same arguments and environment), when p renders or deploys with
// Helm, which this engine, built with the lean tag, leaves out to stay
// small: the memory of a dev session follows the size of the executable.
// It returns only when it cannot, or for other projects.
func (a *app) handOff(p *config.Project) error {
	what := render.FullEngineFeature(p.Configs)
	if what == "" {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("%s needs %s, which has Helm: finding this executable: %w", what, FullEngine, err)
	}
	full := filepath.Join(filepath.Dir(self), FullEngine)
	err = syscall.Exec(full, append([]string{full}, a.args...), a.environ)
	return fmt.Errorf("%s needs %s, which has Helm: %w (reinstall skiff: make build puts it next to %s)", what, full, err, self)
}
