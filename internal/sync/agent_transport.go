package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// DefaultAgentPath is where skiff-agent is in a container that skiff
// delivered it into.
const DefaultAgentPath = "/skiff/skiff-agent"

// AgentTransport syncs through skiff-agent, which needs no tar or shell in
// the image: it execs "skiff-agent apply --allow ROOT..." with the roots of
// the ops, streams the ops in agentproto and reads one result per op. The
// agent writes files atomically (temp file, then rename) and refuses paths
// outside the roots.
type AgentTransport struct {
	Exec Executor
	// Path is the agent's path in the container; "" means DefaultAgentPath.
	Path string
}

// Sync implements Transport. It checks every Op first (see TarTransport),
// and returns nil only when the agent answered OK for every operation it
// was sent. The agent's answers are decoded as they stream, with bounds on
// their number, their total size and each failure message.
func (t *AgentTransport) Sync(ctx context.Context, target Target, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	if err := checkOps(ops); err != nil {
		return fmt.Errorf("syncing to %s: %w", target, err)
	}
	bin := t.Path
	if bin == "" {
		bin = DefaultAgentPath
	}
	cmd := []string{bin, "apply"}
	var roots []string
	for _, op := range ops {
		if !slices.Contains(roots, op.Root) {
			roots = append(roots, op.Root)
			cmd = append(cmd, "--allow", op.Root)
		}
	}
	pr, pw := io.Pipe()
	type sentOps struct {
		paths []string // the paths sent, in order
		err   error
	}
	sent := make(chan sentOps, 1)
	go func() {
		paths, err := encodeOps(pw, ops)
		sent <- sentOps{paths, err}
		pw.CloseWithError(err)
	}()
	rr, rw := io.Pipe()
	type answers struct {
		list []answer
		err  error
	}
	answered := make(chan answers, 1)
	go func() {
		list, err := readAnswers(rr, len(ops))
		_, _ = io.Copy(io.Discard, rr) // let the agent finish writing
		answered <- answers{list, err}
	}()
	var stderr limitedBuffer
	err := t.Exec.Exec(ctx, target, cmd, pr, rw, &stderr)
	pr.CloseWithError(io.ErrClosedPipe) // stop the encoder if the agent stopped reading
	rw.Close()
	s, a := <-sent, <-answered
	var ee *ExitError
	switch {
	case err != nil && missing(err):
		return fmt.Errorf("syncing to %s: could not exec %s: %w; skiff delivers it through an init container in dev mode: redeploy with skiff dev, or use an image with tar",
			target, bin, ErrNoAgent)
	case err != nil && errors.Is(err, ErrUnavailable):
		// The executor's error already says what is wrong with the target.
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, err)
	case s.err != nil && !errors.Is(s.err, io.ErrClosedPipe):
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, s.err)
	case err != nil && !errors.As(err, &ee):
		return fmt.Errorf("syncing to %s through skiff-agent: %w%s", target, err, stderrSuffix(&stderr))
	}
	rerr := checkResults(a.list, a.err, s.paths)
	switch {
	case rerr != nil && err != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %w (%s)", target, rerr, withOutput(err.Error(), &stderr))
	case rerr != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, rerr)
	case err != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %s", target, withOutput(err.Error(), &stderr))
	}
	return nil
}

// encodeOps streams ops as one batch, reading each file through its Base,
// and returns the paths of the frames it sent, in order. A file that no
// longer exists, or that is not synced (see Screen), is left out.
func encodeOps(w io.Writer, ops []Op) ([]string, error) {
	roots := rootCache{}
	defer roots.close()
	enc := agentproto.NewEncoder(w)
	var paths []string
	for _, op := range ops {
		if op.Kind == Delete {
			if err := enc.Encode(agentproto.Frame{Kind: agentproto.KindDelete, Path: op.Dest}, nil); err != nil {
				return paths, err
			}
			paths = append(paths, op.Dest)
			continue
		}
		lf, err := roots.open(op)
		if err != nil {
			return paths, err
		}
		switch {
		case lf == nil:
			continue
		case lf.dir:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindMkdir, Path: op.Dest, Mode: lf.mode}, nil)
		case lf.f == nil:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindLink, Path: op.Dest, Size: int64(len(lf.link))}, strings.NewReader(lf.link))
		default:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindWrite, Path: op.Dest, Mode: lf.mode, Size: lf.size}, lf.f)
			lf.close()
		}
		if err != nil {
			return paths, fmt.Errorf("sending %s: %w", op.Local, err)
		}
		paths = append(paths, op.Dest)
	}
	return paths, enc.Encode(agentproto.Frame{Kind: agentproto.KindEnd}, nil)
}

// answer is the agent's answer to one operation; an empty path with
// failed set means the agent found the stream broken and stopped.
type answer struct {
	path   string
	failed bool
	msg    string // at most maxOutput bytes
}

// maxFailures is how many failure messages an error quotes.
const maxFailures = 10

// errTooMuch means the agent's answers were longer than their bound.
var errTooMuch = errors.New("the agent's answers are longer than expected for the operations sent: not a skiff-agent, or a broken one")

// readAnswers decodes the agent's answers to up to n operations as they
// come, until the end of the batch: at most n+1 answers, n*(MaxPath+
// maxOutput+64)+4096 bytes in all, and maxOutput bytes of each message.
func readAnswers(r io.Reader, n int) ([]answer, error) {
	budget := int64(n)*(agentproto.MaxPath+maxOutput+64) + 4096
	dec := agentproto.NewDecoder(&boundedReader{r: r, left: budget})
	var list []answer
	for {
		f, payload, err := dec.Next()
		switch {
		case err == io.EOF:
			return list, errors.New("the agent stopped before answering every operation")
		case err != nil:
			return list, err
		case f.Kind == agentproto.KindEnd:
			return list, nil
		case len(list) > n:
			return list, fmt.Errorf("the agent sent more answers than the %d operations sent", n)
		case f.Size > maxOutput+64 || f.Kind != agentproto.KindOK && f.Kind != agentproto.KindFailed:
			return list, fmt.Errorf("the agent answered %s %.200q with %d bytes: not a skiff-agent answer", f.Kind, f.Path, f.Size)
		}
		a := answer{path: f.Path, failed: f.Kind == agentproto.KindFailed}
		if a.failed {
			msg, err := io.ReadAll(io.LimitReader(payload, maxOutput))
			if err != nil {
				return list, err
			}
			a.msg = string(msg)
		}
		list = append(list, a)
		if a.failed && a.path == "" {
			return list, nil // the stream broke; the agent stopped
		}
	}
}

// boundedReader reads r until left bytes were read, then fails with
// errTooMuch.
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooMuch
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// checkResults checks the answers against the paths sent, in order, and
// returns an error listing the operations that failed (the first
// maxFailures), or saying the answers stopped early or did not match.
func checkResults(answers []answer, readErr error, paths []string) error {
	var failed []string
	more := 0
	fail := func(msg string) {
		if len(failed) < maxFailures {
			failed = append(failed, msg)
		} else {
			more++
		}
	}
	for i, a := range answers {
		if a.failed {
			fail(a.msg)
		}
		switch {
		case a.path == "":
		case i >= len(paths):
			fail(fmt.Sprintf("the agent answered for %.200s, which was not sent", a.path))
		case a.path != paths[i]:
			fail(fmt.Sprintf("the agent answered for %.200s instead of %s", a.path, paths[i]))
		}
	}
	switch {
	case readErr != nil:
		fail(readErr.Error())
	case len(answers) < len(paths) && (len(answers) == 0 || answers[len(answers)-1].path != ""):
		fail(fmt.Sprintf("the agent answered %d of %d operations", len(answers), len(paths)))
	}
	if len(failed) == 0 {
		return nil
	}
	if more > 0 {
		failed = append(failed, fmt.Sprintf("and %d more", more))
	}
	return errors.New(strings.Join(failed, "; "))
}
