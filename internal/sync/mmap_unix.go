//go:build unix

package sync

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile returns the first size bytes of f, mapped read-only: a hot
// swap's executables are diffed in place, in the page cache, instead of
// being copied into the heap, whose Go garbage collector would
// keep twice their size resident. The file must not change while it is
// mapped (a swap file is replaced by a rename, never rewritten).
func mapFile(f *os.File, size int64) (mapping, error) {
	if size == 0 {
		return mapping{}, nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return mapping{}, fmt.Errorf("mapping %s: %w", f.Name(), err)
	}
	return mapping{data: b, mapped: true}, nil
}

// release unmaps the content; it must not be read afterwards.
func (m mapping) release() {
	if m.mapped {
		_ = syscall.Munmap(m.data)
	}
}

// dupFile returns a new descriptor of f's file, which stays valid when
// f is closed or its path replaced.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("keeping %s open: %w", f.Name(), err)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}
