//go:build unix

package sync

import "syscall"

// openFlags open a Write's source: O_NONBLOCK so that a FIFO that replaced
// the file since it was looked at does not block the open, O_NOFOLLOW so
// that a symbolic link does not get followed.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW
