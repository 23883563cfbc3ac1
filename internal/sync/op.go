package sync

import (
	"fmt"
	"path"
	"strings"
)

// OpKind says what an Op does in the container.
type OpKind int

const (
	// Write copies the local file Local to Dest, creating parent
	// directories; a local directory becomes a directory at Dest.
	Write OpKind = iota + 1
	// Delete removes Dest, a file or a directory tree; a missing Dest is
	// not an error.
	Delete
)

// String returns "write" or "delete".
func (k OpKind) String() string {
	switch k {
	case Write:
		return "write"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one file operation in a container. Plans hold no file contents or
// modes: a Transport reads Local (content and permission bits) when it
// applies the Op, so it sends the file as it is at that moment.
type Op struct {
	// Kind is Write or Delete.
	Kind OpKind
	// Local is the absolute local path the Op comes from: the file to copy
	// for a Write, the removed file for a Delete.
	Local string
	// Dest is the absolute, clean path in the container.
	Dest string
	// Root is the container directory (or file) the sync rule grants: Dest
	// is Root or below it. The agent refuses any path outside the roots it
	// is given.
	Root string
}

// String describes the Op for logs, e.g. "write /src/a.js -> /app/a.js".
func (o Op) String() string {
	if o.Kind == Delete {
		return fmt.Sprintf("delete %s (%s removed)", o.Dest, o.Local)
	}
	return fmt.Sprintf("%s %s -> %s", o.Kind, o.Local, o.Dest)
}

// within reports whether the clean absolute path p is root or below it.
func within(p, root string) bool {
	if root == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == root || strings.HasPrefix(p, root+"/")
}

// cleanAbs returns p cleaned if it is an absolute slash path, else false.
func cleanAbs(p string) (string, bool) {
	if !path.IsAbs(p) {
		return "", false
	}
	return path.Clean(p), true
}
