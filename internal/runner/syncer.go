package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/sync"
)

// container is one running container that dev mode syncs into.
type container struct {
	sync.Target
	// Key names the container's filesystem: it changes when the container
	// restarts or its pod is replaced, when everything synced so far must
	// be synced again.
	Key string
	// Image is the image the container runs.
	Image artifact.Image
	// path is the index of the target's syncPath it was found through.
	path int
}

// containerSource finds the running containers of an image.
type containerSource interface {
	containers(ctx context.Context, image artifact.Image) ([]container, error)
}

// syncer sends planned file operations to every running container of an
// artifact and remembers what it sent since the artifact's image was
// built, so that a container that starts later (a restart, a replaced
// pod, another replica) receives all of it.
type syncer struct {
	source    containerSource
	transport func(c container) sync.Transport
	// steer, if set, sends new connections of the port-forwards to other
	// containers than c (kube.Forwarder.Steer) until release: a hot swap
	// restarts c's app meanwhile.
	steer func(ctx context.Context, c container) (release func())
	// warm, if set, opens c's agent session allowing roots ahead of its
	// first sync, silently (syncPaths.warm).
	warm func(ctx context.Context, c container, roots []string)
	// logf, if set, takes debug lines: when each container took its
	// operations and its restart.
	logf func(format string, args ...any)

	warmMu  gosync.Mutex
	warmFor []warmImage     // the images whose containers Warm opens sessions into
	warmed  map[string]bool // running container Keys Warm opened a session into (or tried)

	mu      gosync.Mutex
	seq     int                     // numbers operations in the order they are planned
	history map[string]*syncHistory // by image reference (artifact.Image.Ref)
	synced  map[string]int          // container Key -> seq it is up to date with
	seen    map[string]bool         // container Keys found running at an earlier sync
}

// syncHistory is what has been synced into one image's containers: the
// latest operation for each destination (and the latest restart from
// each, apart: a hot swap writes an executable, then restarts from it).
type syncHistory struct {
	image artifact.Image
	ops   map[string]seqOp // by historyKey
	seq   int              // the latest seq in ops
}

type seqOp struct {
	sync.Op
	seq int
}

// historyKey is op's key in a syncHistory: its Dest, and for a Restart
// its Dest marked as one, so that it does not replace the Write before it.
func historyKey(op sync.Op) string {
	if op.Kind == sync.Restart {
		return "restart:" + op.Dest
	}
	return op.Dest
}

func newSyncer(source containerSource, transport func(c container) sync.Transport) *syncer {
	return &syncer{source: source, transport: transport, history: map[string]*syncHistory{}, synced: map[string]int{}, seen: map[string]bool{}, warmed: map[string]bool{}}
}

// warmImage is an image whose containers dev syncs or hot-swaps into, and
// the roots those syncs write under.
type warmImage struct {
	image artifact.Image
	roots []string
}

// SetWarm sets the images whose running containers get their agent
// sessions opened ahead of their first sync, and opens them (Warm).
func (s *syncer) SetWarm(ctx context.Context, images []warmImage) {
	s.warmMu.Lock()
	s.warmFor = images
	s.warmMu.Unlock()
	s.Warm(ctx)
}

// Warm opens the agent session of each running container of the images
// SetWarm gave that it did not open one into yet: the first sync there
// finds it open. It reports nothing: a container it cannot list or open
// is left to its first sync, which reports as ever. The containers it
// warmed that no longer run (their pod went, they restarted, their image
// was replaced) are forgotten, unless a listing failed.
func (s *syncer) Warm(ctx context.Context) {
	if s.warm == nil {
		return
	}
	s.warmMu.Lock()
	defer s.warmMu.Unlock()
	running, listed := map[string]bool{}, true
	for _, w := range s.warmFor {
		cs, err := s.source.containers(ctx, w.image)
		if err != nil {
			listed = false
			continue
		}
		for _, c := range cs {
			running[c.Key] = true
			if !s.warmed[c.Key] {
				s.warmed[c.Key] = true
				s.warm(ctx, c, w.roots)
			}
		}
	}
	if listed {
		maps.DeleteFunc(s.warmed, func(key string, _ bool) bool { return !running[key] })
	}
}

// syncReport says what one sync did.
type syncReport struct {
	// Containers is how many containers received operations.
	Containers int
	// Started is how many of them had not been seen running at an
	// earlier sync: they started since (a restart, a new pod). The others
	// were up to date, or missed a sync that failed.
	Started int
	// Synced are the containers that took their operations.
	Synced []sync.Target
}

// Sync records ops for the containers of image and brings every running
// one up to date: those that already had everything earlier receive ops,
// new ones the whole history. It sends to the containers in parallel (at
// most parallelSyncs at once) and returns an error naming each container
// that failed.
func (s *syncer) Sync(ctx context.Context, image artifact.Image, ops []sync.Op) (syncReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.history[image.Ref]
	if h == nil {
		h = &syncHistory{image: image, ops: map[string]seqOp{}}
		s.history[image.Ref] = h
	}
	for _, op := range ops {
		s.seq++
		h.ops[historyKey(op)] = seqOp{Op: op, seq: s.seq}
		h.seq = s.seq
	}
	return s.catchUp(ctx, h)
}

// CatchUp syncs the history of every image into its running containers
// that do not have all of it yet: containers that restarted or started
// since the last sync, and those a failed sync left behind. It reports
// how many containers it synced, and how many of them started since.
func (s *syncer) CatchUp(ctx context.Context) (syncReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rep syncReport
	var errs []error
	for _, ref := range slices.Sorted(maps.Keys(s.history)) {
		r, err := s.catchUp(ctx, s.history[ref])
		rep.Containers += r.Containers
		rep.Started += r.Started
		rep.Synced = append(rep.Synced, r.Synced...)
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// SyncedUnder returns the local files below dir whose latest operation
// in the history of the image ref wrote them into its containers: when
// dir is removed, they are to be deleted there, even if dir as a whole
// maps to no path that may be deleted.
func (s *syncer) SyncedUnder(ref, dir string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.history[ref]
	if h == nil {
		return nil
	}
	files := map[string]bool{} // one local file may go to several destinations
	for _, op := range h.ops {
		if op.Kind == sync.Write && strings.HasPrefix(op.Local, dir+string(filepath.Separator)) {
			files[op.Local] = true
		}
	}
	return slices.Sorted(maps.Keys(files))
}

// Forget drops what was synced into the image ref: a rebuilt image has
// the changes.
func (s *syncer) Forget(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.history, ref)
}

// parallelSyncs is how many containers one sync sends to at once.
const parallelSyncs = 8

// catchUp sends each running container of h's image the operations of h
// it lacks, to parallelSyncs of them at once. A hot swap's restart, and
// what follows it, goes to one container at a time: while one replica's
// app restarts (until it listens again), the others serve, and the
// port-forward sends new connections to them (steer). With several
// containers to restart, the first gets the operations before its restart
// and restarts first, alone; then the forward is steered off the others
// while they get theirs in parallel and restart one after the other. The
// caller holds s.mu.
func (s *syncer) catchUp(ctx context.Context, h *syncHistory) (syncReport, error) {
	start := time.Now()
	cs, err := s.source.containers(ctx, h.image)
	if err != nil {
		return syncReport{}, err
	}
	logf := func(format string, args ...any) {
		if s.logf != nil {
			s.logf("sync into %s: %s: "+format, append([]any{h.image.Name, time.Since(start)}, args...)...)
		}
	}
	type job struct {
		c       container
		ops     []sync.Op // sent in parallel
		restart []sync.Op // from the first Restart on: one container at a time
	}
	var jobs []job
	started := 0
	for _, c := range cs {
		seen := s.seen[c.Key]
		s.seen[c.Key] = true
		since := s.synced[c.Key]
		if since >= h.seq {
			continue
		}
		var todo []seqOp
		for _, op := range h.ops {
			if op.seq > since {
				todo = append(todo, op)
			}
		}
		slices.SortFunc(todo, func(a, b seqOp) int { return cmp.Compare(a.seq, b.seq) })
		if !seen {
			started++
		}
		j := job{c: c}
		for _, op := range todo {
			if op.Kind == sync.Restart || len(j.restart) > 0 {
				j.restart = append(j.restart, op.Op)
			} else {
				j.ops = append(j.ops, op.Op)
			}
		}
		jobs = append(jobs, j)
	}
	errs := make([]error, len(jobs))
	send := func(pick func(i int) bool) {
		var wg gosync.WaitGroup
		slots := make(chan struct{}, parallelSyncs)
		for i, j := range jobs {
			if len(j.ops) == 0 || !pick(i) {
				continue
			}
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				logf("%d operations to %s", len(j.ops), j.c.Target)
				errs[i] = s.transport(j.c).Sync(ctx, j.c.Target, j.ops)
				logf("%s took them (%v)", j.c.Target, errs[i])
			})
		}
		wg.Wait()
	}
	// held are the containers the port-forward is steered off until
	// their restart is done.
	held := map[int]func(){}
	steer := func(i int) {
		if _, ok := held[i]; !ok && s.steer != nil {
			held[i] = s.steer(ctx, jobs[i].c)
		}
	}
	restart := func(i int) {
		j := jobs[i]
		if len(j.restart) > 0 && errs[i] == nil {
			steer(i)
			logf("restart of %s", j.c.Target)
			errs[i] = s.transport(j.c).Sync(ctx, j.c.Target, j.restart)
			logf("%s restarted (%v)", j.c.Target, errs[i])
		}
		if release, ok := held[i]; ok {
			release()
			delete(held, i)
		}
	}
	// A hot swap is served soonest when one container (the lead) gets the
	// new executable alone, as copies at once share the machine's time,
	// and restarts from it; the other containers' copies follow. Once the
	// lead serves the new version, the forward is steered off the others
	// until they do too: a client does not go back to the old version.
	lead, restarts := -1, 0
	for _, j := range jobs {
		if len(j.restart) > 0 {
			restarts++
		}
	}
	if restarts > 1 {
		lead = slices.IndexFunc(jobs, func(j job) bool { return len(j.restart) > 0 })
		send(func(i int) bool { return i == lead || len(jobs[i].restart) == 0 })
		restart(lead)
		for i, j := range jobs {
			if i != lead && len(j.restart) > 0 && errs[lead] == nil {
				steer(i)
			}
		}
		send(func(i int) bool { return i != lead && len(jobs[i].restart) > 0 })
	} else {
		send(func(int) bool { return true })
	}
	for i := range jobs {
		if i != lead {
			restart(i)
		}
	}
	rep := syncReport{Containers: len(jobs), Started: started}
	for i, j := range jobs {
		if errs[i] == nil {
			s.synced[j.c.Key] = h.seq
			rep.Synced = append(rep.Synced, j.c.Target)
		}
	}
	return rep, errors.Join(errs...)
}

// fallbackTransport syncs each container through skiff-agent, which keeps
// one session open per container, where its pod has the agent, and
// through tar where it does not (the agent was not delivered). Which one
// an image's containers have is learned from what they answered (a sync
// a container confirmed, or a missing agent), never assumed from another
// image, so a rollout to pods without the agent is noticed at their first
// sync. What is learned only picks the transport a container tries
// first: one that lacks it is asked the other way.
type fallbackTransport struct {
	tar, agent sync.Transport
	// learned, if set, hears whether tar worked for an image: true once a
	// container confirmed a tar sync, false once one confirmed an agent
	// sync or has no tar.
	learned func(name string, tar bool)
	// open, if set, opens the agent's session into a container ahead of
	// its first sync (sync.AgentTransport.Open).
	open func(ctx context.Context, t sync.Target, roots []string)

	mu     gosync.Mutex
	tarRef map[string]bool // image ref -> its containers sync through tar
}

func newFallbackTransport(tar, agent sync.Transport) *fallbackTransport {
	return &fallbackTransport{tar: tar, agent: agent, tarRef: map[string]bool{}}
}

// For returns the transport for the container c.
func (f *fallbackTransport) For(c container) sync.Transport {
	return transportFunc(func(ctx context.Context, t sync.Target, ops []sync.Op) error {
		f.mu.Lock()
		tar := f.tarRef[c.Image.Ref]
		f.mu.Unlock()
		first, second := f.agent, f.tar
		if tar {
			first, second = f.tar, f.agent
		}
		err := first.Sync(ctx, t, ops)
		if !missingTransport(err) {
			if err == nil {
				f.decide(c, !tar)
			}
			return err
		}
		// The container lacks what it was thought to have: ask it the
		// other way.
		err2 := second.Sync(ctx, t, ops)
		switch {
		case err2 == nil:
			f.decide(c, tar)
			return nil
		case missingTransport(err2):
			// Neither: the pod needs the agent, which the next deploy
			// delivers once the runner hears the image has no tar.
			if f.learned != nil {
				f.learned(c.Image.Name, false)
			}
			noAgent := err
			if tar {
				noAgent = err2
			}
			return fmt.Errorf("%w (the image has no tar either)", noAgent)
		}
		return err2
	})
}

// Warm opens the agent session into c allowing roots, unless c's image is
// known to sync through tar. It reports and learns nothing: a container
// without the agent is found out by its first sync, as without Warm.
func (f *fallbackTransport) Warm(ctx context.Context, c container, roots []string) {
	f.mu.Lock()
	tar := f.tarRef[c.Image.Ref]
	f.mu.Unlock()
	if f.open != nil && !tar {
		f.open(ctx, c.Target, roots)
	}
}

// missingTransport reports whether err says the container lacks tar or
// skiff-agent.
func missingTransport(err error) bool {
	return errors.Is(err, sync.ErrNoTar) || errors.Is(err, sync.ErrNoAgent)
}

// decide records that the containers of c's image sync through the agent
// (or tar), as c just confirmed.
func (f *fallbackTransport) decide(c container, agent bool) {
	f.mu.Lock()
	f.tarRef[c.Image.Ref] = !agent
	f.mu.Unlock()
	if f.learned != nil {
		f.learned(c.Image.Name, !agent)
	}
}

// transportFunc is a function that is a sync.Transport.
type transportFunc func(ctx context.Context, t sync.Target, ops []sync.Op) error

// Sync implements sync.Transport.
func (f transportFunc) Sync(ctx context.Context, t sync.Target, ops []sync.Op) error {
	return f(ctx, t, ops)
}
