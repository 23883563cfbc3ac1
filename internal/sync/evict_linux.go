package sync

import (
	"os"
	"syscall"
)

// evict lets go of the process's pages of the mapped content
// m.data[from:to], the whole pages in it: they leave the process's
// resident set, not the page cache, and reading them again maps them
// again. It does nothing to content in memory.
func (m mapping) evict(from, to int) {
	if !m.mapped {
		return
	}
	page := os.Getpagesize()
	from = (from + page - 1) / page * page
	if to < len(m.data) {
		to = to / page * page
	}
	if from < to {
		// Only a hint: a failure leaves the pages resident, nothing else.
		_ = syscall.Madvise(m.data[from:to], syscall.MADV_DONTNEED)
	}
}
