package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// timeout bounds every wait for a batch; a healthy watcher takes
// milliseconds.
const timeout = 10 * time.Second

// harness runs a Watcher on a temporary directory and collects its
// batches, with paths relative to the directory.
type harness struct {
	dir     string
	w       *Watcher
	batches chan Batch
}

// start creates a temporary directory, lets setup fill it, and runs a
// Watcher on it until the test ends.
func start(t *testing.T, opts Options, setup func(dir string)) *harness {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(dir)
	}
	if opts.Ignore != nil {
		ignore := opts.Ignore
		opts.Ignore = func(p string, d bool) bool { return ignore(rel(dir, p), d) }
	}
	w, err := New([]string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{dir: dir, w: w, batches: make(chan Batch, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx, func(b Batch) { h.batches <- h.relative(b) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func rel(dir, p string) string {
	r, err := filepath.Rel(dir, p)
	if err != nil || strings.HasPrefix(r, "..") {
		return p // outside dir
	}
	return filepath.ToSlash(r)
}

func (h *harness) relative(b Batch) Batch {
	var out Batch
	for _, p := range b.Changed {
		out.Changed = append(out.Changed, rel(h.dir, p))
	}
	for _, p := range b.Removed {
		out.Removed = append(out.Removed, rel(h.dir, p))
	}
	return out
}

// next waits for the next batch.
func (h *harness) next(t *testing.T) Batch {
	t.Helper()
	select {
	case b := <-h.batches:
		return b
	case <-time.After(timeout):
		t.Fatalf("no batch within %v", timeout)
		return Batch{}
	}
}

// until merges batches, the last state of a path winning, until they add
// up to want; a slow machine may split one burst of changes in two. A path
// first reported changed and then removed is left out: a temporary file
// that a split batch caught between its creation and its removal (the
// consumer made it and removed it again).
func (h *harness) until(t *testing.T, want Batch) {
	t.Helper()
	state := map[string]bool{} // path -> exists
	born := map[string]bool{}  // first reported changed
	deadline := time.After(timeout)
	for {
		var got Batch
		for p, exists := range state {
			if exists {
				got.Changed = append(got.Changed, p)
			} else if !born[p] {
				got.Removed = append(got.Removed, p)
			}
		}
		slices.Sort(got.Changed)
		slices.Sort(got.Removed)
		if slices.Equal(got.Changed, want.Changed) && slices.Equal(got.Removed, want.Removed) {
			return
		}
		select {
		case b := <-h.batches:
			for _, p := range b.Changed {
				if _, seen := state[p]; !seen {
					born[p] = true
				}
				state[p] = true
			}
			for _, p := range b.Removed {
				state[p] = false
			}
		case <-deadline:
			t.Fatalf("after %v: got %+v, want %+v", timeout, got, want)
		}
	}
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, filepath.FromSlash(name)) }

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatcher(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	tests := []struct {
		name   string
		ignore func(rel string, dir bool) bool
		setup  map[string]string
		act    func(t *testing.T, h *harness)
		want   Batch
	}{{
		name:  "edit",
		setup: map[string]string{"a.txt": "a", "b.txt": "b"},
		act:   func(t *testing.T, h *harness) { write(t, h.path("a.txt"), "edited") },
		want:  Batch{Changed: []string{"a.txt"}},
	}, {
		name: "create in a new nested directory",
		act: func(t *testing.T, h *harness) {
			write(t, h.path("x/y/z/new.go"), "package z")
			write(t, h.path("x/top.go"), "package x")
		},
		want: Batch{Changed: []string{"x/top.go", "x/y/z/new.go"}},
	}, {
		name: "directory moved in with files",
		act: func(t *testing.T, h *harness) {
			src := filepath.Join(outside, "moved-in")
			write(t, filepath.Join(src, "d/f.txt"), "f")
			must(t, os.Rename(src, h.path("in")))
		},
		want: Batch{Changed: []string{"in/d/f.txt"}},
	}, {
		name:  "delete",
		setup: map[string]string{"a.txt": "a", "b.txt": "b"},
		act:   func(t *testing.T, h *harness) { must(t, os.Remove(h.path("a.txt"))) },
		want:  Batch{Removed: []string{"a.txt"}},
	}, {
		name:  "delete a directory",
		setup: map[string]string{"d/e/f.txt": "f", "keep.txt": "k"},
		act:   func(t *testing.T, h *harness) { must(t, os.RemoveAll(h.path("d"))) },
		want:  Batch{Removed: []string{"d", "d/e", "d/e/f.txt"}},
	}, {
		name:  "rename",
		setup: map[string]string{"a.txt": "a"},
		act:   func(t *testing.T, h *harness) { must(t, os.Rename(h.path("a.txt"), h.path("b.txt"))) },
		want:  Batch{Changed: []string{"b.txt"}, Removed: []string{"a.txt"}},
	}, {
		name:  "save through a temporary file, as sed -i and editors do",
		setup: map[string]string{"a.txt": "a"},
		act: func(t *testing.T, h *harness) {
			write(t, h.path(".a.txt.tmp"), "edited")
			must(t, os.Rename(h.path(".a.txt.tmp"), h.path("a.txt")))
		},
		want: Batch{Changed: []string{"a.txt"}},
	}, {
		name:  "save as vim does: the file renamed to a backup, written anew, chmod, the backup removed",
		setup: map[string]string{"a.txt": "a"},
		act: func(t *testing.T, h *harness) {
			must(t, os.Rename(h.path("a.txt"), h.path("a.txt~")))
			write(t, h.path("a.txt"), "edited")
			must(t, os.Chmod(h.path("a.txt"), 0o600))
			must(t, os.Remove(h.path("a.txt~")))
		},
		want: Batch{Changed: []string{"a.txt"}},
	}, {
		name:  "rename a directory",
		setup: map[string]string{"old/sub/f.txt": "f"},
		act: func(t *testing.T, h *harness) {
			must(t, os.Rename(h.path("old"), h.path("new")))
			write(t, h.path("new/sub/g.txt"), "g")
		},
		want: Batch{Changed: []string{"new/sub/f.txt", "new/sub/g.txt"}, Removed: []string{"old"}},
	}, {
		name:  "remove then re-create",
		setup: map[string]string{"a.txt": "a"},
		act: func(t *testing.T, h *harness) {
			must(t, os.Remove(h.path("a.txt")))
			write(t, h.path("a.txt"), "again")
		},
		want: Batch{Changed: []string{"a.txt"}},
	}, {
		name: ".git is ignored",
		act: func(t *testing.T, h *harness) {
			write(t, h.path(".git/objects/ab/cdef"), "x")
			write(t, h.path(".git/HEAD"), "ref")
			write(t, h.path("sub/.git"), "gitdir: ../.git/modules/sub")
			write(t, h.path("main.go"), "package main")
		},
		want: Batch{Changed: []string{"main.go"}},
	}, {
		name: "the predicate ignores files and directories",
		ignore: func(rel string, dir bool) bool {
			return strings.HasSuffix(rel, ".log") || dir && filepath.Base(rel) == "node_modules"
		},
		act: func(t *testing.T, h *harness) {
			write(t, h.path("debug.log"), "x")
			write(t, h.path("node_modules/pkg/index.js"), "x")
			write(t, h.path("src/app.js"), "x")
		},
		want: Batch{Changed: []string{"src/app.js"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, Options{Ignore: tt.ignore}, func(dir string) {
				for name, content := range tt.setup {
					write(t, filepath.Join(dir, name), content)
				}
			})
			tt.act(t, h)
			h.until(t, tt.want)
		})
	}
}

// A directory renamed out of the tree must not be reported under its old
// name afterwards: its watches go with it.
func TestRenamedAwayDirectoryIsForgotten(t *testing.T) {
	t.Parallel()
	h := start(t, Options{}, func(dir string) { write(t, filepath.Join(dir, "d/sub/f.txt"), "f") })
	away := filepath.Join(t.TempDir(), "away")
	must(t, os.Rename(h.path("d"), away))
	h.until(t, Batch{Removed: []string{"d"}})
	write(t, filepath.Join(away, "sub/f.txt"), "changed outside")
	write(t, h.path("marker"), "m")
	// Events arrive in order: a stale event would come before the marker's.
	h.until(t, Batch{Changed: []string{"marker"}})
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	for d := range h.w.dirs {
		if strings.HasPrefix(d, h.path("d")) {
			t.Errorf("still watching %s", d)
		}
	}
}

func TestIgnoredDirectoryIsNotWatched(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Ignore: func(rel string, dir bool) bool { return rel == "vendor" }}, func(dir string) {
		write(t, filepath.Join(dir, "vendor/a/b.go"), "x")
		write(t, filepath.Join(dir, ".git/config"), "x")
		write(t, filepath.Join(dir, "pkg/c.go"), "x")
	})
	h.w.mu.Lock()
	var got []string
	for d := range h.w.dirs {
		got = append(got, rel(h.dir, d))
	}
	h.w.mu.Unlock()
	slices.Sort(got)
	if want := []string{".", "pkg"}; !slices.Equal(got, want) {
		t.Errorf("watched %v, want %v", got, want)
	}
}

func TestDebounceMergesBurst(t *testing.T) {
	t.Parallel()
	// A generous quiet period, so the burst is one batch on any machine.
	h := start(t, Options{Debounce: time.Second, MaxWait: time.Minute}, nil)
	var want []string
	for i := range 20 {
		name := filepath.Join("burst", string(rune('a'+i))+".txt")
		write(t, h.path(name), "x")
		write(t, h.path(name), "xy")
		want = append(want, filepath.ToSlash(name))
	}
	slices.Sort(want)
	if b := h.next(t); !slices.Equal(b.Changed, want) || len(b.Removed) != 0 {
		t.Errorf("first batch %+v, want all of %v", b, want)
	}
}

// A burst of many files, as a git checkout writes them, with the default
// debounce: each batch is coherent (the files it lists exist, nothing is
// removed) and together they hold every file. A file may come twice when
// a batch ended between its creation and its write.
func TestBurstWithDefaultDebounce(t *testing.T) {
	t.Parallel()
	h := start(t, Options{}, nil)
	want := map[string]bool{}
	for i := range 1000 {
		name := fmt.Sprintf("pkg%d/file%03d.go", i%10, i)
		write(t, h.path(name), "package p // "+name)
		want[name] = true
	}
	got := map[string]bool{}
	batches := 0
	for len(got) < len(want) {
		b := h.next(t)
		batches++
		if len(b.Removed) != 0 {
			t.Fatalf("batch %d removes %v; nothing was removed", batches, b.Removed)
		}
		for _, p := range b.Changed {
			if !want[p] {
				t.Fatalf("batch %d lists %s, which was not written", batches, p)
			}
			got[p] = true
		}
	}
	t.Logf("1000 files came in %d batches", batches)
}

func TestMaxWaitBoundsEndlessStream(t *testing.T) {
	t.Parallel()
	// The tree is never quiet and the debounce longer than the test's
	// timeout: only MaxWait can deliver.
	h := start(t, Options{Debounce: time.Hour, MaxWait: 50 * time.Millisecond}, nil)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if err := os.WriteFile(h.path("stream.log"), []byte(strings.Repeat("x", i)), 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	b := h.next(t)
	close(stop)
	<-stopped
	if !slices.Equal(b.Changed, []string{"stream.log"}) {
		t.Errorf("batch %+v, want stream.log changed", b)
	}
}

// Changes made while the callback runs are delivered in the next batch.
func TestChangesDuringCallbackAreKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := New([]string{dir}, Options{})
	must(t, err)
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []Batch
	errc := make(chan error, 1)
	go func() {
		errc <- w.Run(ctx, func(b Batch) {
			got = append(got, b)
			switch len(got) {
			case 1:
				write(t, filepath.Join(dir, "during.txt"), "x")
			case 2:
				cancel()
			}
		})
	}()
	write(t, filepath.Join(dir, "first.txt"), "x")
	select {
	case err := <-errc:
		must(t, err)
	case <-time.After(timeout):
		t.Fatal("no second batch")
	}
	want := [][]string{{filepath.Join(dir, "first.txt")}, {filepath.Join(dir, "during.txt")}}
	if len(got) != 2 || !slices.Equal(got[0].Changed, want[0]) || !slices.Equal(got[1].Changed, want[1]) {
		t.Errorf("batches %+v, want changed %v", got, want)
	}
}

func TestManualTrigger(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Trigger: Manual}, nil)
	write(t, h.path("a.txt"), "a")
	write(t, h.path("d/b.txt"), "b")
	// Well past what notify would take (MaxWait), nothing comes unasked.
	select {
	case b := <-h.batches:
		t.Fatalf("batch %+v before Trigger", b)
	case <-time.After(3 * DefaultMaxWait):
	}
	// The events may still be on their way; a Trigger with nothing
	// collected delivers nothing, so ask until the batch comes.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		h.w.Trigger()
		select {
		case b := <-h.batches:
			if want := []string{"a.txt", "d/b.txt"}; !slices.Equal(b.Changed, want) {
				h.batches <- b
				h.until(t, Batch{Changed: want})
			}
			return
		case <-tick.C:
		case <-time.After(timeout):
			t.Fatal("no batch after Trigger")
		}
	}
}

// Take hands the manual trigger's changes to the caller, once: neither a
// later Take nor a Trigger delivers them again.
func TestManualTake(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Trigger: Manual}, func(dir string) { write(t, filepath.Join(dir, "a.txt"), "a") })
	// One event (a write may make several, which could arrive after the
	// first Take).
	must(t, os.Remove(h.path("a.txt")))
	// The event may still be on its way: an empty Take takes nothing.
	var b Batch
	for give := time.After(timeout); b.Empty(); {
		b = h.relative(h.w.Take(t.Context()))
		select {
		case <-give:
			t.Fatal("Take returned no removal of a.txt")
		default:
		}
	}
	if want := []string{"a.txt"}; !slices.Equal(b.Removed, want) || len(b.Changed) > 0 {
		t.Errorf("Take: %+v, want %v removed", b, want)
	}
	if again := h.w.Take(t.Context()); !again.Empty() {
		t.Errorf("a second Take: %+v, want nothing", again)
	}
	h.w.Trigger()
	write(t, h.path("b.txt"), "b")
	give := time.After(timeout)
	for {
		h.w.Trigger()
		select {
		case b := <-h.batches:
			if !slices.Equal(b.Changed, []string{"b.txt"}) {
				t.Errorf("the batch after Take and Trigger: %+v, want b.txt alone", b)
			}
			return
		case <-time.After(20 * time.Millisecond):
		case <-give:
			t.Fatal("no batch of b.txt after Trigger")
		}
	}
}

// Take returns nothing once Run has returned.
func TestTakeAfterRun(t *testing.T) {
	t.Parallel()
	w, err := New([]string{t.TempDir()}, Options{Trigger: Manual})
	must(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	must(t, w.Run(ctx, func(Batch) {}))
	if b := w.Take(t.Context()); !b.Empty() {
		t.Errorf("Take after Run: %+v", b)
	}
	must(t, w.Close())
}

func TestPolling(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Trigger: Polling, PollInterval: 20 * time.Millisecond,
		Ignore: func(rel string, dir bool) bool { return rel == "tmp" }}, func(dir string) {
		write(t, filepath.Join(dir, "edit.txt"), "a")
		write(t, filepath.Join(dir, "gone/x.txt"), "x")
	})
	write(t, h.path("edit.txt"), "a longer content")
	write(t, h.path("new/dir/f.txt"), "f")
	write(t, h.path(".git/HEAD"), "ref")
	write(t, h.path("tmp/cache"), "c")
	must(t, os.RemoveAll(h.path("gone")))
	h.until(t, Batch{Changed: []string{"edit.txt", "new/dir/f.txt"}, Removed: []string{"gone", "gone/x.txt"}})
}

// Trigger makes polling look now, long before its interval.
func TestPollingTrigger(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Trigger: Polling, PollInterval: time.Hour}, nil)
	write(t, h.path("a.txt"), "a")
	h.w.Trigger()
	h.until(t, Batch{Changed: []string{"a.txt"}})
}

func TestAdd(t *testing.T) {
	t.Parallel()
	for _, trigger := range []string{Notify, Polling} {
		t.Run(trigger, func(t *testing.T) {
			t.Parallel()
			h := start(t, Options{Trigger: trigger, PollInterval: 20 * time.Millisecond}, nil)
			other, err := filepath.EvalSymlinks(t.TempDir())
			must(t, err)
			write(t, filepath.Join(other, "old.txt"), "o")
			must(t, h.w.Add(other))
			write(t, filepath.Join(other, "sub/new.txt"), "n")
			h.until(t, Batch{Changed: []string{filepath.Join(other, "sub/new.txt")}})
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	write(t, file, "x")
	tests := []struct {
		name  string
		roots []string
		opts  Options
		want  string
	}{
		{"unknown trigger", []string{dir}, Options{Trigger: "sometimes"}, `unknown watch trigger "sometimes"`},
		{"missing root", []string{filepath.Join(dir, "nope")}, Options{}, "no such file"},
		{"file root", []string{file}, Options{}, "not a directory; watch the directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := New(tt.roots, tt.opts)
			if err == nil {
				w.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	w, err := New([]string{t.TempDir()}, Options{})
	must(t, err)
	must(t, w.Close())
	if err := w.Run(context.Background(), func(Batch) {}); err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := w.Run(context.Background(), func(Batch) {}); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestCloseStopsRun(t *testing.T) {
	t.Parallel()
	for _, trigger := range []string{Notify, Polling, Manual} {
		t.Run(trigger, func(t *testing.T) {
			t.Parallel()
			w, err := New([]string{t.TempDir()}, Options{Trigger: trigger})
			must(t, err)
			errc := make(chan error, 1)
			go func() { errc <- w.Run(context.Background(), func(Batch) {}) }()
			must(t, w.Close())
			select {
			case err := <-errc:
				must(t, err)
			case <-time.After(timeout):
				t.Fatal("Run did not return after Close")
			}
		})
	}
}

func TestWatchErrorSaysWhatToDo(t *testing.T) {
	t.Parallel()
	err := watchError("/src/app", 8192, syscall.ENOSPC)
	for _, want := range []string{"/src/app", "fs.inotify.max_user_watches", "8192 directories", "--trigger=polling"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("%v does not wrap the cause", err)
	}
}

// After the kernel's queue overflowed, every file is reported, and new
// directories are watched.
func TestOverflowRewalks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.txt"), "a")
	w, err := New([]string{dir}, Options{})
	must(t, err)
	defer w.Close()
	write(t, filepath.Join(dir, "new/b.txt"), "b") // as if its event were lost
	must(t, w.recover(fsnotify.ErrEventOverflow))
	b := w.changes.batch(w.ignored)
	want := []string{filepath.Join(dir, "a.txt"), filepath.Join(dir, "new/b.txt")}
	if !slices.Equal(b.Changed, want) || len(b.Removed) != 0 {
		t.Errorf("batch %+v, want changed %v", b, want)
	}
	if _, ok := w.dirs[filepath.Join(dir, "new")]; !ok {
		t.Error("new directory not watched after the rewalk")
	}
	if err := w.recover(errors.New("boom")); err == nil || !strings.Contains(err.Error(), "--trigger=polling") {
		t.Errorf("recover(other) = %v, want an error that says what to do", err)
	}
}
