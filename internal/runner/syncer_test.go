package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/sync"
)

// fakeSource is a containerSource whose running containers the test sets.
type fakeSource struct {
	mu      gosync.Mutex
	running map[string][]string // image ref -> keys of its running containers
	err     error
}

func (f *fakeSource) set(running map[string][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = running
}

func (f *fakeSource) containers(_ context.Context, image artifact.Image) ([]container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []container
	for _, key := range f.running[image.Ref] {
		out = append(out, container{Target: sync.Target{Namespace: "dev", Pod: key, Container: "app"}, Key: key, Image: image})
	}
	return out, nil
}

// fakeTransport records the operations sent to each container (by pod
// name) and fails for the pods in fail, naming the target as the real
// transports do.
type fakeTransport struct {
	mu   gosync.Mutex
	sent map[string][]sync.Op
	fail map[string]bool
}

func (f *fakeTransport) Sync(_ context.Context, t sync.Target, ops []sync.Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[t.Pod] {
		return fmt.Errorf("syncing to %s: connection reset", t)
	}
	if f.sent == nil {
		f.sent = map[string][]sync.Op{}
	}
	f.sent[t.Pod] = append(f.sent[t.Pod], ops...)
	return nil
}

// take returns what was sent since the last take.
func (f *fakeTransport) take() map[string][]sync.Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	sent := f.sent
	f.sent = nil
	return sent
}

func write(name string) sync.Op {
	return sync.Op{Kind: sync.Write, Local: "/src/" + name, Dest: "/app/" + name, Root: "/app"}
}

func remove(name string) sync.Op {
	return sync.Op{Kind: sync.Delete, Local: "/src/" + name, Dest: "/app/" + name, Root: "/app"}
}

// imageOf is the image whose reference is ref ("web:1" is image web).
func imageOf(ref string) artifact.Image {
	name, _, _ := strings.Cut(ref, ":")
	return artifact.Image{Name: name, Ref: ref}
}

// syncStep is one call to the syncer: Sync (sync is the image ref),
// CatchUp or Forget.
type syncStep struct {
	running map[string][]string // image ref -> running container keys; nil keeps the last
	fail    []string            // keys whose transport fails in this step

	syncRef string // Sync ops into this image ref
	ops     []sync.Op
	catchUp bool
	forget  string

	want     map[string][]sync.Op // key -> ops sent in this step
	wantN    int                  // containers reported when none fails
	started  int                  // of them, those that started since
	wantFail []string             // keys the error names; none means no error
}

func TestSyncer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []syncStep
	}{
		{
			name: "the first sync goes to every container, the next only the new ops",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"a", "b"}}, syncRef: "web:1", ops: []sync.Op{write("x"), write("y")},
					want: map[string][]sync.Op{"a": {write("x"), write("y")}, "b": {write("x"), write("y")}}, wantN: 2},
				{syncRef: "web:1", ops: []sync.Op{write("z")},
					want: map[string][]sync.Op{"a": {write("z")}, "b": {write("z")}}, wantN: 2},
			},
		},
		{
			name: "a container that starts later gets the compacted history in order",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"a"}}, syncRef: "web:1", ops: []sync.Op{write("x"), write("y")},
					want: map[string][]sync.Op{"a": {write("x"), write("y")}}, wantN: 1},
				{syncRef: "web:1", ops: []sync.Op{remove("x")},
					want: map[string][]sync.Op{"a": {remove("x")}}, wantN: 1},
				{syncRef: "web:1", ops: []sync.Op{write("z"), write("y")},
					want: map[string][]sync.Op{"a": {write("z"), write("y")}}, wantN: 1},
				// b sees x written then deleted only as the delete, and y
				// after z, where its latest write put it.
				{running: map[string][]string{"web:1": {"a", "b"}}, syncRef: "web:1", ops: []sync.Op{write("w")},
					want: map[string][]sync.Op{"a": {write("w")}, "b": {remove("x"), write("z"), write("y"), write("w")}}, wantN: 2},
			},
		},
		{
			name: "catch up syncs only the containers that are behind",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"a"}}, syncRef: "web:1", ops: []sync.Op{write("x")},
					want: map[string][]sync.Op{"a": {write("x")}}, wantN: 1},
				{catchUp: true, want: nil, wantN: 0},
				// a restarted (a new key) and another replica started.
				{running: map[string][]string{"web:1": {"a2", "b"}}, catchUp: true,
					want: map[string][]sync.Op{"a2": {write("x")}, "b": {write("x")}}, wantN: 2, started: 2},
				{catchUp: true, want: nil, wantN: 0},
			},
		},
		{
			name: "a failed container stays behind and gets everything it lacks later",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"a", "b"}}, fail: []string{"b"}, syncRef: "web:1", ops: []sync.Op{write("x")},
					want: map[string][]sync.Op{"a": {write("x")}}, wantFail: []string{"b"}},
				{syncRef: "web:1", ops: []sync.Op{write("y")},
					want: map[string][]sync.Op{"a": {write("y")}, "b": {write("x"), write("y")}}, wantN: 2},
			},
		},
		{
			name: "catch up resends to a container that failed",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"a", "b"}}, fail: []string{"a"}, syncRef: "web:1", ops: []sync.Op{write("x")},
					want: map[string][]sync.Op{"b": {write("x")}}, wantFail: []string{"a"}},
				{catchUp: true, fail: []string{"a"}, want: nil, wantFail: []string{"a"}},
				// a did not start since: it is behind because its sync failed.
				{catchUp: true, want: map[string][]sync.Op{"a": {write("x")}}, wantN: 1, started: 0},
			},
		},
		{
			name: "after forget a new container gets nothing of the old history",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"a"}}, syncRef: "web:1", ops: []sync.Op{write("x")},
					want: map[string][]sync.Op{"a": {write("x")}}, wantN: 1},
				{forget: "web:1"},
				{running: map[string][]string{"web:1": {"a", "b"}}, catchUp: true, want: nil, wantN: 0},
				{syncRef: "web:1", ops: []sync.Op{write("y")},
					want: map[string][]sync.Op{"a": {write("y")}, "b": {write("y")}}, wantN: 2},
			},
		},
		{
			name: "images keep separate histories",
			steps: []syncStep{
				{running: map[string][]string{"web:1": {"w"}, "api:1": {"p"}}, syncRef: "web:1", ops: []sync.Op{write("x")},
					want: map[string][]sync.Op{"w": {write("x")}}, wantN: 1},
				{syncRef: "api:1", ops: []sync.Op{write("y")},
					want: map[string][]sync.Op{"p": {write("y")}}, wantN: 1},
				{running: map[string][]string{"web:1": {"w", "w2"}, "api:1": {"p", "p2"}}, catchUp: true,
					want: map[string][]sync.Op{"w2": {write("x")}, "p2": {write("y")}}, wantN: 2, started: 2},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := &fakeSource{}
			tr := &fakeTransport{}
			s := newSyncer(src, func(container) sync.Transport { return tr })
			for i, st := range tc.steps {
				if st.running != nil {
					src.set(st.running)
				}
				tr.mu.Lock()
				tr.fail = map[string]bool{}
				for _, k := range st.fail {
					tr.fail[k] = true
				}
				tr.mu.Unlock()
				var rep syncReport
				var err error
				switch {
				case st.syncRef != "":
					rep, err = s.Sync(context.Background(), imageOf(st.syncRef), st.ops)
				case st.catchUp:
					rep, err = s.CatchUp(context.Background())
					if len(st.wantFail) == 0 && rep.Started != st.started {
						t.Errorf("step %d reported %d containers that started since, want %d", i, rep.Started, st.started)
					}
				case st.forget != "":
					s.Forget(st.forget)
				}
				n := rep.Containers
				if got := tr.take(); !maps.EqualFunc(got, st.want, slices.Equal) {
					t.Errorf("step %d sent %v, want %v", i, got, st.want)
				}
				if len(st.wantFail) == 0 && n != st.wantN {
					t.Errorf("step %d reported %d containers, want %d", i, n, st.wantN)
				}
				checkNames(t, i, err, st.wantFail)
			}
		})
	}
}

// checkNames checks that err names the pods of failed and no other, or
// that it is nil when failed is empty.
func checkNames(t *testing.T, step int, err error, failed []string) {
	t.Helper()
	if len(failed) == 0 {
		if err != nil {
			t.Errorf("step %d: %v", step, err)
		}
		return
	}
	if err == nil {
		t.Errorf("step %d: no error, want one naming %v", step, failed)
		return
	}
	for _, k := range []string{"a", "b"} {
		named := strings.Contains(err.Error(), "pod dev/"+k+",")
		if want := slices.Contains(failed, k); named != want {
			t.Errorf("step %d: error %q names pod %s: %v, want %v", step, err, k, named, want)
		}
	}
}

func TestSyncerSourceError(t *testing.T) {
	t.Parallel()
	boom := errors.New("the pod watch stopped")
	src := &fakeSource{err: boom}
	tr := &fakeTransport{}
	s := newSyncer(src, func(container) sync.Transport { return tr })

	if _, err := s.Sync(context.Background(), imageOf("web:1"), []sync.Op{write("x")}); !errors.Is(err, boom) {
		t.Errorf("Sync: error %v, want %v", err, boom)
	}
	// The ops are kept: a container found later gets them.
	src.mu.Lock()
	src.err, src.running = nil, map[string][]string{"web:1": {"a"}}
	src.mu.Unlock()
	rep, err := s.CatchUp(context.Background())
	if err != nil || rep.Containers != 1 {
		t.Fatalf("CatchUp = %+v, %v; want 1 container", rep, err)
	}
	if got, want := tr.take(), map[string][]sync.Op{"a": {write("x")}}; !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

// countingTransport counts its calls and returns err.
func countingTransport(calls *int, err error) sync.Transport {
	return transportFunc(func(context.Context, sync.Target, []sync.Op) error {
		*calls++
		return err
	})
}

// ctr is the container with Key key of the image ref.
func ctr(key, ref string) container {
	return container{Target: sync.Target{Namespace: "dev", Pod: key, Container: "app"}, Key: key, Image: imageOf(ref)}
}

func TestFallbackTransport(t *testing.T) {
	t.Parallel()
	noTar := fmt.Errorf("syncing to pod dev/a, container app: could not exec tar: %w", sync.ErrNoTar)
	noAgent := fmt.Errorf("syncing to pod dev/a, container app: could not exec /skiff/agent: %w", sync.ErrNoAgent)
	denied := errors.New("syncing to pod dev/a, container app through skiff-agent: write /app/x: permission denied")
	for _, tc := range []struct {
		name               string
		tarErr, agentErr   error
		wantTar, wantAgent int // calls over two syncs
		wantErr            error
		wantMsg            string
		wantLearned        []string // what the learned hook heard
	}{
		{name: "the agent works", wantTar: 0, wantAgent: 2, wantLearned: []string{"web agent", "web agent"}},
		{name: "no agent: tar, remembered", agentErr: noAgent, wantTar: 2, wantAgent: 1, wantLearned: []string{"web tar", "web tar"}},
		{name: "another agent error is returned", agentErr: denied, wantTar: 0, wantAgent: 2, wantErr: denied},
		{name: "neither tar nor agent", tarErr: noTar, agentErr: noAgent, wantTar: 2, wantAgent: 2, wantErr: sync.ErrNoAgent, wantMsg: "no tar either", wantLearned: []string{"web agent", "web agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tarCalls, agentCalls int
			f := newFallbackTransport(countingTransport(&tarCalls, tc.tarErr), countingTransport(&agentCalls, tc.agentErr))
			var learned []string
			f.learned = func(name string, tar bool) {
				if tar {
					learned = append(learned, name+" tar")
				} else {
					learned = append(learned, name+" agent")
				}
			}
			t.Cleanup(func() {
				if !slices.Equal(learned, tc.wantLearned) {
					t.Errorf("learned %q, want %q", learned, tc.wantLearned)
				}
			})
			c := ctr("a", "web:1")
			for i := range 2 {
				err := f.For(c).Sync(context.Background(), c.Target, []sync.Op{write("x")})
				switch {
				case tc.wantErr == nil && err != nil:
					t.Errorf("sync %d: %v", i, err)
				case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
					t.Errorf("sync %d: error %v, want %v", i, err, tc.wantErr)
				case err != nil && !strings.Contains(err.Error(), tc.wantMsg):
					t.Errorf("sync %d: error %q does not say %q", i, err, tc.wantMsg)
				}
			}
			if tarCalls != tc.wantTar || agentCalls != tc.wantAgent {
				t.Errorf("tar called %d times and the agent %d, want %d and %d", tarCalls, agentCalls, tc.wantTar, tc.wantAgent)
			}
		})
	}
}

// switchable is a transport whose answer per container key the test sets.
type switchable struct {
	mu    gosync.Mutex
	err   map[string]error // by pod (the key in these tests)
	calls []string
}

func (s *switchable) Sync(_ context.Context, t sync.Target, _ []sync.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, t.Pod)
	return s.err[t.Pod]
}

func TestFallbackTransportAsksEachNewImage(t *testing.T) {
	t.Parallel()
	noTar := fmt.Errorf("no tar: %w", sync.ErrNoTar)
	noAgent := fmt.Errorf("no agent: %w", sync.ErrNoAgent)
	tar := &switchable{err: map[string]error{"b": noTar, "c": noTar}}
	agent := &switchable{err: map[string]error{"a": noAgent, "d": noAgent}}
	f := newFallbackTransport(tar, agent)
	var learned []string
	f.learned = func(name string, ok bool) { learned = append(learned, fmt.Sprintf("%s %v", name, ok)) }
	sync1 := func(c container) error { return f.For(c).Sync(context.Background(), c.Target, nil) }

	// Pod a of web:1 has tar and no agent: it was deployed without it.
	if err := sync1(ctr("a", "web:1")); err != nil {
		t.Fatal(err)
	}
	// A rollout to web:2 has the agent (and lost tar): its pod b is asked
	// the agent first, not assumed to lack it because a did.
	if err := sync1(ctr("b", "web:2")); err != nil {
		t.Fatal(err)
	}
	// Pod c of web:2 tries the agent first, as b did; pod d of web:1
	// tries tar first, as a did.
	if err := sync1(ctr("c", "web:2")); err != nil {
		t.Fatal(err)
	}
	if err := sync1(ctr("d", "web:1")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "d"}; !slices.Equal(tar.calls, want) {
		t.Errorf("tar was asked for %v, want %v", tar.calls, want)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(agent.calls, want) {
		t.Errorf("the agent was asked for %v, want %v", agent.calls, want)
	}
	if want := []string{"web true", "web false", "web false", "web true"}; !slices.Equal(learned, want) {
		t.Errorf("learned %v, want %v", learned, want)
	}
}

func TestFallbackTransportRemembersPerImage(t *testing.T) {
	t.Parallel()
	var tarCalls, agentCalls int
	f := newFallbackTransport(countingTransport(&tarCalls, nil), countingTransport(&agentCalls, fmt.Errorf("no: %w", sync.ErrNoAgent)))

	for _, c := range []container{ctr("a", "web:1"), ctr("a", "web:1"), ctr("b", "web:1"), ctr("c", "api:1")} {
		if err := f.For(c).Sync(context.Background(), c.Target, nil); err != nil {
			t.Fatal(err)
		}
	}
	// web asks the agent once: its second pod starts with tar; api,
	// another image, asks the agent too.
	if tarCalls != 4 || agentCalls != 2 {
		t.Errorf("tar called %d times and the agent %d, want 4 and 2", tarCalls, agentCalls)
	}
}

// gate is a transport that holds every sync until parallelSyncs of them
// run at once, and records the most that ran at once.
type gate struct {
	mu         gosync.Mutex
	running    int
	most       int
	filled     bool // full is closed
	full, open chan struct{}
}

func (g *gate) Sync(context.Context, sync.Target, []sync.Op) error {
	g.mu.Lock()
	g.running++
	g.most = max(g.most, g.running)
	if g.running == parallelSyncs && !g.filled {
		g.filled = true
		close(g.full)
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running--
		g.mu.Unlock()
	}()
	select {
	case <-g.open:
		return nil
	case <-time.After(time.Minute):
		return errors.New("the syncs did not run in parallel")
	}
}

// TestSyncerParallel checks that one sync sends to the replicas at once,
// parallelSyncs of them at most.
func TestSyncerParallel(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	running := map[string][]string{}
	for i := range parallelSyncs + 4 {
		running["web:1"] = append(running["web:1"], fmt.Sprintf("p%02d", i))
	}
	src.set(running)
	g := &gate{full: make(chan struct{}), open: make(chan struct{})}
	s := newSyncer(src, func(container) sync.Transport { return g })
	type result struct {
		rep syncReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := s.Sync(context.Background(), imageOf("web:1"), []sync.Op{write("x")})
		done <- result{rep, err}
	}()
	<-g.full
	close(g.open)
	r := <-done
	if r.err != nil || r.rep.Containers != parallelSyncs+4 {
		t.Fatalf("Sync() = %+v, %v", r.rep, r.err)
	}
	if g.most != parallelSyncs {
		t.Errorf("%d syncs ran at once, want at most %d", g.most, parallelSyncs)
	}
}
