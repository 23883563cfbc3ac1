package agent

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Install copies the executable src to dest with mode 0755 through a
// temporary file in dest's directory and a rename, so dest is never a
// partly written program.
func Install(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp*")
	if err != nil {
		return fmt.Errorf("install %s: %w", dest, err)
	}
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("install %s: %w", dest, err)
	}
	return nil
}
