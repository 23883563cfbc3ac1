package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/watch"
)

// With --trigger=manual, a Control trigger (/v2/execute) runs the changes
// the trigger holds for the phases it names, as Enter does: a sync
// trigger syncs the held sync and leaves the held rebuild held; a build
// trigger then rebuilds that artifact alone.
func TestControlReleasesTheManualTrigger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, sub := range []string{"base", "web", "worker", "api", "svc", "k8s"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d := planDev(t, dir)
	var errOut bytes.Buffer
	d.r.opts.ErrOut = &errOut
	d.opts.Trigger = TriggerManual
	d.ctl = NewControl(Auto{Build: true, Sync: true}) // no deploy: there is no cluster
	var mu gosync.Mutex
	var builds [][]string
	d.build = func(_ context.Context, names []string) ([]artifact.Image, error) {
		mu.Lock()
		defer mu.Unlock()
		builds = append(builds, names)
		return []artifact.Image{{Name: "svc", Ref: "registry/svc:2"}}, nil
	}
	tr := &fakeTransport{}
	d.syncer = newSyncer(&fakeSource{running: map[string][]string{"web:1": {"a"}}}, func(container) sync.Transport { return tr })
	d.images = map[string]artifact.Image{"web": {Name: "web", Ref: "web:1"}}
	d.heldSyncs, d.heldBuilds = map[string][]sync.Op{}, map[string]bool{}

	w, err := watch.New(d.in.roots, watch.Options{Trigger: watch.Manual, Ignore: d.in.ignored})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() {
		ran <- w.Run(ctx, func(b watch.Batch) { t.Errorf("the manual trigger delivered %+v unasked", b) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("watching: %v", err)
		}
		w.Close()
	})
	// The Go change first: once the watcher has the .js change, it has
	// this one (inotify's events come in order).
	if err := os.WriteFile(filepath.Join(dir, "svc", "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web", "a.js"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The events may still be on their way: trigger the sync until it
	// has something to sync.
	for give := time.After(time.Minute); len(tr.take()["a"]) == 0; { // a bound against a hang, not a figure
		if err := d.ctl.Trigger(Phases{Sync: true}); err != nil {
			t.Fatal(err)
		}
		if err := d.onControl(ctx, w); err != nil {
			t.Fatal(err)
		}
		select {
		case <-give:
			t.Fatalf("a sync trigger synced nothing of the change the manual trigger holds:\n%s", errOut.String())
		default:
		}
	}
	mu.Lock()
	if len(builds) > 0 {
		t.Errorf("a sync trigger built %v", builds)
	}
	mu.Unlock()
	if err := d.ctl.Trigger(Phases{Build: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.onControl(ctx, w); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := [][]string{{"svc"}}; !slices.EqualFunc(builds, want, slices.Equal) {
		t.Errorf("the build trigger built %v, want %v: the change the manual trigger held", builds, want)
	}
	if !strings.Contains(errOut.String(), "press Enter to redeploy") {
		t.Errorf("want the deploy held (--auto-deploy off):\n%s", errOut.String())
	}
}
