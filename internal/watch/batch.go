package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Batch is one delivery of changes: absolute, cleaned paths, sorted, each
// listed once, in the state they were in when the batch was made.
type Batch struct {
	// Changed lists files (and symlinks) that exist: created, written,
	// renamed into the tree or with changed mode. Directories are not
	// listed; the files in a new directory are.
	Changed []string
	// Removed lists paths that no longer exist: deleted or renamed away.
	// A removed directory is listed itself; the files that were in it may
	// or may not be listed too, depending on how it was removed.
	Removed []string
	// RemovedDirs lists the paths of Removed that were directories.
	RemovedDirs []string
}

// Empty reports whether b has no changes.
func (b Batch) Empty() bool { return len(b.Changed) == 0 && len(b.Removed) == 0 }

// changes is the set of paths changed since the last batch.
type changes map[string]pathChange

// pathChange is what is known of one changed path.
type pathChange struct {
	// dir says the path was known to be a directory, which matters for
	// the ignore predicate once it is gone.
	dir bool
	// created says the path's first event since the last batch was its
	// creation: it did not exist then, so if it is gone again by the
	// batch (an editor's or sed's temporary file), nothing changed.
	created bool
}

// add records a change to path; created says the change is its creation.
func (c changes) add(path string, dir, created bool) {
	pc, seen := c[path]
	if !seen {
		pc.created = created
	}
	pc.dir = pc.dir || dir
	c[path] = pc
}

// batch looks at each changed path once, as it is now, so the final state
// wins: removed then created is changed; existing, then removed (and maybe
// created and removed again) is removed; created then removed is no
// change at all. It empties c.
func (c changes) batch(ignored func(path string, dir bool) bool) Batch {
	var b Batch
	for p, pc := range c {
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			// A directory's own events (mode, times) are not changes.
		case err == nil:
			if !ignored(p, false) {
				b.Changed = append(b.Changed, p)
			}
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			if !pc.created && !ignored(p, pc.dir) {
				b.Removed = append(b.Removed, p)
				if pc.dir {
					b.RemovedDirs = append(b.RemovedDirs, p)
				}
			}
		default:
			// Exists but cannot be examined (permissions): whoever reads it
			// will meet the error and can say what it is.
			if !ignored(p, false) {
				b.Changed = append(b.Changed, p)
			}
		}
	}
	clear(c)
	slices.Sort(b.Changed)
	slices.Sort(b.Removed)
	slices.Sort(b.RemovedDirs)
	return b
}

// isGit reports whether path is a .git directory or file, never watched.
func isGit(path string) bool { return filepath.Base(path) == ".git" }
