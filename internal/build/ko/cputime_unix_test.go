//go:build unix

package ko

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) of the process and of the
// children it has waited for (go build and its compiler and linker): a
// busy machine disturbs it less than wall-clock time.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return 0
	}
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
