package agentproto

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A KindPatch frame's payload says how to make the new content of Path
// from the file the agent already has there (the base), so that a large
// file that changed a little (a hot-swapped executable) is not sent
// whole:
//
//	base    32 bytes: the SHA-256 of the base the patch applies to
//	result  32 bytes: the SHA-256 of the file it makes
//	size    uvarint: the size of the file it makes
//	ops     until the payload ends, each one of:
//	          'C' offset uvarint, length uvarint: copy length bytes of the base from offset
//	          'L' length uvarint, then that many bytes: copy them
//
// The ops make the new file from its start, in order, and must make
// exactly size bytes. The agent refuses a patch whose base is not the
// file at Path, and one whose result does not hash to result; skiff then
// sends the file whole.

// PatchHeaderSize is the size of a patch payload's fixed part.
const PatchHeaderSize = 2 * sha256.Size

// Patch op codes.
const (
	patchCopy    = 'C'
	patchLiteral = 'L'
)

// PatchHeader is the start of a KindPatch payload.
type PatchHeader struct {
	Base   [sha256.Size]byte // the SHA-256 of the file the patch applies to
	Result [sha256.Size]byte // the SHA-256 of the file it makes
	Size   int64             // the size of the file it makes
}

// AppendPatchHeader appends h, encoded, to b.
func AppendPatchHeader(b []byte, h PatchHeader) []byte {
	b = append(b, h.Base[:]...)
	b = append(b, h.Result[:]...)
	return binary.AppendUvarint(b, uint64(h.Size))
}

// AppendPatchCopy appends an op copying n bytes of the base from offset.
func AppendPatchCopy(b []byte, offset, n int64) []byte {
	b = append(b, patchCopy)
	b = binary.AppendUvarint(b, uint64(offset))
	return binary.AppendUvarint(b, uint64(n))
}

// AppendPatchLiteral appends an op writing lit.
func AppendPatchLiteral(b []byte, lit []byte) []byte {
	b = append(b, patchLiteral)
	b = binary.AppendUvarint(b, uint64(len(lit)))
	return append(b, lit...)
}

// ErrPatch means a patch payload is malformed: an unknown op, an op
// outside the base, or ops that do not make the size the header says.
var ErrPatch = errors.New("malformed patch")

// PatchReader reads a KindPatch payload.
type PatchReader struct {
	r    *bufio.Reader
	h    PatchHeader
	made int64 // bytes the ops read so far make
}

// NewPatchReader reads the header of the patch payload r.
func NewPatchReader(r io.Reader) (*PatchReader, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	p := &PatchReader{r: br}
	var fixed [PatchHeaderSize]byte
	if _, err := io.ReadFull(br, fixed[:]); err != nil {
		return nil, fmt.Errorf("reading the patch header: %w", truncatedPatch(err))
	}
	copy(p.h.Base[:], fixed[:sha256.Size])
	copy(p.h.Result[:], fixed[sha256.Size:])
	size, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("reading the patch's size: %w", truncatedPatch(err))
	}
	if size > 1<<62 {
		return nil, fmt.Errorf("%w: result size %d", ErrPatch, size)
	}
	p.h.Size = int64(size)
	return p, nil
}

// Header is the patch's header.
func (p *PatchReader) Header() PatchHeader { return p.h }

// Apply writes the file the patch makes to w, copying from base and from
// the payload, and checks that it makes exactly the header's size. It
// does not check the hashes: the caller hashes what it writes. Each op is
// one write to w, or a few for a long literal: give it a buffered w.
func (p *PatchReader) Apply(w io.Writer, base []byte) error {
	var buf []byte
	for {
		op, err := p.r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch op {
		case patchCopy:
			off, err1 := binary.ReadUvarint(p.r)
			n, err2 := binary.ReadUvarint(p.r)
			if err := errors.Join(err1, err2); err != nil {
				return truncatedPatch(err)
			}
			if off > uint64(len(base)) || n > uint64(len(base))-off {
				return fmt.Errorf("%w: copy of %d bytes at %d, outside the base of %d bytes", ErrPatch, n, off, len(base))
			}
			if err := p.grow(n); err != nil {
				return err
			}
			if _, err := w.Write(base[off : off+n]); err != nil {
				return err
			}
		case patchLiteral:
			n, err := binary.ReadUvarint(p.r)
			if err != nil {
				return truncatedPatch(err)
			}
			if err := p.grow(n); err != nil {
				return err
			}
			if buf == nil {
				buf = make([]byte, 64<<10)
			}
			for n > 0 {
				b := buf[:min(n, uint64(len(buf)))]
				if _, err := io.ReadFull(p.r, b); err != nil {
					return truncatedPatch(err)
				}
				if _, err := w.Write(b); err != nil {
					return err
				}
				n -= uint64(len(b))
			}
		default:
			return fmt.Errorf("%w: unknown op %q", ErrPatch, op)
		}
	}
	if p.made != p.h.Size {
		return fmt.Errorf("%w: its ops make %d bytes, its header says %d", ErrPatch, p.made, p.h.Size)
	}
	return nil
}

// grow counts n more bytes made, refusing more than the header's size.
func (p *PatchReader) grow(n uint64) error {
	if n > uint64(p.h.Size-p.made) {
		return fmt.Errorf("%w: its ops make more than the %d bytes its header says", ErrPatch, p.h.Size)
	}
	p.made += int64(n)
	return nil
}

// truncatedPatch is ErrTruncated for a payload that ends inside an op or
// the header: the frame's payload ended there, or the stream did.
func truncatedPatch(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: it ends inside an op", ErrPatch)
	}
	return err
}
