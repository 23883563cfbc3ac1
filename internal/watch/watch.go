package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Triggers: what makes a [Watcher] notice and deliver changes.
const (
	// Notify uses the operating system's file events (inotify, kqueue,
	// ReadDirectoryChangesW) and delivers after the debounce.
	Notify = "notify"
	// Polling walks the roots every PollInterval and delivers what changed
	// (modification time, size or mode). For file systems without events
	// (some network and VM mounts) or trees beyond the inotify limits.
	Polling = "polling"
	// Manual collects changes like Notify but delivers them only when
	// [Watcher.Trigger] is called.
	Manual = "manual"
)

// Defaults for the zero values of [Options].
const (
	// DefaultDebounce is short: the events of an editor's save (write a
	// temporary file, rename it over the file, chmod) arrive within a
	// millisecond or two of each other, and a sync should not wait longer.
	DefaultDebounce = 5 * time.Millisecond
	// DefaultBurstDebounce is the quiet time of a burst (see BurstPaths):
	// a git checkout or a generator writing many files may pause for a few
	// milliseconds between two of them, and is better delivered whole.
	DefaultBurstDebounce = 20 * time.Millisecond
	DefaultMaxWait       = 250 * time.Millisecond
	DefaultPollInterval  = time.Second
)

// BurstPaths is how many changed paths a batch may collect while it waits
// for Options.Debounce of quiet; once it holds more, it is a burst, and it
// waits for Options.BurstDebounce of quiet instead.
const BurstPaths = 8

// Options configure a [Watcher]. The zero value is valid: notify, with the
// default debounce and nothing ignored but .git.
type Options struct {
	// Trigger is Notify (the default when empty), Polling or Manual.
	Trigger string
	// PollInterval is how often Polling walks the roots.
	PollInterval time.Duration
	// Debounce is how long the tree must be quiet before changes are
	// delivered, while they touch at most BurstPaths paths.
	Debounce time.Duration
	// BurstDebounce is how long the tree must be quiet before changes
	// that touch more than BurstPaths paths are delivered; never less
	// than Debounce. The default is DefaultBurstDebounce, or Debounce
	// when that is longer.
	BurstDebounce time.Duration
	// MaxWait bounds the wait for a quiet tree: changes are delivered at
	// most MaxWait after the first of them, even if more keep coming.
	MaxWait time.Duration
	// Ignore, if set, reports whether an absolute path is left out: an
	// ignored directory is neither watched nor walked, an ignored file is
	// never in a Batch. dir says whether path is (or was) a directory.
	// It must be safe for concurrent use if Add is called while Run runs.
	Ignore func(path string, dir bool) bool
}

// Watcher watches directory trees and delivers their changes in batches.
// Create one with [New], receive batches with [Watcher.Run], and release it
// with [Watcher.Close].
type Watcher struct {
	opts    Options
	fsw     *fsnotify.Watcher // nil when polling
	trigger chan struct{}
	take    chan chan Batch // Take's requests
	ended   chan struct{}   // closed when Run returns
	closed  chan struct{}
	close   sync.Once
	running atomic.Bool

	// Owned by Run's goroutine.
	changes  changes
	debounce debouncer

	mu    sync.Mutex
	roots []string
	dirs  map[string]struct{}  // watched directories (notify, manual)
	files map[string]fileState // the last poll's tree (polling)
}

// New returns a Watcher of the directory trees at roots, watching from now
// on: a change made after New returns is delivered by Run, even if Run has
// not started yet.
func New(roots []string, opts Options) (*Watcher, error) {
	if opts.Trigger == "" {
		opts.Trigger = Notify
	}
	if opts.Trigger != Notify && opts.Trigger != Polling && opts.Trigger != Manual {
		return nil, fmt.Errorf("unknown watch trigger %q: use %s, %s or %s", opts.Trigger, Notify, Polling, Manual)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.BurstDebounce <= 0 {
		opts.BurstDebounce = DefaultBurstDebounce
	}
	opts.BurstDebounce = max(opts.BurstDebounce, opts.Debounce)
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Ignore == nil {
		opts.Ignore = func(string, bool) bool { return false }
	}
	w := &Watcher{
		opts:     opts,
		trigger:  make(chan struct{}, 1),
		take:     make(chan chan Batch),
		ended:    make(chan struct{}),
		closed:   make(chan struct{}),
		changes:  changes{},
		debounce: debouncer{quiet: opts.Debounce, burst: opts.BurstDebounce, max: opts.MaxWait},
		dirs:     map[string]struct{}{},
		files:    map[string]fileState{},
	}
	if opts.Trigger != Polling {
		fsw, err := fsnotify.NewWatcher()
		if err != nil {
			return nil, startError(err)
		}
		w.fsw = fsw
	}
	for _, r := range roots {
		if err := w.Add(r); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

// Add watches one more directory tree, from now on. Its existing files are
// not reported. Add is safe to call while Run runs. To stop watching a
// tree, Close the Watcher and create another.
func (w *Watcher) Add(root string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("watching %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("watching %s: %w", root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("watching %s: not a directory; watch the directory that holds it", root)
	}
	if w.fsw == nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.roots = append(w.roots, abs)
		return w.scan(abs, w.files)
	}
	w.mu.Lock()
	w.roots = append(w.roots, abs)
	w.mu.Unlock()
	return w.addTree(abs, false, false)
}

// Trigger asks for the collected changes to be delivered now, without
// waiting for the debounce; with Polling it walks the roots first. It is
// the only way changes are delivered with Manual. Trigger does not block;
// with nothing collected it delivers nothing.
func (w *Watcher) Trigger() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Take returns the changes collected so far (with Polling, those the
// last walk found), which Run would deliver next, to the caller instead,
// and forgets them: with Manual, the caller acts on them at once and
// together with whatever else it does, where Trigger's batch would come
// later, on its own. It waits for Run to start, and returns an empty
// batch once Run has returned or ctx ends.
func (w *Watcher) Take(ctx context.Context) Batch {
	reply := make(chan Batch, 1)
	select {
	case w.take <- reply:
		return <-reply
	case <-w.ended:
	case <-ctx.Done():
	}
	return Batch{}
}

// Close stops a running Run, which then returns nil, and releases the
// Watcher's operating system resources.
func (w *Watcher) Close() error {
	var err error
	w.close.Do(func() {
		close(w.closed)
		if w.fsw != nil {
			err = w.fsw.Close()
		}
	})
	return err
}

// Run delivers batches of changes to each until ctx ends or the Watcher is
// closed, then returns nil; it returns an error if watching fails (see
// the error for what to do). Run may be called once.
//
// Calls of each are serial and Run waits for the last one before it
// returns. Changes made while each runs are collected and delivered in the
// next batch once each returns; none are lost.
func (w *Watcher) Run(ctx context.Context, each func(Batch)) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("watch: Run called twice on one Watcher")
	}
	defer close(w.ended)
	batches := make(chan Batch)
	done := make(chan struct{})
	go func() {
		for b := range batches {
			each(b)
			done <- struct{}{}
		}
	}()
	busy := false // each is running
	ready := false
	defer func() {
		if busy {
			<-done
		}
		close(batches)
	}()

	// deliver hands the collected changes to each, or, while each is
	// busy, marks them ready for when it returns.
	deliver := func() {
		if busy {
			ready = true
			return
		}
		ready = false
		w.debounce.reset()
		if b := w.changes.batch(w.ignored); !b.Empty() {
			busy = true
			batches <- b
		}
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// schedule arms the timer for the debounce.
	schedule := func() {
		if w.opts.Trigger != Notify {
			return
		}
		if due, ok := w.debounce.due(); ok {
			timer.Reset(time.Until(due))
		}
	}

	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fsw != nil {
		events, errs = w.fsw.Events, w.fsw.Errors
	}
	var tick <-chan time.Time
	if w.opts.Trigger == Polling {
		t := time.NewTicker(w.opts.PollInterval)
		defer t.Stop()
		tick = t.C
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.closed:
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil // closed
			}
			if err := w.handle(ev); err != nil {
				return err
			}
			schedule()
		case err, ok := <-errs:
			if !ok {
				return nil // closed
			}
			if err := w.recover(err); err != nil {
				return err
			}
			schedule()
		case <-timer.C:
			deliver()
		case <-tick:
			if err := w.poll(); err != nil {
				return err
			}
			if len(w.changes) > 0 {
				deliver()
			}
		case <-w.trigger:
			if w.opts.Trigger == Polling {
				if err := w.poll(); err != nil {
					return err
				}
			}
			deliver()
		case reply := <-w.take:
			w.debounce.reset()
			reply <- w.changes.batch(w.ignored)
		case <-done:
			busy = false
			if ready {
				deliver()
			}
		}
	}
}

// note records a change to path; created says the change is its creation.
func (w *Watcher) note(path string, dir, created bool) {
	w.changes.add(path, dir, created)
	w.debounce.event(time.Now(), len(w.changes))
}

// ignored reports whether path is left out: .git or the caller's Ignore.
func (w *Watcher) ignored(path string, dir bool) bool {
	return isGit(path) || w.opts.Ignore(path, dir)
}

// walk calls fn for root and every path under it that is not ignored,
// skipping ignored directories and paths that vanish during the walk.
func (w *Watcher) walk(root string, fn func(path string, d fs.DirEntry) error) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we looked
			}
			return fmt.Errorf("watching %s: %w; make it readable or ignore it (.dockerignore)", p, err)
		}
		if p != root && w.ignored(p, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return fn(p, d)
	})
	return err
}
