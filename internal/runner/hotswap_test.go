package runner

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/watch"
)

// TestSwappable: a Go change of a ko artifact whose development image
// runs its app under skiff-agent run is a hot swap; not with
// --hot-swap=false, not for another builder or an image without the
// supervisor (or whose containers ran without it), and not after a kodata change outside the sync rules until
// the artifact is built again.
func TestSwappable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := planDev(t, dir)
	d.opts.HotSwap = true
	d.syncer = newSyncer(&fakeSource{}, func(container) sync.Transport { return &fakeTransport{} })
	svc := artifact.Image{Name: "svc", Ref: "reg/svc:1-skiff-dev@sha256:1"}
	d.images = map[string]artifact.Image{"svc": svc}
	d.images["web"] = artifact.Image{Name: "web", Ref: "reg/web:1-skiff-dev@sha256:2"}
	d.r.supervised[svc.Ref] = "/ko-app/svc"

	if program, ok := d.swappable("svc"); !ok || program != "/ko-app/svc" {
		t.Errorf("svc: swappable %q, %v; want /ko-app/svc, true", program, ok)
	}
	if _, ok := d.swappable("web"); ok {
		t.Error("web, a docker artifact, is swappable")
	}
	_, rebuild, _ := d.plan(watch.Batch{Changed: []string{filepath.Join(dir, "svc", "main.go")}})
	if _, ok := d.swappable("svc"); !slices.Equal(rebuild, []string{"svc"}) || !ok {
		t.Errorf("after a Go change: rebuild %q, swappable %v; want [svc], true", rebuild, ok)
	}
	_, rebuild, _ = d.plan(watch.Batch{Changed: []string{filepath.Join(dir, "svc", "kodata", "index.html")}})
	if _, ok := d.swappable("svc"); !slices.Equal(rebuild, []string{"svc"}) || ok {
		t.Errorf("after a kodata change: rebuild %q, swappable %v; want [svc], false: the image changes", rebuild, ok)
	}
	rebuilt := artifact.Image{Name: "svc", Ref: "reg/svc:2-skiff-dev@sha256:3"}
	d.r.supervised[rebuilt.Ref] = "/ko-app/svc"
	d.record(t.Context(), []artifact.Image{rebuilt})
	if _, ok := d.swappable("svc"); !ok {
		t.Error("after a build, svc is not swappable again")
	}
	d.noSupervisor = map[string]bool{"svc": true}
	if _, ok := d.swappable("svc"); ok {
		t.Error("swappable after its containers ran without the supervisor")
	}
	d.noSupervisor = nil
	d.opts.HotSwap = false
	if _, ok := d.swappable("svc"); ok {
		t.Error("swappable with --hot-swap=false")
	}
	d.opts.HotSwap = true
	d.images["svc"] = artifact.Image{Name: "svc", Ref: "reg/svc:3"}
	if _, ok := d.swappable("svc"); ok {
		t.Error("swappable into an image that does not run skiff-agent run")
	}
}

// TestSyncerKeepsSwapAndRestart: a hot swap's write and restart of the
// same executable both stay in the history, so a container that starts
// later gets the executable and then the restart, after the files synced
// before; a later swap replaces both.
func TestSyncerKeepsSwapAndRestart(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	tr := &fakeTransport{}
	s := newSyncer(src, func(container) sync.Transport { return tr })
	im := artifact.Image{Name: "svc", Ref: "svc:1"}
	src.set(map[string][]string{"svc:1": {"a"}})
	swap := func(n string) []sync.Op {
		local := "/tmp/swap/" + n
		return []sync.Op{
			{Kind: sync.Write, Local: local, Dest: "/skiff/app/svc", Root: "/skiff/app"},
			{Kind: sync.Restart, Local: local, Dest: "/skiff/app/svc", Root: "/skiff/app"},
		}
	}
	if _, err := s.Sync(t.Context(), im, []sync.Op{write("index.html")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(t.Context(), im, swap("v2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(t.Context(), im, swap("v3")); err != nil {
		t.Fatal(err)
	}
	tr.take()
	src.set(map[string][]string{"svc:1": {"a", "b"}})
	if _, err := s.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := append([]sync.Op{write("index.html")}, swap("v3")...)
	if got := tr.take()["b"]; !slices.Equal(got, want) {
		t.Errorf("a new container got %v, want %v", got, want)
	}
}

// restartLog is a transport that records the order of the calls it gets
// and how many calls with a Restart run at once.
type restartLog struct {
	mu      gosync.Mutex
	calls   []string // "POD: KINDS", in the order they began
	running int      // calls with a Restart now
	most    int      // the most of them at once
}

func (l *restartLog) Sync(_ context.Context, t sync.Target, ops []sync.Op) error {
	var kinds []string
	restart := false
	for _, op := range ops {
		kinds = append(kinds, op.Kind.String())
		restart = restart || op.Kind == sync.Restart
	}
	l.mu.Lock()
	l.calls = append(l.calls, t.Pod+": "+strings.Join(kinds, " "))
	if restart {
		l.running++
		l.most = max(l.most, l.running)
	}
	l.mu.Unlock()
	if restart {
		// Let the other calls run meanwhile, if any can.
		for range 100 {
			runtime.Gosched()
		}
		l.mu.Lock()
		l.running--
		l.mu.Unlock()
	}
	return nil
}

// TestSyncerRestartsOneContainerAtATime: a hot swap writes the executable
// to one container alone and restarts its app, which then serves the new
// version, then writes it to the others at once and restarts their apps
// one after the other, so that the other replicas serve while one
// restarts.
func TestSyncerRestartsOneContainerAtATime(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	tr := &restartLog{}
	s := newSyncer(src, func(container) sync.Transport { return tr })
	im := artifact.Image{Name: "svc", Ref: "svc:1"}
	src.set(map[string][]string{"svc:1": {"a", "b", "c"}})
	local := "/tmp/swap/v2"
	rep, err := s.Sync(t.Context(), im, []sync.Op{
		{Kind: sync.Write, Local: local, Dest: "/skiff/app/svc", Root: "/skiff/app"},
		{Kind: sync.Restart, Local: local, Dest: "/skiff/app/svc", Root: "/skiff/app"},
	})
	if err != nil || rep.Containers != 3 || len(rep.Synced) != 3 {
		t.Fatalf("Sync() = %+v, %v; want 3 containers synced", rep, err)
	}
	if len(tr.calls) != 6 {
		t.Fatalf("calls %q; want a write and a restart for each of 3 containers", tr.calls)
	}
	if want := []string{"a: write", "a: restart"}; !slices.Equal(tr.calls[:2], want) {
		t.Errorf("first calls %q; want the first container's write alone, then its restart (all calls: %q)", tr.calls[:2], tr.calls)
	}
	writes, restarts := slices.Clone(tr.calls[2:4]), tr.calls[4:]
	slices.Sort(writes)
	if want := []string{"b: write", "c: write"}; !slices.Equal(writes, want) {
		t.Errorf("then %q; want the write to the others, before their restarts (all calls: %q)", writes, tr.calls)
	}
	if want := []string{"b: restart", "c: restart"}; !slices.Equal(restarts, want) {
		t.Errorf("then %q; want a restart of each of the others (all calls: %q)", restarts, tr.calls)
	}
	if tr.most != 1 {
		t.Errorf("%d restarts ran at once; want one at a time", tr.most)
	}
}

// TestSyncerSteersTheForwardOffEachRestartingContainer: while a hot swap
// restarts one container's app, the port-forward sends new connections
// to the others; once the first serves the new version, to it alone.
func TestSyncerSteersTheForwardOffEachRestartingContainer(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	tr := &restartLog{}
	s := newSyncer(src, func(container) sync.Transport { return tr })
	s.steer = func(_ context.Context, c container) func() {
		tr.mu.Lock()
		tr.calls = append(tr.calls, "steer off "+c.Target.Namespace+"/"+c.Target.Pod)
		tr.mu.Unlock()
		return func() {
			tr.mu.Lock()
			tr.calls = append(tr.calls, "release "+c.Target.Pod)
			tr.mu.Unlock()
		}
	}
	im := artifact.Image{Name: "svc", Ref: "svc:1"}
	src.set(map[string][]string{"svc:1": {"a", "b"}})
	local := "/tmp/swap/v2"
	if _, err := s.Sync(t.Context(), im, []sync.Op{
		{Kind: sync.Write, Local: local, Dest: "/skiff/app/svc", Root: "/skiff/app"},
		{Kind: sync.Restart, Local: local, Dest: "/skiff/app/svc", Root: "/skiff/app"},
	}); err != nil {
		t.Fatal(err)
	}
	// Once a serves the new version, the forward stays off b, which still
	// runs the old one, until b's restart is done.
	want := []string{"a: write", "steer off dev/a", "a: restart", "release a", "steer off dev/b", "b: write", "b: restart", "release b"}
	if !slices.Equal(tr.calls, want) {
		t.Errorf("calls %q; want %q", tr.calls, want)
	}
}

// TestSentText checks what the Hot-swapped line says was sent.
func TestSentText(t *testing.T) {
	t.Parallel()
	var s sync.Sent
	if got := sentText(&s); got != "" {
		t.Errorf("nothing counted (tar): %q, want nothing", got)
	}
	s.Files.Store(2)
	s.Patched.Store(1)
	s.Bytes.Store(8_400_000 + 120_000)
	s.Size.Store(16_800_000)
	if got, want := sentText(&s), ", sent 8.5 MB for 16.8 MB (1 of 2 as patches)"; got != want {
		t.Errorf("sentText = %q, want %q", got, want)
	}
	s.Bytes.Store(240_000)
	if got, want := sentText(&s), ", sent 240 KB for 16.8 MB (1 of 2 as patches)"; got != want {
		t.Errorf("sentText = %q, want %q", got, want)
	}
}
