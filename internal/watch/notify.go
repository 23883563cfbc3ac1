package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// handle records one file system event. A new directory is watched and
// walked at once, so files created in it before its watch was added are
// not missed; a removed or renamed directory's watches are dropped.
func (w *Watcher) handle(ev fsnotify.Event) error {
	p := filepath.Clean(ev.Name)
	if isGit(p) {
		return nil
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.note(p, w.forget(p), false)
		return nil
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			if w.ignored(p, true) {
				return nil
			}
			return w.addTree(p, true, true)
		}
	}
	w.note(p, false, ev.Has(fsnotify.Create))
	return nil
}

// addTree watches root and every directory under it that is not ignored.
// With report set, it records every path it finds as changed.
func (w *Watcher) addTree(root string, report, created bool) error {
	return w.walk(root, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			if err := w.watchDir(p); err != nil {
				return err
			}
		}
		if report {
			w.note(p, d.IsDir(), created)
		}
		return nil
	})
}

// watchDir adds a watch on dir, which WalkDir then reads: a file created
// in between is both read and reported by the watch, never neither.
func (w *Watcher) watchDir(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dirs[dir]; ok {
		return nil
	}
	if err := w.fsw.Add(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil // removed while we looked
		}
		return watchError(dir, len(w.dirs), err)
	}
	w.dirs[dir] = struct{}{}
	return nil
}

// forget drops the watches on path and the directories under it, which is
// gone or renamed (a renamed directory's watches would report the old
// names), and reports whether path was a watched directory.
func (w *Watcher) forget(path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dirs[path]; !ok {
		return false
	}
	prefix := path + string(filepath.Separator)
	for d := range w.dirs {
		if d == path || strings.HasPrefix(d, prefix) {
			delete(w.dirs, d)
			// Already gone when the directory was deleted; nothing to do.
			_ = w.fsw.Remove(d)
		}
	}
	return true
}

// recover handles an error from fsnotify. When the kernel's event queue
// overflowed, events were lost: every root is walked again and all its
// files are reported as changed (files removed meanwhile are missed).
func (w *Watcher) recover(err error) error {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		return fmt.Errorf("watching files: %w; restart, or use --trigger=polling", err)
	}
	w.mu.Lock()
	roots := append([]string(nil), w.roots...)
	w.mu.Unlock()
	for _, r := range roots {
		if err := w.addTree(r, true, false); err != nil {
			return err
		}
	}
	return nil
}

// startError explains a failure to start watching.
func startError(err error) error {
	if errors.Is(err, syscall.EMFILE) {
		return fmt.Errorf("starting the file watcher: %w; too many watchers or open files: raise the limit "+
			"(Linux: sudo sysctl fs.inotify.max_user_instances=1024; macOS: ulimit -n) or use --trigger=polling", err)
	}
	return fmt.Errorf("starting the file watcher: %w; use --trigger=polling", err)
}

// watchError explains a failure to watch dir, with n directories watched.
func watchError(dir string, n int, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("watching %s: %w; the system's limit on inotify watches is reached "+
			"(fs.inotify.max_user_watches, %d directories watched here): raise it "+
			"(sudo sysctl fs.inotify.max_user_watches=524288; add it to /etc/sysctl.conf to keep it), "+
			"ignore large directories in .dockerignore, or use --trigger=polling", dir, err, n)
	case errors.Is(err, syscall.EMFILE):
		return fmt.Errorf("watching %s: %w; too many open files (%d directories watched here): raise the limit "+
			"(ulimit -n), ignore large directories in .dockerignore, or use --trigger=polling", dir, err, n)
	}
	return fmt.Errorf("watching %s: %w; use --trigger=polling if this file system has no change events", dir, err)
}
