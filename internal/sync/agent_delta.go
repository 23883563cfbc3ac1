package sync

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

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
// it last made, which the other containers of the artifact take too.
type deltaBase struct {
	sum     deltaSum
	content []byte
	fi      fs.FileInfo   // the local file's, when content was read from it
	index   *deltaIndex   // set before ready closes
	ready   chan struct{} // closed once index is built
	patch   deltaPatch    // the patch last made to this content
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

// patchFor returns a KindPatch payload that makes content (whose sum is
// sum) for the Write op from the content base (the sum of what the
// session last wrote at op.Dest; known says whether there is one), or nil
// when the transport does not have that base or a patch would not pay.
// It keeps content as the base of the next patch for op.Local, in place
// of the previous one: one content per local file. The caller must not
// change content.
func (t *AgentTransport) patchFor(op Op, content []byte, sum deltaSum, fi fs.FileInfo, base deltaSum, known bool) []byte {
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
		payload = agentproto.AppendPatchHeader(nil, agentproto.PatchHeader{Base: base, Result: sum, Size: int64(len(content))})
		payload, _ = appendDelta(payload, b.content, b.index, content)
		if float64(len(payload)) > deltaWorth*float64(len(content)) {
			payload = nil // not kept either
		}
		b.patch = deltaPatch{from: base, to: sum, payload: payload}
	}
	if b == nil || b.sum != sum {
		nb := &deltaBase{sum: sum, content: content, fi: fi, ready: make(chan struct{})}
		if b != nil {
			nb.patch = b.patch
		}
		// Indexed off the swap's path: the next patch is made from it.
		go func() {
			nb.index = newDeltaIndex(content)
			close(nb.ready)
		}()
		if t.bases == nil {
			t.bases = map[string]*deltaBase{}
		}
		t.bases[op.Local] = nb
	}
	return payload
}

// readDelta returns the content of the file lf of the Write op, its
// SHA-256 and its information: those kept for op.Local when it is still
// the file they were read from (the other replicas of a hot swap), or
// else read and hashed now.
func (t *AgentTransport) readDelta(op Op, lf *localFile) ([]byte, deltaSum, fs.FileInfo, error) {
	fi, err := lf.f.Stat()
	if err != nil {
		return nil, deltaSum{}, nil, err
	}
	t.deltaMu.Lock()
	b := t.bases[op.Local]
	t.deltaMu.Unlock()
	if b != nil && b.fi != nil && os.SameFile(b.fi, fi) && b.fi.Size() == fi.Size() && b.fi.ModTime().Equal(fi.ModTime()) {
		return b.content, b.sum, fi, nil
	}
	content := make([]byte, lf.size)
	if _, err := io.ReadFull(lf.f, content); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("it is shorter than its %d bytes: it changed while it was read", lf.size)
		}
		return nil, deltaSum{}, nil, err
	}
	return content, sha256.Sum256(content), fi, nil
}
