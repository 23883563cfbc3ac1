package sync

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"skiff.dev/skiff/internal/fsutil"
	"skiff.dev/skiff/internal/sync/agentproto"
)

// Sent counts what the agent transport sent for the Writes whose Delta it
// is (Op.Delta), over every container: a caller reads it after a sync to
// say how much went.
type Sent struct {
	// Files is how many files were sent, Patched how many of them as a
	// patch.
	Files, Patched atomic.Int64
	// Bytes is how many bytes of content or patch were sent, Size the
	// size of the files they make.
	Bytes, Size atomic.Int64
	// Prepare is how long reading, hashing and diffing the files took, in
	// nanoseconds, summed over the containers.
	Prepare atomic.Int64
}

// deltaSum is a file content's SHA-256.
type deltaSum = [sha256.Size]byte

// deltaBase is the latest content the agent transport sent from one
// local file whose Writes have a Delta (a hot-swapped executable: one
// per artifact), kept to diff the next content against, with the patch
// it last made, which the other containers of the artifact take too. The
// content stays in its file, open here: it is read through a buffer to
// index it, and mapped only to diff it; not a copy in the heap. A hot swap replaces the file's path
// with a new file; a file rewritten in place instead no longer holds the
// base, and its next Write goes whole.
type deltaBase struct {
	sum   deltaSum
	file  *os.File
	size  int64
	fi    fs.FileInfo   // the local file's when it was read
	index *deltaIndex   // set before ready closes; nil when it could not be read
	ready chan struct{} // closed once index is built
	patch deltaPatch    // the patch last made to this content
}

// deltaPatch is a KindPatch payload that makes the content to from the
// content from.
type deltaPatch struct {
	from, to deltaSum
	payload  []byte
}

// deltaWorth is the share of a file's size a patch must stay under to be
// sent instead of the file.
const deltaWorth = 0.9

// patchFor returns a KindPatch payload that makes the content of lf
// (whose sum is sum) for the Write op from the content base (the sum of
// what the session last wrote at op.Dest; known says whether there is
// one), or nil when the transport does not have that base or a patch
// would not pay. It keeps lf's file as the base of the next patch for
// op.Local, in place of the previous one: one content per local file.
func (t *AgentTransport) patchFor(op Op, sum deltaSum, lf *localFile, fi fs.FileInfo, base deltaSum, known bool) []byte {
	t.deltaMu.Lock()
	defer t.deltaMu.Unlock()
	b := t.bases[op.Local]
	var payload []byte
	switch {
	case !known || b == nil:
	case b.patch.from == base && b.patch.to == sum:
		payload = b.patch.payload
	case b.sum == base:
		<-b.ready
		payload = b.diff(lf, sum)
		b.patch = deltaPatch{from: base, to: sum, payload: payload}
	}
	if b == nil || b.sum != sum {
		f, err := dupFile(lf.f)
		if err != nil {
			return payload // no base for the next patch: it goes whole
		}
		nb := &deltaBase{sum: sum, file: f, size: lf.size, fi: fi, ready: make(chan struct{})}
		if b != nil {
			nb.patch = b.patch
		}
		// Indexed off the swap's path: the next patch is made from it.
		go nb.build(b)
		if t.bases == nil {
			t.bases = map[string]*deltaBase{}
		}
		t.bases[op.Local] = nb
	}
	return payload
}

// build indexes the base's content and closes ready; a content that
// cannot be read leaves no index, and no patch is made from it. The base
// replaces prev, if not nil, which no patch is made from any more: build
// closes its file and reuses its index's table.
func (b *deltaBase) build(prev *deltaBase) {
	defer close(b.ready)
	var table []uint64
	if prev != nil {
		<-prev.ready
		if prev.index != nil {
			table, prev.index = prev.index.slots, nil
		}
		prev.file.Close()
	}
	x, err := newDeltaIndex(b.file, b.size, table)
	if err == nil {
		b.index = x
	}
}

// diff returns the patch payload that makes the content of lf (whose sum
// is sum) from the base, or nil when it would not pay or a file cannot be
// read. The base must be ready.
func (b *deltaBase) diff(lf *localFile, sum deltaSum) []byte {
	if b.index == nil {
		return nil
	}
	// A file rewritten in place, not replaced, no longer holds the base.
	if fi, err := b.file.Stat(); err != nil || !fsutil.Unchanged(b.fi, fi) {
		return nil
	}
	base, err := mapFile(b.file, b.size)
	if err != nil {
		return nil
	}
	defer base.release()
	content, err := mapFile(lf.f, lf.size)
	if err != nil {
		return nil
	}
	defer content.release()
	payload := agentproto.AppendPatchHeader(nil, agentproto.PatchHeader{Base: b.sum, Result: sum, Size: lf.size})
	payload, _ = appendDelta(payload, base, b.index, content)
	if float64(len(payload)) > deltaWorth*float64(lf.size) {
		return nil // not kept either
	}
	return payload
}

// readDelta returns the SHA-256 of the file lf of the Write op and its
// information. The sum is the one kept for op.Local when lf is still the
// file it was computed from (the other replicas of a hot swap), else
// computed now, reading the file: not mapping it, which would make its
// pages the process's.
func (t *AgentTransport) readDelta(op Op, lf *localFile) (sum deltaSum, fi fs.FileInfo, err error) {
	fi, err = lf.f.Stat()
	if err != nil {
		return sum, nil, err
	}
	if fi.Size() != lf.size {
		return sum, nil, fmt.Errorf("it changed while it was read: %d bytes, then %d", lf.size, fi.Size())
	}
	t.deltaMu.Lock()
	b := t.bases[op.Local]
	t.deltaMu.Unlock()
	if b != nil && fsutil.Unchanged(b.fi, fi) {
		return b.sum, fi, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(lf.f, 0, lf.size)); err != nil {
		return sum, nil, err
	}
	h.Sum(sum[:0])
	return sum, fi, nil
}
