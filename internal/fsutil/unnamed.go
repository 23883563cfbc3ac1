package fsutil

import (
	"fmt"
	"io"
	"os"
)

// UnnamedTemp creates a file in the temporary directory and removes its
// name at once, so that nothing is left behind whatever way the process
// ends: the file goes away when nothing references it any more (os.File's
// finalizer closes it) or the process ends. pattern is os.CreateTemp's;
// what says what the file is for, in errors ("an image layer").
func UnnamedTemp(pattern, what string) (*os.File, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, fmt.Errorf("making a temporary file for %s: %w (set TMPDIR to a writable directory)", what, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("making a temporary file for %s: %w", what, err)
	}
	return f, nil
}

// CountingWriter writes to W and counts the bytes written in N.
type CountingWriter struct {
	W io.Writer
	N int64
}

// Write implements io.Writer.
func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
