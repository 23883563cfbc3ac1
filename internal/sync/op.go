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
	// directories; a local directory becomes a directory at Dest, and a
	// symbolic link whose relative target stays inside both Base and Root
	// becomes the same link at Dest. Anything else (a link leaving the
	// synced tree, a socket, FIFO or device) is skipped: see Screen.
	Write OpKind = iota + 1
	// Delete removes Dest, a file or a directory tree; a missing Dest is
	// not an error. Dest is always strictly inside Root: a Delete never
	// removes its rule's destination itself, nor "/".
	Delete
	// Restart restarts the container's process, which runs under
	// skiff-agent run, from the executable Dest (a hot swap: an earlier
	// Write put it there). Local is the host file it came from. Only the
	// AgentTransport can; Dest must be within Root.
	Restart
)

// String returns "write", "delete" or "restart".
func (k OpKind) String() string {
	switch k {
	case Write:
		return "write"
	case Delete:
		return "delete"
	case Restart:
		return "restart"
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
	// Base is the absolute local directory Local is in, the artifact's
	// context: a Transport reads Local through Base opened as an os.Root,
	// so nothing outside Base is ever read, whatever symbolic links say.
	Base string
	// Dest is the absolute, clean path in the container.
	Dest string
	// Root is the container directory (or file) the sync rule grants: Dest
	// is Root or below it. The agent refuses any path outside the roots it
	// is given.
	Root string
	// Delta, if set on a Write, lets the agent transport send the file as
	// a patch against the one it last wrote at Dest in the container
	// (agentproto.KindPatch), keeping the file's content until the next
	// Write from Local, and counts there what it sent. For a large file
	// that changes a little, such as a hot-swapped executable.
	Delta *Sent
}

// String describes the Op for logs, e.g. "write /src/a.js -> /app/a.js".
func (o Op) String() string {
	if o.Kind == Delete {
		return fmt.Sprintf("delete %s (%s removed)", o.Dest, o.Local)
	}
	return fmt.Sprintf("%s %s -> %s", o.Kind, o.Local, o.Dest)
}

// check refuses an Op that could touch the container outside its rule's
// destination: Dest must be a clean absolute path inside Root, and a
// Delete strictly inside it, so that neither Root itself nor "/" is ever
// removed. Both transports check every Op before they exec anything.
func (o Op) check() error {
	root, ok := cleanAbs(o.Root)
	if !ok || root != o.Root {
		return fmt.Errorf("refusing to %s %s: its rule destination %q is not a clean absolute path", o.Kind, o.Dest, o.Root)
	}
	if d, ok := cleanAbs(o.Dest); !ok || d != o.Dest {
		return fmt.Errorf("refusing to %s %q (rule destination %s): not a clean absolute path", o.Kind, o.Dest, o.Root)
	}
	switch o.Kind {
	case Write:
		if !within(o.Dest, o.Root) {
			return fmt.Errorf("refusing to write %s: it is outside its rule destination %s", o.Dest, o.Root)
		}
	case Restart:
		if !within(o.Dest, o.Root) {
			return fmt.Errorf("refusing to restart from %s: it is outside its destination %s", o.Dest, o.Root)
		}
	case Delete:
		if o.Dest == "/" || o.Dest == o.Root || !within(o.Dest, o.Root) {
			return fmt.Errorf("refusing to delete %s (for the removed %s): a deletion must be strictly inside its rule destination %s, never the destination itself nor /", o.Dest, o.Local, o.Root)
		}
	default:
		return fmt.Errorf("refusing %s on %s: unknown operation", o.Kind, o.Dest)
	}
	return nil
}

// checkOps checks every op (see Op.check).
func checkOps(ops []Op) error {
	for _, op := range ops {
		if err := op.check(); err != nil {
			return err
		}
	}
	return nil
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
