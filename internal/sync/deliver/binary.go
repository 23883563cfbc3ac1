package deliver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/version"
)

// EnvBinary is the environment variable that names the skiff-agent binary
// to deliver; the CLI reads it and passes it to FindBinary.
const EnvBinary = "SKIFF_AGENT"

// BinaryName is the agent's file name next to the skiff executable.
const BinaryName = "skiff-agent"

// FindBinary returns the path of the skiff-agent binary to deliver into
// pods: override when it is not empty (the value of $SKIFF_AGENT), else
// skiff-agent in the directory of the running skiff executable, where
// `make build` puts it. The error says how to get the agent.
func FindBinary(override string) (string, error) {
	if override != "" {
		if _, err := os.Stat(override); err != nil {
			return "", fmt.Errorf("%s=%s: %w; point it at a skiff-agent binary (make build writes bin/skiff-agent)", EnvBinary, override, fsutil.PathErr(err))
		}
		return override, nil
	}
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		return "", fmt.Errorf("finding skiff-agent next to skiff: %w; set %s to its path", err, EnvBinary)
	}
	return findNextTo(self)
}

// findNextTo returns skiff-agent in the directory of the executable self.
func findNextTo(self string) (string, error) {
	p := filepath.Join(filepath.Dir(self), BinaryName)
	if _, err := os.Stat(p); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("skiff-agent at %s: %w", p, fsutil.PathErr(err))
		}
		at := "latest"
		if c := version.Get().Commit; c != "" {
			at = c
		}
		return "", fmt.Errorf("skiff-agent is not next to skiff (no %s): skiff delivers it into pods to sync files into images without tar. "+
			"Build both with `make build` (bin/skiff and bin/skiff-agent), "+
			"or install it next to skiff: `GOBIN=%s CGO_ENABLED=0 go install skiff.dev/skiff/cmd/skiff-agent@%s` (on Linux), "+
			"or set %s to the path of a skiff-agent binary", p, filepath.Dir(self), at, EnvBinary)
	}
	return p, nil
}
