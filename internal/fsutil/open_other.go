//go:build !unix

package fsutil

import "os"

// openNoBlock opens path for reading; ReadRegular has already refused
// anything but a regular file.
func openNoBlock(path string) (*os.File, error) {
	return os.Open(path)
}
