//go:build !unix

package sync

import (
	"fmt"
	"io"
	"os"
)

// mapFile returns the first size bytes of f, read into memory (this
// system has no mmap here), and a release that does nothing.
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return b, func() {}, nil
}

// dupFile returns f's file opened again by its name.
func dupFile(f *os.File) (*os.File, error) {
	return os.Open(f.Name())
}
