package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/agent"
)

// agentPods is a fake sync.Executor: each pod has a directory as its
// filesystem, and runs skiff-agent in process where it has one (agent),
// else fails as a container without it does. A pod in gone fails its next
// exec as a pod that went away does. Each exec is announced on started
// (pod and command) as it starts.
type agentPods struct {
	dirs    map[string]string // pod -> its filesystem
	agent   map[string]bool   // pods that have skiff-agent
	started chan string

	mu   gosync.Mutex
	gone map[string]bool
	cmds map[string][]string // pod -> the commands run there
}

func (p *agentPods) Exec(_ context.Context, t sync.Target, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	line := strings.Join(cmd, " ")
	p.mu.Lock()
	p.cmds[t.Pod] = append(p.cmds[t.Pod], line)
	gone := p.gone[t.Pod]
	delete(p.gone, t.Pod)
	p.mu.Unlock()
	p.started <- t.Pod + ": " + line
	switch {
	case gone:
		return fmt.Errorf("%w: pods %q not found", sync.ErrUnavailable, t.Pod)
	case cmd[0] != sync.DefaultAgentPath || !p.agent[t.Pod]:
		return fmt.Errorf("%w: exec: %q: no such file or directory", sync.ErrNotFound, cmd[0])
	}
	args := append([]string{cmd[1], "--root", p.dirs[t.Pod]}, cmd[2:]...)
	if code := agent.Run(args, stdin, stdout, stderr); code != 0 {
		return &sync.ExitError{Code: code}
	}
	return nil
}

// commands returns the commands run in pod.
func (p *agentPods) commands(pod string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.cmds[pod])
}

// TestSyncerWarm checks that Warm opens the agent session of each running
// container of the images it is given before any sync there, once per
// container, and that the sync then goes through it; that a container of
// an image known to sync through tar is not warmed; and that a warm-up
// that fails (the pod not found) says and learns nothing, and the later
// sync works.
func TestSyncerWarm(t *testing.T) {
	t.Parallel()
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	op := sync.Op{Kind: sync.Write, Local: filepath.Join(local, "x"), Base: local, Dest: "/app/x", Root: "/app"}
	pods := &agentPods{
		dirs:    map[string]string{"a": t.TempDir(), "b": t.TempDir(), "t": t.TempDir(), "t2": t.TempDir()},
		agent:   map[string]bool{"a": true, "b": true},
		started: make(chan string, 16),
		gone:    map[string]bool{"b": true},
		cmds:    map[string][]string{},
	}
	agentTr := &sync.AgentTransport{Exec: pods}
	t.Cleanup(agentTr.Close)
	tarSynced := map[string]bool{}
	var mu gosync.Mutex
	tar := transportFunc(func(_ context.Context, t sync.Target, _ []sync.Op) error {
		mu.Lock()
		defer mu.Unlock()
		tarSynced[t.Pod] = true
		return nil
	})
	fb := newFallbackTransport(tar, agentTr)
	fb.open = agentTr.Open
	var learned []string
	fb.learned = func(name string, tar bool) {
		mu.Lock()
		defer mu.Unlock()
		learned = append(learned, fmt.Sprint(name, " tar=", tar))
	}
	src := &fakeSource{}
	src.set(map[string][]string{"api:1": {"t"}})
	s := newSyncer(src, fb.For)
	s.warm = fb.Warm
	ctx := t.Context()

	// api:1's pod t has no agent: its first sync learns it syncs
	// through tar.
	if _, err := s.Sync(ctx, imageOf("api:1"), []sync.Op{op}); err != nil {
		t.Fatal(err)
	}
	<-pods.started // t's agent, missing
	src.set(map[string][]string{"web:1": {"a", "b"}, "api:1": {"t", "t2"}})
	s.SetWarm(ctx, []warmImage{{image: imageOf("web:1"), roots: []string{"/app", "/srv"}}, {image: imageOf("api:1"), roots: []string{"/app"}}})
	var warmed []string
	for range 2 {
		warmed = append(warmed, <-pods.started)
	}
	slices.Sort(warmed)
	want := []string{"a: " + sync.DefaultAgentPath + " apply --allow /app --allow /srv", "b: " + sync.DefaultAgentPath + " apply --allow /app --allow /srv"}
	if !slices.Equal(warmed, want) {
		t.Errorf("warming ran %q, want %q", warmed, want)
	}
	s.Warm(ctx) // no container is new
	mu.Lock()
	if want := []string{"api tar=true"}; !slices.Equal(learned, want) {
		t.Errorf("learned %q before syncing web, want %q: a warm-up learns nothing", learned, want)
	}
	mu.Unlock()

	rep, err := s.Sync(ctx, imageOf("web:1"), []sync.Op{op})
	if err != nil || rep.Containers != 2 {
		t.Fatalf("sync after the warm-up: %d containers, %v", rep.Containers, err)
	}
	for _, pod := range []string{"a", "b"} {
		if b, err := os.ReadFile(filepath.Join(pods.dirs[pod], "app/x")); err != nil || string(b) != "x" {
			t.Errorf("pod %s: app/x = %q, %v", pod, b, err)
		}
	}
	if cmds := pods.commands("a"); len(cmds) != 1 {
		t.Errorf("pod a ran %q, want only the session the warm-up opened", cmds)
	}
	// b's warm-up failed: its sync opened a session of its own.
	if cmds := pods.commands("b"); len(cmds) != 2 {
		t.Errorf("pod b ran %q, want the failed warm-up and its sync's session", cmds)
	}
	if cmds := pods.commands("t2"); len(cmds) != 0 {
		t.Errorf("pod t2 of an image that syncs through tar ran %q, want nothing", cmds)
	}
	mu.Lock()
	defer mu.Unlock()
	if tarSynced["a"] || tarSynced["b"] {
		t.Errorf("web synced through tar into %v, want the agent", tarSynced)
	}
}

// TestDevWarmImages checks which images dev warms: those with sync
// rules, manual or inferred from the Dockerfile, with their roots, and
// not those without.
func TestDevWarmImages(t *testing.T) {
	t.Parallel()
	rules, err := sync.NewRules(&schema.Artifact{ImageName: "web", Workspace: t.TempDir(), Sync: &schema.Sync{Manual: []*schema.SyncRule{{Src: "*.js", Dest: "/srv"}, {Src: "*.css", Dest: "/app"}}}})
	if err != nil {
		t.Fatal(err)
	}
	df, err := deps.ParseDockerfile(strings.NewReader("FROM scratch\nWORKDIR /site\nCOPY *.html ./\nCOPY static/ /srv/static/\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	inferred, err := sync.NewRules(&schema.Artifact{ImageName: "docs", Workspace: t.TempDir(), Sync: &schema.Sync{Infer: []string{"**"}}}, sync.WithDockerfile(df))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	s := newSyncer(&fakeSource{running: map[string][]string{"web:1": {"a"}, "api:1": {"b"}, "docs:1": {"c"}}}, nil)
	s.warm = func(_ context.Context, c container, roots []string) {
		got = append(got, c.Key+" "+strings.Join(roots, ","))
	}
	d := &dev{
		r:      &Runner{},
		syncer: s,
		rules:  map[string]*sync.Rules{"web": rules, "api": nil, "docs": inferred},
		images: map[string]artifact.Image{"web": imageOf("web:1"), "api": imageOf("api:1"), "docs": imageOf("docs:1")},
	}
	d.warm(t.Context())
	slices.Sort(got)
	if want := []string{"a /app,/srv", "c /site,/srv/static"}; !slices.Equal(got, want) {
		t.Errorf("warmed %q, want %q", got, want)
	}
}

// TestSyncerWarmForgetsGoneContainers checks that the syncer forgets the
// containers it warmed once they no longer run (their pod went, or they
// restarted under a new key), and keeps them while a listing fails.
func TestSyncerWarmForgetsGoneContainers(t *testing.T) {
	t.Parallel()
	src := &fakeSource{running: map[string][]string{"web:1": {"a", "b"}}}
	s := newSyncer(src, nil)
	var warmed []string
	s.warm = func(_ context.Context, c container, _ []string) { warmed = append(warmed, c.Key) }
	s.SetWarm(t.Context(), []warmImage{{image: imageOf("web:1"), roots: []string{"/app"}}})
	src.set(map[string][]string{"web:1": {"b", "c"}})
	s.Warm(t.Context())
	if want := []string{"a", "b", "c"}; !slices.Equal(warmed, want) {
		t.Errorf("warmed %q, want %q", warmed, want)
	}
	if want := []string{"b", "c"}; !slices.Equal(slices.Sorted(maps.Keys(s.warmed)), want) {
		t.Errorf("the syncer remembers having warmed %q, want %q: a is gone", slices.Sorted(maps.Keys(s.warmed)), want)
	}
	src.mu.Lock()
	src.err = errors.New("the API server is away")
	src.mu.Unlock()
	s.Warm(t.Context())
	if want := []string{"b", "c"}; !slices.Equal(slices.Sorted(maps.Keys(s.warmed)), want) {
		t.Errorf("after a failed listing, the syncer remembers %q, want %q", slices.Sorted(maps.Keys(s.warmed)), want)
	}
}
