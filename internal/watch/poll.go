package watch

import (
	"io/fs"
	"time"
)

// fileState is what polling compares between walks.
type fileState struct {
	mod  time.Time
	size int64
	mode fs.FileMode
}

// scan records the state of every path under root in into.
func (w *Watcher) scan(root string, into map[string]fileState) error {
	return w.walk(root, func(p string, d fs.DirEntry) error {
		fi, err := d.Info()
		if err != nil {
			return nil // removed while we looked
		}
		into[p] = fileState{mod: fi.ModTime(), size: fi.Size(), mode: fi.Mode()}
		return nil
	})
}

// poll walks the roots and records what changed since the last walk.
func (w *Watcher) poll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := make(map[string]fileState, len(w.files))
	for _, r := range w.roots {
		if err := w.scan(r, now); err != nil {
			return err
		}
	}
	for p, s := range now {
		if old, ok := w.files[p]; !ok || old != s && !s.mode.IsDir() {
			w.note(p, s.mode.IsDir(), !ok)
		}
	}
	for p, s := range w.files {
		if _, ok := now[p]; !ok {
			w.note(p, s.mode.IsDir(), false)
		}
	}
	w.files = now
	return nil
}
