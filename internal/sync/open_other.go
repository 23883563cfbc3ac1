//go:build !unix

package sync

// openFlags open a Write's source; this system has no FIFOs to guard
// against, and the file was checked not to be a symbolic link.
const openFlags = 0
