// Package agentproto is the wire format between skiff and skiff-agent, the
// helper that applies file operations in containers that have no tar. It
// uses only the standard library so that the agent stays small.
//
// Both directions are a stream that starts with Magic and the protocol
// Version (a uvarint), followed by frames. A frame is:
//
//	kind   1 byte (a Kind)
//	path   uvarint length, then that many bytes (an absolute slash path)
//	mode   uvarint (fs.FileMode permission bits; no others are carried)
//	size   uvarint, then that many bytes of payload
//
// skiff sends operations (KindWrite with the file's content as payload,
// KindPatch with a patch against the file already at the path (see
// PatchHeader) as payload, KindSymlink with the link's target as payload, KindMkdir, KindDelete,
// KindChmod, KindAllow to allow one more destination, and KindRestart to
// restart the container's supervised process) and ends each
// batch with KindEnd. The agent answers each operation, in order, with
// KindOK or KindFailed (the payload is the error message), and each
// KindEnd with KindEnd, so one exec session carries any number of
// batches: skiff keeps one open per container. A stream that ends at a
// frame boundary ends the session; one that ends inside a frame is an
// error.
package agentproto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Magic opens every stream.
const Magic = "SKIFFAGT"

// Version is the protocol version this package speaks.
// Version 2 added KindSymlink and dropped the setuid, setgid and sticky
// bits; version 3 added KindAllow, for sessions that outlive one batch;
// version 4 added KindRestart, for hot swaps; version 5 added KindPatch,
// so that a hot swap sends what changed in the executable.
const Version = 5

// AppDir is the directory of a development image that the container's
// user may write, whatever it is (mode 1777): hot-swapped executables go
// there, and the supervisor's ControlSocket.
const AppDir = "/skiff/app"

// ControlSocket is where skiff-agent run, the supervisor of a development
// container's process, takes restart requests.
const ControlSocket = AppDir + "/.supervisor"

// MaxPath is the longest path a frame may carry.
const MaxPath = 4096

// Kind is a frame's type.
type Kind byte

// Frame kinds: operations from skiff, answers from the agent, and the end
// of a batch in both directions.
const (
	KindWrite   Kind = 'W' // write the payload to Path atomically, with Mode
	KindPatch   Kind = 'P' // write Path atomically, with Mode, as the payload's patch makes it from the file at Path
	KindLink    Kind = 'L' // make Path a symbolic link to the payload, a relative target
	KindMkdir   Kind = 'M' // create directory Path and its parents, with Mode
	KindDelete  Kind = 'D' // remove Path, a file or a tree; missing is fine
	KindChmod   Kind = 'C' // set Path's mode to Mode
	KindAllow   Kind = 'A' // allow operations on Path and below it, as --allow does
	KindRestart Kind = 'R' // restart the supervised process from the executable Path ("" for its own)
	KindEnd     Kind = 'E' // end of a batch
	KindOK      Kind = 'O' // the operation on Path succeeded
	KindFailed  Kind = 'F' // the operation on Path failed; payload says why
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindWrite:
		return "write"
	case KindPatch:
		return "patch"
	case KindLink:
		return "symlink"
	case KindMkdir:
		return "mkdir"
	case KindDelete:
		return "delete"
	case KindChmod:
		return "chmod"
	case KindAllow:
		return "allow"
	case KindRestart:
		return "restart"
	case KindEnd:
		return "end"
	case KindOK:
		return "ok"
	case KindFailed:
		return "failed"
	}
	return fmt.Sprintf("kind %q", byte(k))
}

// modeBits are the mode bits a frame carries: permission bits alone, so
// that a sync never makes a setuid or setgid file.
const modeBits = fs.ModePerm

// Frame is a frame's header; its payload of Size bytes follows it.
type Frame struct {
	Kind Kind
	Path string
	Mode fs.FileMode
	Size int64
}

// ErrTruncated means the stream ended inside a frame, e.g. in the middle of
// a file's content.
var ErrTruncated = errors.New("stream ended inside a frame")

// Encoder writes a stream of frames. It buffers: call Flush (or encode a
// KindEnd frame, which flushes) to send what was written.
type Encoder struct {
	w       *bufio.Writer
	started bool
	buf     []byte
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 64<<10)}
}

// Encode writes f and then exactly f.Size bytes of payload from payload (nil
// when f.Size is 0). A payload shorter than f.Size is an error, and the
// stream is then unusable.
func (e *Encoder) Encode(f Frame, payload io.Reader) error {
	if len(f.Path) > MaxPath {
		return fmt.Errorf("path %.64s... is longer than %d bytes", f.Path, MaxPath)
	}
	if f.Size < 0 {
		return fmt.Errorf("%s %s: negative size %d", f.Kind, f.Path, f.Size)
	}
	b := e.buf[:0]
	if !e.started {
		b = append(b, Magic...)
		b = binary.AppendUvarint(b, Version)
		e.started = true
	}
	b = append(b, byte(f.Kind))
	b = binary.AppendUvarint(b, uint64(len(f.Path)))
	b = append(b, f.Path...)
	b = binary.AppendUvarint(b, uint64(f.Mode&modeBits))
	b = binary.AppendUvarint(b, uint64(f.Size))
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	if f.Size > 0 {
		if payload == nil {
			return fmt.Errorf("%s %s: no payload for %d bytes", f.Kind, f.Path, f.Size)
		}
		n, err := io.CopyN(e.w, payload, f.Size)
		if err == io.EOF {
			return fmt.Errorf("%s %s: content is %d bytes, not %d: the file changed while it was sent", f.Kind, f.Path, n, f.Size)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", f.Kind, f.Path, err)
		}
	}
	if f.Kind == KindEnd {
		return e.w.Flush()
	}
	return nil
}

// Flush sends buffered frames.
func (e *Encoder) Flush() error { return e.w.Flush() }

// Decoder reads a stream of frames.
type Decoder struct {
	r       *bufio.Reader
	started bool
	payload payloadReader
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next frame and a reader of its payload, valid until the
// next call; Next skips whatever of the previous payload was not read. It
// returns io.EOF when the stream ends at a frame boundary, ErrTruncated
// when it ends inside one, and an error naming the problem for a stream
// that is not this protocol or not this version.
func (d *Decoder) Next() (Frame, io.Reader, error) {
	if d.payload.left > 0 {
		if _, err := io.Copy(io.Discard, &d.payload); err != nil {
			return Frame{}, nil, err
		}
	}
	if !d.started {
		if err := d.header(); err != nil {
			return Frame{}, nil, err
		}
		d.started = true
	}
	kind, err := d.r.ReadByte()
	if err != nil {
		return Frame{}, nil, err // io.EOF at a boundary
	}
	f := Frame{Kind: Kind(kind)}
	n, err := d.uvarint()
	if err != nil {
		return Frame{}, nil, err
	}
	if n > MaxPath {
		return Frame{}, nil, fmt.Errorf("frame path is %d bytes, longer than %d: corrupt stream", n, MaxPath)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(d.r, p); err != nil {
		return Frame{}, nil, truncated(err)
	}
	f.Path = string(p)
	mode, err := d.uvarint()
	if err != nil {
		return Frame{}, nil, err
	}
	f.Mode = fs.FileMode(mode) & modeBits
	size, err := d.uvarint()
	if err != nil {
		return Frame{}, nil, err
	}
	if size > 1<<62 {
		return Frame{}, nil, fmt.Errorf("frame size %d: corrupt stream", size)
	}
	f.Size = int64(size)
	d.payload = payloadReader{r: d.r, left: f.Size}
	return f, &d.payload, nil
}

func (d *Decoder) header() error {
	m := make([]byte, len(Magic))
	if _, err := io.ReadFull(d.r, m); err != nil {
		if err == io.EOF {
			return err
		}
		return fmt.Errorf("reading the stream header: %w", truncated(err))
	}
	if string(m) != Magic {
		return fmt.Errorf("the stream does not start with %q (got %q): not a skiff-agent stream", Magic, m)
	}
	v, err := d.uvarint()
	if err != nil {
		return err
	}
	if v != Version {
		return &VersionError{Got: v}
	}
	return nil
}

// VersionError means the other side speaks another protocol version: a
// skiff-agent and a skiff that were not built together.
type VersionError struct {
	Got uint64 // the version the stream announced
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("protocol version %d is not supported (this side speaks %d): use a skiff-agent built with the same skiff", e.Got, Version)
}

func (d *Decoder) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, truncated(err)
	}
	return v, nil
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}

// payloadReader reads a frame's payload and reports ErrTruncated if the
// stream ends before all of it.
type payloadReader struct {
	r    io.Reader
	left int64
}

func (p *payloadReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= int64(n)
	if err == io.EOF && p.left > 0 {
		return n, ErrTruncated
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
