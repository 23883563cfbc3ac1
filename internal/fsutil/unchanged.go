package fsutil

import (
	"io/fs"
	"os"
)

// Unchanged says whether a and b (either may be nil) describe the same
// file with the same size and modification time: what a reader of a and
// the reader of b may take as the same content, as long as the file is
// replaced rather than rewritten within the clock's resolution.
func Unchanged(a, b fs.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
