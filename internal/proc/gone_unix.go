//go:build unix && !linux

package proc

// groupGone reports whether process group pgid has no process left.
func groupGone(pgid int) bool { return groupEmpty(pgid) }
