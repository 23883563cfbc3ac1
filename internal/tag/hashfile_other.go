//go:build !unix

package tag

import (
	"hash"
	"io"
	"os"
)

// hashContent writes the first size bytes of the regular file at path into
// h.
func hashContent(path string, size int64, h hash.Hash, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for size > 0 {
		n, err := f.Read(buf[:min(int64(len(buf)), size)])
		h.Write(buf[:n])
		size -= int64(n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
