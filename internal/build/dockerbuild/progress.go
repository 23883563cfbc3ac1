package dockerbuild

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
)

// tailLines is how many of a failed step's last output lines an error
// repeats.
const tailLines = 15

// progress reads the daemon's JSON message stream of a build, writes it to
// out line by line, and keeps what the result and an error report need:
// the image ID, and the current step with its last output lines.
type progress struct {
	out        io.Writer
	dockerfile []byte
	bc         *buildContext
	buildKit   bool

	imageID string
	failure *StepError

	// classic builder
	partial []byte
	step    string
	tail    *tail

	// BuildKit
	vertexes map[string]*vertex
	numbered int
}

// vertex is a BuildKit build step as the trace reports it.
type vertex struct {
	traceVertex
	num     int
	shown   bool
	done    bool
	partial map[int64][]byte
	tail    *tail
}

func newProgress(out io.Writer, dockerfile []byte, bc *buildContext, buildKit bool) *progress {
	return &progress{
		out: out, dockerfile: dockerfile, bc: bc, buildKit: buildKit,
		tail: newTail(), vertexes: map[string]*vertex{},
	}
}

// consume reads messages until the stream ends. A build error ends up in
// p.failure; the returned error is one of reading the stream itself.
func (p *progress) consume(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			p.flush()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := p.message(&m); err != nil {
			return err
		}
	}
}

func (p *progress) message(m *jsonstream.Message) error {
	switch {
	case m.Error != nil:
		p.flush()
		p.fail(m.Error)
	case m.Aux != nil:
		return p.aux(m)
	case m.Stream != "":
		p.stream(m.Stream)
	case m.Status != "":
		// Pulls: one line per state change, no progress bars.
		if m.Progress != nil && (m.Progress.Current > 0 || m.Progress.Total > 0) {
			return nil
		}
		if m.ID != "" {
			p.line(m.ID + ": " + m.Status)
		} else {
			p.line(m.Status)
		}
	}
	return nil
}

func (p *progress) aux(m *jsonstream.Message) error {
	switch m.ID {
	case "moby.buildkit.trace":
		var raw []byte
		if err := json.Unmarshal(*m.Aux, &raw); err != nil {
			return fmt.Errorf("decoding BuildKit progress: %w", err)
		}
		st, err := decodeTrace(raw)
		if err != nil {
			return err
		}
		p.trace(st)
	case "", "moby.image.id":
		// The classic builder reports the image of each stage it
		// finishes; the last one is the result.
		var r struct{ ID string }
		if err := json.Unmarshal(*m.Aux, &r); err == nil && r.ID != "" {
			p.imageID = r.ID
		}
	}
	return nil
}

// stepLine is how the classic builder starts a step.
var stepLine = regexp.MustCompile(`^Step \d+/\d+ : `)

// stream handles classic builder output, which may split lines across
// messages.
func (p *progress) stream(s string) {
	p.partial = append(p.partial, s...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return
		}
		line := stripANSI(string(p.partial[:i]))
		p.partial = p.partial[i+1:]
		p.line(line)
		switch {
		case stepLine.MatchString(line):
			p.step = line
			p.tail = newTail()
		case strings.HasPrefix(line, " ---> "), strings.HasPrefix(line, "Removing intermediate container "):
			// The builder's own bookkeeping, not the step's output.
		default:
			p.tail.add(line)
		}
	}
}

func (p *progress) flush() {
	if len(p.partial) > 0 {
		p.stream("\n")
	}
}

func (p *progress) line(s string) {
	fmt.Fprintln(p.out, s)
}

// trace renders BuildKit progress the way `docker build --progress=plain`
// does: "#N name" when a step starts, "#N output" for its output, and
// "#N DONE 1.2s", "#N CACHED" or "#N ERROR: ..." when it ends. BuildKit's
// [internal] steps, and the copy of the uploaded context, are shown only
// when they fail.
func (p *progress) trace(st *traceStatus) {
	for _, tv := range st.vertexes {
		v := p.vertexes[tv.digest]
		if v == nil {
			v = &vertex{partial: map[int64][]byte{}, tail: newTail()}
			p.vertexes[tv.digest] = v
		}
		v.traceVertex = tv
		internal := strings.HasPrefix(tv.name, "[internal]") || tv.name == "copy /context /"
		if !v.shown && (tv.hasStarted || tv.cached) && (!internal || tv.err != "") {
			p.numbered++
			v.num = p.numbered
			v.shown = true
			p.line(fmt.Sprintf("#%d %s", v.num, tv.name))
		}
		if v.shown && !v.done && (tv.hasEnded || tv.cached) {
			v.done = true
			p.flushVertex(v)
			switch {
			case tv.err != "":
				p.line(fmt.Sprintf("#%d ERROR: %s", v.num, tv.err))
			case tv.cached:
				p.line(fmt.Sprintf("#%d CACHED", v.num))
			default:
				p.line(fmt.Sprintf("#%d DONE %.1fs", v.num, tv.completed.Sub(tv.started).Seconds()))
			}
		}
	}
	for _, l := range st.logs {
		v := p.vertexes[l.vertex]
		if v == nil {
			continue
		}
		buf := append(v.partial[l.stream], l.msg...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			p.vertexLine(v, string(buf[:i]))
			buf = buf[i+1:]
		}
		v.partial[l.stream] = buf
	}
}

func (p *progress) flushVertex(v *vertex) {
	for s, buf := range v.partial {
		if len(buf) > 0 {
			p.vertexLine(v, string(buf))
			v.partial[s] = nil
		}
	}
}

func (p *progress) vertexLine(v *vertex, s string) {
	s = stripANSI(strings.TrimRight(s, "\r"))
	v.tail.add(s)
	if v.shown {
		p.line(fmt.Sprintf("#%d %s", v.num, s))
	}
}

// fail records the build's error with the step it belongs to: the classic
// builder's current step, or the BuildKit step that reported an error.
func (p *progress) fail(e *jsonstream.Error) {
	f := &StepError{File: p.bc.dockerfile, Message: e.Message, Code: e.Code}
	if p.buildKit {
		var failed *vertex
		for _, v := range p.vertexes {
			if v.err != "" && (failed == nil || v.num < failed.num || failed.num == 0) {
				failed = v
			}
		}
		if failed != nil {
			p.flushVertex(failed)
			f.Step = failed.name
			f.Output = failed.tail.lines()
			f.Line = locateBuildKitStep(p.dockerfile, failed.name)
		}
	} else if p.step != "" {
		f.Step = strings.TrimSuffix(p.step, " ")
		f.Output = p.tail.lines()
		f.Line = locateClassicStep(p.dockerfile, p.step)
	}
	f.Hint = hint(f, p.bc)
	p.failure = f
}

// tail keeps the last tailLines lines.
type tail struct {
	buf []string
}

func newTail() *tail { return &tail{} }

func (t *tail) add(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	t.buf = append(t.buf, s)
	if len(t.buf) > tailLines {
		t.buf = t.buf[len(t.buf)-tailLines:]
	}
}

func (t *tail) lines() []string { return append([]string(nil), t.buf...) }

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// stripANSI removes colour codes (the classic builder colours a step's
// standard error red).
func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	return ansi.ReplaceAllString(s, "")
}
