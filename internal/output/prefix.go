// Package output formats what skiff shows a user: prefixed lines for
// concurrent build outputs and log streams.
package output

import (
	"bytes"
	"io"
	"sync"
)

// Lines serialises whole lines from several writers onto one stream, so
// that concurrent outputs never interleave within a line.
type Lines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLines returns a Lines writing to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w} }

// Prefixed returns a writer that writes every line it receives to the
// stream with prefix in front. Call Flush (or Close) on it to write a last
// line that has no newline.
func (l *Lines) Prefixed(prefix string) *PrefixWriter {
	return &PrefixWriter{lines: l, prefix: []byte(prefix)}
}

// PrefixWriter is one source of lines; see Lines.Prefixed.
type PrefixWriter struct {
	lines  *Lines
	prefix []byte
	buf    []byte
}

// Write buffers p and writes out each complete line.
func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if err := p.emit(p.buf[:i+1]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Flush writes a pending partial line, ended with a newline.
func (p *PrefixWriter) Flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	line := append(p.buf, '\n')
	p.buf = nil
	return p.emit(line)
}

// Close flushes; the underlying stream stays open.
func (p *PrefixWriter) Close() error { return p.Flush() }

func (p *PrefixWriter) emit(line []byte) error {
	p.lines.mu.Lock()
	defer p.lines.mu.Unlock()
	out := make([]byte, 0, len(p.prefix)+len(line))
	out = append(append(out, p.prefix...), line...)
	_, err := p.lines.w.Write(out)
	return err
}
