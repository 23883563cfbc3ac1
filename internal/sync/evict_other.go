//go:build !linux

package sync

// evict does nothing here: the pages a mapping has read stay resident
// until it is released.
func (m mapping) evict(from, to int) {}
