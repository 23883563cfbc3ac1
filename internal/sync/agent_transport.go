package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// DefaultAgentPath is where skiff-agent is in a container that skiff
// delivered it into.
const DefaultAgentPath = "/skiff/skiff-agent"

// AgentTransport syncs through skiff-agent, which needs no tar or shell in
// the image. It keeps one session per container: an exec of
// "skiff-agent apply --allow ROOT..." (the roots of the first batch) that
// stays up and carries every later batch, declaring the roots it did not
// allow yet with agentproto.KindAllow frames, and reads one answer per
// operation. The agent writes files atomically (temp file, then rename)
// and refuses paths outside the roots. A session whose exec ended (the
// container restarted, the pod went away, the stream broke) is replaced
// by a new one: a batch that failed that way on a session that served
// earlier ones is sent once more on a new session. Close ends the
// sessions; the zero value is ready to use once Exec is set.
type AgentTransport struct {
	Exec Executor
	// Path is the agent's path in the container; "" means DefaultAgentPath.
	Path string

	mu       gosync.Mutex
	sessions map[Target]*agentSession
	closed   bool

	deltaMu gosync.Mutex          // held while a patch is made, which other containers then take
	bases   map[string]*deltaBase // by Op.Local, for Writes with a Delta
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
	var roots []string
	for _, op := range ops {
		if !slices.Contains(roots, op.Root) {
			roots = append(roots, op.Root)
		}
	}
	s, fresh, err := t.session(ctx, target, roots)
	if err != nil {
		return err
	}
	res := s.send(ctx, t, ops, roots, nil)
	if !fresh && res.broken() && ctx.Err() == nil {
		// The session served earlier batches and its exec ended: the
		// container restarted or the stream broke. Once more on a new
		// session; operations are whole-file, so sending them again is
		// safe.
		if s, _, err = t.session(ctx, target, roots); err != nil {
			return err
		}
		res = s.send(ctx, t, ops, roots, nil)
	}
	if from, whole := res.failedPatches(); whole != nil && ctx.Err() == nil {
		// The agent refused a patch (the file there is not the one skiff
		// wrote, or the result differs): from that operation on, once more
		// with those files whole. What followed it is sent again, as
		// after a broken session.
		res = s.send(ctx, t, ops[from:], roots, whole)
	}
	return res.err(target, t.bin())
}

// Open opens the session into target allowing roots, unless one is
// open, so that the first Sync there does not wait for the exec to start.
// It reports nothing: a session that cannot start (no agent in the
// container, the pod gone) just ends, and the next Sync opens a new one
// and says why, as without Open. Without roots (the agent starts with at
// least one) or after Close it does nothing.
func (t *AgentTransport) Open(ctx context.Context, target Target, roots []string) {
	if len(roots) == 0 {
		return
	}
	_, _, _ = t.session(ctx, target, roots) // fails only once closed
}

// bin is the agent's path in the container.
func (t *AgentTransport) bin() string {
	if t.Path == "" {
		return DefaultAgentPath
	}
	return t.Path
}

// session returns the open session into target, or opens one allowing
// roots; fresh says it was opened now.
func (t *AgentTransport) session(ctx context.Context, target Target, roots []string) (s *agentSession, fresh bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, false, fmt.Errorf("syncing to %s through skiff-agent: the transport was closed (dev mode is ending)", target)
	}
	if s := t.sessions[target]; s != nil && !s.ended() {
		return s, false, nil
	}
	if t.sessions == nil {
		t.sessions = map[Target]*agentSession{}
	}
	s = t.open(ctx, target, roots)
	t.sessions[target] = s
	return s, true, nil
}

// open starts a session into target allowing roots. Its exec outlives
// ctx's cancellation (it carries later syncs) but keeps its values; Close
// or a failed batch ends it. The caller holds t.mu.
func (t *AgentTransport) open(ctx context.Context, target Target, roots []string) *agentSession {
	cmd := []string{t.bin(), "apply"}
	for _, r := range roots {
		cmd = append(cmd, "--allow", r)
	}
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pr, pw := io.Pipe()
	rr, rw := io.Pipe()
	s := &agentSession{
		stdin: pw, stdout: rr, cancel: cancel, done: make(chan struct{}),
		enc:     agentproto.NewEncoder(pw),
		answers: &boundedReader{r: rr},
		roots:   slices.Clone(roots),
		wrote:   map[string]deltaSum{},
	}
	s.dec = agentproto.NewDecoder(s.answers)
	go func() {
		s.execErr = t.Exec.Exec(ectx, target, cmd, pr, rw, &s.stderr)
		close(s.done)                       // before a batch hears the end below
		pr.CloseWithError(io.ErrClosedPipe) // stop a batch being sent
		rw.Close()                          // and one waiting for answers
		t.mu.Lock()
		if t.sessions[target] == s {
			delete(t.sessions, target)
		}
		t.mu.Unlock()
		cancel()
	}()
	return s
}

// closeGrace is how long Close lets the agents exit once their input
// ended, before it stops their execs.
const closeGrace = 300 * time.Millisecond

// Close ends every session: the agents see their input end and exit; the
// execs of those that did not within closeGrace are stopped. It returns
// once every exec has returned. Sync fails after Close.
func (t *AgentTransport) Close() {
	t.mu.Lock()
	t.closed = true
	sessions := slices.Collect(maps.Values(t.sessions))
	t.sessions = nil
	t.mu.Unlock()
	for _, s := range sessions {
		s.stdin.Close()
	}
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	for _, s := range sessions {
		select {
		case <-s.done:
		case <-grace.C:
		}
		s.kill(io.ErrClosedPipe)
	}
}

// agentSession is one exec of skiff-agent that carries batches.
type agentSession struct {
	mu      gosync.Mutex // one batch at a time
	stdin   *io.PipeWriter
	stdout  *io.PipeReader
	enc     *agentproto.Encoder
	answers *boundedReader // the agent's stdout, bounded per batch
	dec     *agentproto.Decoder
	roots   []string // the destinations allowed so far
	cancel  context.CancelFunc
	// wrote are the sums of the files the agent confirmed it wrote for
	// Writes with a Delta, by Dest: the bases of their next patches.
	wrote map[string]deltaSum

	done    chan struct{} // closed when the exec returned
	execErr error         // the exec's error, set before done closes
	stderr  limitedBuffer // the agent's stderr, read once done closed
}

// ended reports whether the session's exec has returned.
func (s *agentSession) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// kill stops the exec, unblocks a batch being sent or answered with err,
// and waits until the exec returned.
func (s *agentSession) kill(err error) {
	s.cancel()
	s.stdin.CloseWithError(err)
	s.stdout.CloseWithError(err)
	<-s.done
}

// batchResult is what one batch on a session came to.
type batchResult struct {
	frames  []sentFrame // the operations sent, in order
	sendErr error
	answers []answer
	readErr error
	ended   bool   // the exec returned: execErr and stderr are final
	execErr error  // the exec's error, when ended
	stderr  string // the agent's stderr, when ended
}

// send sends ops as one batch, first allowing the roots the session does
// not allow yet, and reads the answers. A Write with a Delta goes as a
// patch against what the session last wrote at its Dest (t.patchFor),
// unless whole has its Dest. A batch that did not end cleanly (an error
// sending or reading, ctx done) leaves the stream in an unknown state:
// the session is ended.
func (s *agentSession) send(ctx context.Context, t *AgentTransport, ops []Op, roots []string, whole map[string]bool) batchResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	patch := func(op Op, lf *localFile) ([]byte, deltaSum, error) {
		sum, fi, err := t.readDelta(op, lf)
		if err != nil {
			return nil, sum, err
		}
		base, known := s.wrote[op.Dest]
		if whole[op.Dest] {
			known = false
		}
		return t.patchFor(op, sum, lf, fi, base, known), sum, nil
	}
	var allow []string
	for _, r := range roots {
		if !slices.Contains(s.roots, r) {
			allow = append(allow, r)
		}
	}
	type sentOps struct {
		frames []sentFrame
		err    error
	}
	sent := make(chan sentOps, 1)
	go func() {
		frames, err := encodeBatch(s.enc, allow, ops, patch)
		if err != nil {
			s.stdin.CloseWithError(err) // the agent sees the stream end inside a frame
		}
		sent <- sentOps{frames, err}
	}()
	stop := context.AfterFunc(ctx, func() { s.kill(ctx.Err()) })
	s.answers.left = int64(len(allow)+len(ops))*(agentproto.MaxPath+maxOutput+64) + 4096
	list, rerr := readAnswers(s.dec, len(allow)+len(ops))
	// Whether the exec ended by itself, before a kill below.
	ended := s.ended()
	if rerr != nil && !ended && ctx.Err() == nil {
		// What came is not an answer: it may be the runtime's message
		// about a command it could not start (the Docker Engine writes it
		// to stdout), whose exit code says more. End the input and take
		// the output until the exec ends by itself, for a while.
		s.stdin.Close()
		go func() { _, _ = io.Copy(io.Discard, s.stdout) }()
		grace := time.NewTimer(closeGrace)
		select {
		case <-s.done:
			ended = true
		case <-grace.C:
		}
		grace.Stop()
	}
	killed := rerr != nil || ctx.Err() != nil
	if killed {
		s.kill(io.ErrClosedPipe)
	}
	stop()
	snt := <-sent
	if snt.err != nil && !killed {
		ended = s.ended()
		s.kill(io.ErrClosedPipe)
	}
	if rerr == nil && snt.err == nil {
		s.roots = append(s.roots, allow...)
	}
	s.noteWritten(snt.frames, list)
	res := batchResult{frames: snt.frames, sendErr: snt.err, answers: list, readErr: rerr}
	if ctx.Err() != nil {
		res.sendErr = ctx.Err()
	}
	if ended {
		res.ended, res.execErr = true, s.execErr
	}
	if s.ended() {
		res.stderr = s.stderr.String()
	}
	return res
}

// broken reports whether the batch failed because the session's exec
// ended by itself (the container restarted, or the stream broke) rather
// than on an answer of the agent or a local error.
func (r batchResult) broken() bool {
	return r.ended && (r.sendErr == nil || errors.Is(r.sendErr, io.ErrClosedPipe)) &&
		checkResults(r.answers, r.readErr, framePaths(r.frames)) != nil
}

// failedPatches says whether the batch failed only because the agent
// refused patches: it returns the index in the batch's ops of the first
// refused one, and the Dests of those refused, to send whole; nil when
// the batch failed otherwise, or did not fail.
func (r batchResult) failedPatches() (from int, whole map[string]bool) {
	if r.sendErr != nil || r.readErr != nil || len(r.answers) != len(r.frames) {
		return 0, nil
	}
	from = -1
	for i, a := range r.answers {
		f := r.frames[i]
		switch {
		case !a.failed:
		case !f.patch || a.path != f.path:
			return 0, nil
		default:
			if whole == nil {
				whole, from = map[string]bool{}, f.op
			}
			whole[f.path] = true
		}
	}
	return from, whole
}

// noteWritten records in s.wrote the files the agent confirmed it wrote
// for Writes with a Delta, and forgets those it did not, or that another
// operation touched (a restart does not touch its executable).
func (s *agentSession) noteWritten(frames []sentFrame, answers []answer) {
	for i, f := range frames {
		if f.op < 0 || f.kind == Restart {
			continue
		}
		if f.delta && i < len(answers) && !answers[i].failed && answers[i].path == f.path {
			s.wrote[f.path] = f.sum
		} else {
			delete(s.wrote, f.path)
		}
	}
}

// err is the batch's outcome for target: nil when the agent confirmed
// every operation. The exec's error counts only when it ended by itself:
// one skiff stopped after a bad answer says nothing more.
func (r batchResult) err(target Target, bin string) error {
	rerr := checkResults(r.answers, r.readErr, framePaths(r.frames))
	if rerr == nil && r.sendErr == nil {
		return nil
	}
	err := r.execErr
	stderr := &limitedBuffer{b: []byte(r.stderr)}
	var ee *ExitError
	var ve *agentproto.VersionError
	switch {
	case err != nil && missing(err):
		return fmt.Errorf("syncing to %s: could not exec %s: %w; skiff delivers it through an init container in dev mode: redeploy with skiff dev, or use an image with tar",
			target, bin, ErrNoAgent)
	case err != nil && errors.Is(err, ErrUnavailable):
		// The executor's error already says what is wrong with the target.
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, err)
	case errors.Is(r.sendErr, context.Canceled) || errors.Is(r.sendErr, context.DeadlineExceeded):
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, r.sendErr)
	case r.sendErr != nil && !errors.Is(r.sendErr, io.ErrClosedPipe):
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, r.sendErr)
	case errors.As(r.readErr, &ve):
		return fmt.Errorf("syncing to %s: the container's %s speaks agent protocol %d and this skiff %d: it comes from another skiff; redeploy with this skiff's dev mode, which delivers its own agent (%s)",
			target, bin, ve.Got, agentproto.Version, withOutput(fmt.Sprint(err), stderr))
	case err != nil && !errors.As(err, &ee):
		return fmt.Errorf("syncing to %s through skiff-agent: %w%s", target, err, stderrSuffix(stderr))
	}
	switch {
	case rerr != nil && err != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %w (%s)", target, rerr, withOutput(err.Error(), stderr))
	case rerr != nil:
		return fmt.Errorf("syncing to %s through skiff-agent: %w", target, rerr)
	}
	return nil
}

// sentFrame is an operation sent in a batch.
type sentFrame struct {
	path  string
	op    int // the index of its Op in the batch's ops, -1 for a KindAllow
	kind  OpKind
	delta bool // a Write with a Delta: sum is the file's
	patch bool // sent as a KindPatch
	sum   deltaSum
}

func framePaths(frames []sentFrame) []string {
	paths := make([]string, len(frames))
	for i, f := range frames {
		paths[i] = f.path
	}
	return paths
}

// encodeBatch sends one batch: a KindAllow frame for each root in allow,
// then ops (see encodeOps).
func encodeBatch(enc *agentproto.Encoder, allow []string, ops []Op, patch patcher) ([]sentFrame, error) {
	var frames []sentFrame
	for _, r := range allow {
		if err := enc.Encode(agentproto.Frame{Kind: agentproto.KindAllow, Path: r}, nil); err != nil {
			return nil, err
		}
		frames = append(frames, sentFrame{path: r, op: -1})
	}
	sent, err := encodeOps(enc, ops, patch)
	return append(frames, sent...), err
}

// patcher returns a KindPatch payload for the Write op of the file lf, or
// nil to send the file whole, and the file's SHA-256.
type patcher func(op Op, lf *localFile) (payload []byte, sum deltaSum, err error)

// encodeOps streams ops as one batch, reading each file through its Base,
// and returns the frames it sent, in order. A Write with a Delta is read
// whole, and sent as the patch that patch returns for it, if any. A file
// that no longer exists, or that is not synced (see Screen), is left out.
func encodeOps(enc *agentproto.Encoder, ops []Op, patch patcher) ([]sentFrame, error) {
	roots := rootCache{}
	defer roots.close()
	var frames []sentFrame
	for i, op := range ops {
		if op.Kind == Delete || op.Kind == Restart {
			kind := agentproto.KindDelete
			if op.Kind == Restart {
				kind = agentproto.KindRestart
			}
			if err := enc.Encode(agentproto.Frame{Kind: kind, Path: op.Dest}, nil); err != nil {
				return frames, err
			}
			frames = append(frames, sentFrame{path: op.Dest, op: i, kind: op.Kind})
			continue
		}
		lf, err := roots.open(op)
		if err != nil {
			return frames, err
		}
		sf := sentFrame{path: op.Dest, op: i, kind: op.Kind}
		switch {
		case lf == nil:
			continue
		case lf.dir:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindMkdir, Path: op.Dest, Mode: lf.mode}, nil)
		case lf.f == nil:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindLink, Path: op.Dest, Size: int64(len(lf.link))}, strings.NewReader(lf.link))
		case op.Delta != nil && patch != nil:
			sf.delta = true
			sf.patch, sf.sum, err = encodeDelta(enc, op, lf, patch)
			lf.close()
		default:
			err = enc.Encode(agentproto.Frame{Kind: agentproto.KindWrite, Path: op.Dest, Mode: lf.mode, Size: lf.size}, lf.f)
			lf.close()
		}
		if err != nil {
			return frames, fmt.Errorf("sending %s: %w", op.Local, err)
		}
		frames = append(frames, sf)
	}
	return frames, enc.Encode(agentproto.Frame{Kind: agentproto.KindEnd}, nil)
}

// encodeDelta sends the Write op of the file lf as the patch that patch
// returns for it, or whole, and counts what it sent in op.Delta. It
// returns whether it sent a patch, and the file's sum.
func encodeDelta(enc *agentproto.Encoder, op Op, lf *localFile, patch patcher) (bool, deltaSum, error) {
	start := time.Now()
	payload, sum, err := patch(op, lf)
	if err != nil {
		return false, sum, err
	}
	f := agentproto.Frame{Kind: agentproto.KindWrite, Path: op.Dest, Mode: lf.mode, Size: lf.size}
	var body io.Reader = io.NewSectionReader(lf.f, 0, lf.size)
	if payload != nil {
		f.Kind, f.Size, body = agentproto.KindPatch, int64(len(payload)), bytes.NewReader(payload)
		op.Delta.Patched.Add(1)
	}
	op.Delta.Prepare.Add(int64(time.Since(start)))
	op.Delta.Files.Add(1)
	op.Delta.Bytes.Add(f.Size)
	op.Delta.Size.Add(lf.size)
	return payload != nil, sum, enc.Encode(f, body)
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
// come, until the end of the batch: at most n+1 answers, and maxOutput
// bytes of each message. The caller bounds the bytes dec reads (see
// boundedReader).
func readAnswers(dec *agentproto.Decoder, n int) ([]answer, error) {
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
