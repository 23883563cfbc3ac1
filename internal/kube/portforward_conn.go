package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

// handle forwards one local connection to a ready pod of t. When the pod
// ends the connection before answering (its app stopped listening: it is
// going away, or not up yet), what the client sent is replayed where that
// is safe: to another ready pod, or to the same pod again a little later,
// so a rollout or a restarting app neither refuses nor drops the
// connection. The connection is held this way for up to f.readyWait.
func (f *Forwarder) handle(conn net.Conn, t *target) {
	defer conn.Close()
	stop := context.AfterFunc(f.ctx, func() { conn.Close() })
	defer stop()
	local := &replayReader{conn: conn}
	refused := map[types.UID]refusal{}
	deadline := time.Now().Add(f.readyWait)
	for {
		pc, ep, err := f.route(t, refused, deadline)
		if err != nil {
			if f.ctx.Err() == nil {
				f.warn(t, err.Error())
			}
			return
		}
		var once sync.Once
		answered := func() { once.Do(func() { f.unclaim(ep.pod) }) }
		podAnswered := answered
		if ep.early {
			podAnswered = func() {
				f.earlyServes(ep.pod.UID)
				answered()
			}
		}
		outcome, msg := f.pipe(conn, local, pc, ep.port, t, podAnswered)
		answered()
		if ep.early {
			f.earlyDone(ep.pod.UID)
		}
		f.release(pc)
		switch outcome {
		case pipeDone:
			return
		case pipeBroken:
			// The connection broke since the pod was picked: the next
			// pick dials afresh.
			f.retire(pc)
		case pipeRefused:
			tries := refused[pc.uid].tries + 1
			refused[pc.uid] = refusal{
				resourceVersion: ep.pod.ResourceVersion,
				retryAt:         time.Now().Add(retryDelay(tries)),
				tries:           tries,
				msg:             fmt.Sprintf("pod %s, port %d: %s", pc.name, ep.port, msg),
			}
		}
		if !time.Now().Before(deadline) {
			f.warn(t, fmt.Sprintf("no ready pod accepted the connection within %s: %s", f.readyWait, joinRefusals(refused)))
			return
		}
		local.rewind()
	}
}

// retryDelay is how long a pod that refused a connection tries times is
// left alone before the connection is replayed to it: its app may be
// starting. It doubles from 50ms up to a second.
func retryDelay(tries int) time.Duration {
	d := 50 * time.Millisecond
	for range tries - 1 {
		if d >= time.Second/2 {
			return time.Second
		}
		d *= 2
	}
	return d
}

// refusal is a pod that ended a local connection without answering, as
// it was then: it is tried again once it changes (it restarted, say), or
// after retryAt (its app may have started listening).
type refusal struct {
	resourceVersion string
	retryAt         time.Time
	tries           int
	msg             string
}

func joinRefusals(m map[types.UID]refusal) string {
	var out []string
	for _, r := range m {
		out = append(out, r.msg)
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// route picks a ready pod of t, other than those that refused this
// connection lately and did not change since and those steered away
// (Steer), waiting until deadline for one, and returns a connection to it
// and the pod with its port, claimed (see claim).
func (f *Forwarder) route(t *target, refused map[types.UID]refusal, deadline time.Time) (*podConn, endpoint, error) {
	var dialErr error
	for {
		changed := t.cache.changes()
		eps, why := t.endpoints(f)
		now := time.Now()
		next := deadline // the next time a refused pod may be tried
		eps = slices.DeleteFunc(eps, func(ep endpoint) bool {
			r, ok := refused[ep.pod.UID]
			if !ok || r.resourceVersion != ep.pod.ResourceVersion || !now.Before(r.retryAt) {
				return false
			}
			if r.retryAt.Before(next) {
				next = r.retryAt
			}
			return true
		})
		var steerChanged <-chan struct{}
		eps = slices.DeleteFunc(eps, func(ep endpoint) bool {
			away, changed := f.steeredAway(ep.pod)
			steerChanged = changed
			if away && why == "" {
				why = fmt.Sprintf("pod %s is restarting its app for a hot swap", ep.pod.Name)
			}
			return away
		})
		for i, ep := range eps {
			if ep.early && f.earlyAnswered(ep.pod.UID) {
				eps[i].early = false // it serves
			}
		}
		for _, ep := range f.prefer(eps) {
			var pc *podConn
			var err error
			if ep.early {
				// Tried first, by one connection at a time, and only
				// over a connection dialled already.
				if pc = f.tryEarly(ep.pod); pc == nil {
					if at := now.Add(earlyRetry); at.Before(next) {
						next = at
					}
					continue
				}
			} else {
				pc, err = f.connect(ep.pod)
			}
			if err == nil && f.claim(ep.pod) {
				return pc, ep, nil
			}
			if err == nil {
				// Steered away since it was listed.
				if ep.early {
					f.earlyDone(ep.pod.UID)
				}
				f.release(pc)
				continue
			}
			dialErr = fmt.Errorf("pod %s: %w", ep.pod.Name, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			switch {
			case dialErr != nil:
				return nil, endpoint{}, fmt.Errorf("no pod could be reached within %s: %w", f.readyWait, dialErr)
			case len(refused) > 0:
				return nil, endpoint{}, fmt.Errorf("no ready pod accepted the connection within %s: %s", f.readyWait, joinRefusals(refused))
			case why == "":
				why = "no pod matches"
			}
			return nil, endpoint{}, fmt.Errorf("no ready pod to forward to within %s: %s; check the pods' state and readiness with kubectl get pods -n %s", f.readyWait, why, t.namespace)
		}
		select {
		case <-f.ctx.Done():
			return nil, endpoint{}, f.ctx.Err()
		case <-changed:
		case <-steerChanged:
		case <-time.After(min(left, time.Until(next), time.Second)):
		}
	}
}

// prefer orders eps: pods that have an open connection first, then the
// newest pods, the ones a rollout keeps.
func (f *Forwarder) prefer(eps []endpoint) []endpoint {
	f.mu.Lock()
	open := map[types.UID]bool{}
	for uid := range f.conns {
		open[uid] = true
	}
	f.mu.Unlock()
	sortEndpoints(eps, open)
	return eps
}

// warning is the last warning printed about a target.
type warning struct {
	text string
	at   time.Time
}

// warn prints a warning about t, unless it printed the same one in the
// last ten seconds: many connections fail together.
func (f *Forwarder) warn(t *target, text string) {
	f.mu.Lock()
	last := f.warned[t]
	if last.text == text && time.Since(last.at) < 10*time.Second {
		f.mu.Unlock()
		return
	}
	f.warned[t] = warning{text: text, at: time.Now()}
	f.mu.Unlock()
	f.log.Warnf("port-forward %s in namespace %s (%s): %s", t.desc, t.namespace, t.local, text)
}

// pipeOutcome is how forwarding a local connection over a pod connection
// ended.
type pipeOutcome int

const (
	pipeDone    pipeOutcome = iota // forwarded until either side ended
	pipeBroken                     // the pod connection could not open streams
	pipeRefused                    // the pod ended it before answering; replayable
)

// pipe copies between a local connection and a new stream pair on pc to
// port, until either side ends. When the pod ends the connection before
// answering and what the client sent can be replayed (see replayable), it
// leaves the local connection open and returns pipeRefused with the pod's
// message. It calls answered when the pod sends the first bytes.
func (f *Forwarder) pipe(conn net.Conn, local *replayReader, pc *podConn, port int32, t *target, answered func()) (pipeOutcome, string) {
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(int(port)))
	headers.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(pc.nextRequestID(), 10))
	errorStream, err := f.createStream(pc, headers)
	if err != nil {
		return pipeBroken, err.Error()
	}
	// Nothing is sent on the error stream; the pod's side reports there.
	errorStream.Close()
	defer pc.conn.RemoveStreams(errorStream)
	remoteErr := make(chan string, 1)
	go func() {
		msg, err := io.ReadAll(errorStream)
		switch {
		case len(msg) > 0:
			remoteErr <- strings.TrimSpace(string(msg))
		case err != nil:
			remoteErr <- err.Error()
		default:
			remoteErr <- ""
		}
	}()

	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := f.createStream(pc, headers)
	if err != nil {
		errorStream.Reset()
		<-remoteErr
		return pipeBroken, err.Error()
	}
	defer pc.conn.RemoveStreams(data)

	podAnswered := &notice{then: answered}
	remoteDone := make(chan struct{})
	go func() {
		defer close(remoteDone)
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		// Through the buffer: as a ReaderFrom the connection would
		// make one of its own.
		io.CopyBuffer(struct{ io.Writer }{conn}, noticeReader{data, podAnswered}, *buf)
	}()
	// localDone gets nil when the client is done sending, errPodWrite
	// when the pod's side stopped taking data, or the client's error.
	localDone := make(chan error, 1)
	go func() { localDone <- copyToPod(data, local) }()
	localEnded := false
	var localErr error
	select {
	case <-remoteDone:
	case localErr = <-localDone:
		localEnded = true
		if localErr == nil || localErr == errPodWrite {
			<-remoteDone
		}
	}
	// Discard what is unsent; this ends the copy from the pod.
	data.Reset()
	<-remoteDone
	msg := <-remoteErr
	if !localEnded {
		// Stop reading the client without losing a byte: what was read
		// is kept for a replay, and is looked at below.
		conn.SetReadDeadline(time.Now())
		<-localDone
		conn.SetReadDeadline(time.Time{})
	}
	clientLeft := localEnded && localErr != nil && localErr != errPodWrite
	clientDone := localEnded && localErr == nil
	refused := !podAnswered.read.Load()
	sent := len(local.kept) > 0 || !local.replayable()
	if sent && (refused || msg != "") {
		// The pod side failed or ended this stream pair early, so it may
		// have left what the client sent unread (the kubelet does when
		// its dial of the app is refused). In SPDY, unread data holds up
		// every later stream that shares its frame worker on the pod
		// side, for good: one in five connections would hang. Later
		// connections get a new pod connection; this one closes once
		// those using it are done.
		f.retire(pc)
	}
	if refused && replayable(msg, local, clientLeft, clientDone) {
		if msg == "" {
			msg = "closed the connection without an answer"
		}
		return pipeRefused, msg
	}
	conn.Close()
	if msg != "" && f.ctx.Err() == nil {
		f.warn(t, fmt.Sprintf("pod %s, port %d: %s", pc.name, port, msg))
	}
	return pipeDone, ""
}

// createStream opens a stream on pc, or gives up when pc is retired
// meanwhile: the pod side may never answer a stream held up behind one it
// left unread (see pipe). A stream opened after that is reset.
func (f *Forwarder) createStream(pc *podConn, headers http.Header) (httpstream.Stream, error) {
	type created struct {
		s   httpstream.Stream
		err error
	}
	done := make(chan created, 1)
	go func() {
		s, err := pc.conn.CreateStream(headers)
		done <- created{s, err}
	}()
	select {
	case c := <-done:
		return c.s, c.err
	case <-pc.gone:
		go func() {
			if c := <-done; c.err == nil {
				c.s.Reset()
				pc.conn.RemoveStreams(c.s)
			}
		}()
		return nil, errors.New("the connection to the pod was retired before it opened a stream")
	}
}

// replayable tells whether a connection the pod ended without answering
// may go to another pod: when nothing reached the app (the pod side
// failed to connect to it), or when what the client sent can be sent
// again as HTTP clients do: nothing yet, or a request with a safe method
// (GET, HEAD, OPTIONS, TRACE). A client that left, or sent more than is
// kept, is not replayed.
func replayable(msg string, local *replayReader, clientLeft, clientDone bool) bool {
	switch {
	case !local.replayable() || clientLeft:
		return false
	case msg != "" && refusedBeforeDelivery(msg):
		return true
	case len(local.kept) == 0:
		return !clientDone // a client that sent nothing and is done wants nothing
	}
	for _, m := range []string{"GET ", "HEAD ", "OPTIONS ", "TRACE "} {
		if bytes.HasPrefix(local.kept, []byte(m)) {
			return true
		}
	}
	return false
}

// refusedBeforeDelivery tells from the pod side's error whether nothing
// reached the app: the connection to it failed, or the pod is gone.
func refusedBeforeDelivery(msg string) bool {
	for _, s := range []string{"connection refused", "failed to connect", "not found", "is not running"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// errPodWrite says the pod's side of a stream stopped taking data.
var errPodWrite = errors.New("the pod's side of the stream is closed")

// copyBuffers are the buffers a forwarded connection copies through, one
// each way, kept from one connection to the next: a browser or a poller
// makes hundreds of connections a second, and two new 32 KiB buffers each
// were most of what the forward allocated.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// copyToPod copies what the client sends to the pod's stream, and
// half-closes the stream when the client is done sending. It returns nil
// then, errPodWrite when the stream takes no more, or the client's error.
func copyToPod(data httpstream.Stream, local io.Reader) error {
	p := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(p)
	buf := *p
	for {
		n, err := local.Read(buf)
		if n > 0 {
			if _, werr := data.Write(buf[:n]); werr != nil {
				return errPodWrite
			}
		}
		if err == io.EOF {
			data.Close()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// notice records that something was read, and calls then the first time.
type notice struct {
	read atomic.Bool
	then func()
}

// noticeReader reads r and records on n that something was read.
type noticeReader struct {
	r io.Reader
	n *notice
}

func (n noticeReader) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	if c > 0 && n.n.read.CompareAndSwap(false, true) && n.n.then != nil {
		n.n.then()
	}
	return c, err
}

// maxReplay is how much of what a client sends is kept to replay it to
// another pod.
const maxReplay = 64 << 10

// replayReader reads a local connection, keeping the first maxReplay
// bytes so that they can be read again after rewind.
type replayReader struct {
	conn     net.Conn
	kept     []byte
	pos      int  // where the next read is in kept
	overflow bool // more was read than kept: no replay
}

func (r *replayReader) Read(p []byte) (int, error) {
	if r.pos < len(r.kept) {
		n := copy(p, r.kept[r.pos:])
		r.pos += n
		return n, nil
	}
	n, err := r.conn.Read(p)
	if n > 0 && !r.overflow {
		if len(r.kept)+n > maxReplay {
			r.overflow, r.kept = true, nil
		} else {
			r.kept = append(r.kept, p[:n]...)
		}
		r.pos = len(r.kept)
	}
	return n, err
}

// replayable tells whether all that was read can be read again.
func (r *replayReader) replayable() bool { return !r.overflow }

// rewind makes the next reads return what was read before.
func (r *replayReader) rewind() { r.pos = 0 }
