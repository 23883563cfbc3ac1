package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	gosync "sync"

	"skiff.dev/skiff/internal/render"
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
	Image render.Image
}

// containerSource finds the running containers of an image.
type containerSource interface {
	containers(ctx context.Context, image render.Image) ([]container, error)
}

// syncer sends planned file operations to every running container of an
// artifact and remembers what it sent since the artifact's image was
// built, so that a container that starts later (a restart, a replaced
// pod, another replica) receives all of it.
type syncer struct {
	source    containerSource
	transport func(c container) sync.Transport

	mu      gosync.Mutex
	seq     int                     // numbers operations in the order they are planned
	history map[string]*syncHistory // by image reference (render.Image.Ref)
	synced  map[string]int          // container Key -> seq it is up to date with
}

// syncHistory is what has been synced into one image's containers: the
// latest operation for each destination.
type syncHistory struct {
	image render.Image
	ops   map[string]seqOp // by Dest
	seq   int              // the latest seq in ops
}

type seqOp struct {
	sync.Op
	seq int
}

func newSyncer(source containerSource, transport func(c container) sync.Transport) *syncer {
	return &syncer{source: source, transport: transport, history: map[string]*syncHistory{}, synced: map[string]int{}}
}

// syncReport says what one sync did.
type syncReport struct {
	// Containers is how many containers received operations.
	Containers int
}

// Sync records ops for the containers of image and brings every running
// one up to date: those that already had everything earlier receive ops,
// new ones the whole history. It sends to the containers in parallel and
// returns an error naming each container that failed.
func (s *syncer) Sync(ctx context.Context, image render.Image, ops []sync.Op) (syncReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.history[image.Ref]
	if h == nil {
		h = &syncHistory{image: image, ops: map[string]seqOp{}}
		s.history[image.Ref] = h
	}
	for _, op := range ops {
		s.seq++
		h.ops[op.Dest] = seqOp{Op: op, seq: s.seq}
		h.seq = s.seq
	}
	return s.catchUp(ctx, h)
}

// CatchUp syncs the history of every image into its running containers
// that do not have all of it yet: containers that restarted or started
// since the last sync. It reports how many containers it synced.
func (s *syncer) CatchUp(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	var errs []error
	for _, ref := range slices.Sorted(maps.Keys(s.history)) {
		r, err := s.catchUp(ctx, s.history[ref])
		n += r.Containers
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// Forget drops what was synced into the image ref: a rebuilt image has
// the changes.
func (s *syncer) Forget(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.history, ref)
}

// catchUp sends each running container of h's image the operations of h
// it lacks. The caller holds s.mu.
func (s *syncer) catchUp(ctx context.Context, h *syncHistory) (syncReport, error) {
	cs, err := s.source.containers(ctx, h.image)
	if err != nil {
		return syncReport{}, err
	}
	type job struct {
		c   container
		ops []sync.Op
	}
	var jobs []job
	for _, c := range cs {
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
		j := job{c: c}
		for _, op := range todo {
			j.ops = append(j.ops, op.Op)
		}
		jobs = append(jobs, j)
	}
	errs := make([]error, len(jobs))
	var wg gosync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			errs[i] = s.transport(j.c).Sync(ctx, j.c.Target, j.ops)
		})
	}
	wg.Wait()
	for i, j := range jobs {
		if errs[i] == nil {
			s.synced[j.c.Key] = h.seq
		}
	}
	return syncReport{Containers: len(jobs)}, errors.Join(errs...)
}

// fallbackTransport syncs through tar where the image has it and through
// skiff-agent where it does not, remembering per artifact which one
// works: a rebuild seldom takes tar out of an image, and if it does, tar
// fails with sync.ErrNoTar and the agent takes over again.
type fallbackTransport struct {
	tar, agent sync.Transport
	// learned, if set, hears whether tar worked for an image.
	learned func(name string, tar bool)

	mu       gosync.Mutex
	useAgent map[string]bool // by image name
}

func newFallbackTransport(tar, agent sync.Transport) *fallbackTransport {
	return &fallbackTransport{tar: tar, agent: agent, useAgent: map[string]bool{}}
}

// For returns the transport for a container of the image named name.
func (f *fallbackTransport) For(name string) sync.Transport {
	return transportFunc(func(ctx context.Context, t sync.Target, ops []sync.Op) error {
		f.mu.Lock()
		agent := f.useAgent[name]
		f.mu.Unlock()
		if !agent {
			err := f.tar.Sync(ctx, t, ops)
			if !errors.Is(err, sync.ErrNoTar) {
				if err == nil && f.learned != nil {
					f.learned(name, true)
				}
				return err
			}
			f.mu.Lock()
			f.useAgent[name] = true
			f.mu.Unlock()
			if f.learned != nil {
				f.learned(name, false)
			}
		}
		if err := f.agent.Sync(ctx, t, ops); err != nil {
			if errors.Is(err, sync.ErrNoAgent) {
				return fmt.Errorf("%w (the image has no tar either)", err)
			}
			return err
		}
		return nil
	})
}

// transportFunc is a function that is a sync.Transport.
type transportFunc func(ctx context.Context, t sync.Target, ops []sync.Op) error

// Sync implements sync.Transport.
func (f transportFunc) Sync(ctx context.Context, t sync.Target, ops []sync.Op) error {
	return f(ctx, t, ops)
}
