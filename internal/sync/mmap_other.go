//go:build !unix

package sync

import (
	"fmt"
	"io"
	"os"
)

// mapFile returns the first size bytes of f, read into memory (this
// system has no mmap here).
func mapFile(f *os.File, size int64) (mapping, error) {
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return mapping{}, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return mapping{data: b}, nil
}

// release does nothing: the content is the garbage collector's.
func (m mapping) release() {}

// dupFile returns f's file opened again by its name.
func dupFile(f *os.File) (*os.File, error) {
	return os.Open(f.Name())
}
