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
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// DefaultForwardAddress is the local address a Forward listens on when it
// names none.
const DefaultForwardAddress = "127.0.0.1"

// Forward is one port of a cluster resource to make reachable on a local
// address.
type Forward struct {
	// Type is the resource's kind, in lower case: pod, service, deployment,
	// statefulset, replicaset, daemonset or job.
	Type string
	// Name and Namespace name the resource; an empty Namespace is the kube
	// context's.
	Name, Namespace string
	// Port is the resource's port, by number or by name: a Service's port,
	// or a container port of the pods.
	Port intstr.IntOrString
	// Address is the local address to listen on (DefaultForwardAddress
	// when empty).
	Address string
	// LocalPort is the local port; 0 means the remote port's number. When
	// it is taken, the next free port is used.
	LocalPort int
}

// Forwarder forwards local ports to pods through the API server. It owns
// each local listener and picks a ready pod for every connection, so a
// forward outlives the pods behind it: when a pod goes away, new
// connections go to another ready pod, waiting briefly for one during a
// rollout.
type Forwarder struct {
	kc  *Config
	cs  kubernetes.Interface
	out io.Writer
	// dial opens a port-forward connection to a pod; tests replace it.
	dial func(namespace, pod string) (httpstream.Connection, error)
	// readyWait is how long a local connection waits for a ready pod.
	readyWait time.Duration

	ctx    context.Context // ends on Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	stopped     bool
	caches      map[string]*nsCache    // by namespace
	conns       map[types.UID]*podConn // open connections, by pod
	podForwards map[string]bool        // ForwardPods' keys
	owners      map[types.UID]string   // controller -> top-level owner, "kind/name"
	warned      map[*target]warning    // the last warning of each target
	factories   []func()               // informer factories' Shutdown
	listeners   []net.Listener
}

// NewForwarder returns a Forwarder for the cluster kc; cs is a client for
// it. It reports each forward on out, with warnings about connections it
// could not forward.
func NewForwarder(kc *Config, cs kubernetes.Interface, out io.Writer) *Forwarder {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{
		kc:          kc,
		cs:          cs,
		out:         out,
		readyWait:   30 * time.Second,
		ctx:         ctx,
		cancel:      cancel,
		caches:      map[string]*nsCache{},
		conns:       map[types.UID]*podConn{},
		podForwards: map[string]bool{},
		owners:      map[types.UID]string{},
		warned:      map[*target]warning{},
	}
	f.dial = f.dialPod
	return f
}

// Add starts forwarding fw until Stop, and returns the local address
// (host:port) it listens on; ctx bounds finding the resource. It reports the forward as
// "Port forwarding deployment/web in namespace ns, remote port 8080 ->
// http://127.0.0.1:8080". It fails when the resource or its port does not
// exist.
func (f *Forwarder) Add(ctx context.Context, fw Forward) (string, error) {
	fw.Type = strings.ToLower(fw.Type)
	if fw.Namespace == "" {
		fw.Namespace = f.defaultNamespace()
	}
	t, remote, err := f.newTarget(ctx, fw)
	if err != nil {
		return "", fmt.Errorf("port-forward %s/%s in namespace %s: %w", fw.Type, fw.Name, fw.Namespace, err)
	}
	local := fw.LocalPort
	if local == 0 {
		local = int(remote)
	}
	return f.start(t, fw.Address, local, remotePortText(fw.Port, remote))
}

func (f *Forwarder) defaultNamespace() string {
	if f.kc != nil && f.kc.Namespace != "" {
		return f.kc.Namespace
	}
	return corev1.NamespaceDefault
}

// remotePortText is how a report names the remote port: its number, and
// the name it was asked by.
func remotePortText(asked intstr.IntOrString, number int32) string {
	if asked.Type == intstr.String {
		return fmt.Sprintf("%s (%d)", asked.StrVal, number)
	}
	return strconv.Itoa(int(number))
}

// start listens on address:localPort, or the next free port, serves t
// there until Stop, and reports it.
func (f *Forwarder) start(t *target, address string, localPort int, remote string) (string, error) {
	if address == "" {
		address = DefaultForwardAddress
	}
	l, err := listen(address, localPort)
	if err != nil {
		return "", fmt.Errorf("port-forward %s in namespace %s: %w", t.desc, t.namespace, err)
	}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		l.Close()
		return "", fmt.Errorf("port-forward %s in namespace %s: the forwarder is stopped", t.desc, t.namespace)
	}
	f.listeners = append(f.listeners, l)
	f.wg.Add(1)
	f.mu.Unlock()
	t.local = l.Addr().String()
	go func() {
		defer f.wg.Done()
		f.serve(l, t)
	}()

	var note string
	if got := l.Addr().(*net.TCPAddr).Port; localPort > 0 && got != localPort {
		note = fmt.Sprintf(" (local port %d is taken)", localPort)
	}
	fmt.Fprintf(f.out, "Port forwarding %s in namespace %s, remote port %s -> http://%s%s\n", t.desc, t.namespace, remote, t.local, note)
	return t.local, nil
}

// listen listens on address:port, or on one of the next ten ports when it
// is taken, or else on a port the system picks, as Skaffold does.
func listen(address string, port int) (net.Listener, error) {
	if port > 0 {
		for p := port; p <= port+10 && p <= 65535; p++ {
			if l, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(p))); err == nil {
				return l, nil
			}
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(address, "0"))
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", address, err)
	}
	return l, nil
}

// Stop closes every listener and connection and waits until all are
// done. It may be called more than once.
func (f *Forwarder) Stop() {
	f.mu.Lock()
	f.stopped = true
	listeners, factories := f.listeners, f.factories
	f.listeners, f.factories = nil, nil
	f.mu.Unlock()
	f.cancel()
	for _, l := range listeners {
		l.Close()
	}
	for _, shutdown := range factories {
		shutdown()
	}
	f.wg.Wait()
}

// serve forwards each connection l accepts until l is closed.
func (f *Forwarder) serve(l net.Listener, t *target) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.handle(conn, t)
		}()
	}
}

// handle forwards one local connection to a ready pod of t. When the pod
// ends the connection before answering (its app stopped listening: it is
// going away, or not up yet), what the client sent is replayed to another
// ready pod where that is safe, so a rollout does not refuse connections.
func (f *Forwarder) handle(conn net.Conn, t *target) {
	defer conn.Close()
	stop := context.AfterFunc(f.ctx, func() { conn.Close() })
	defer stop()
	local := &replayReader{conn: conn}
	refused := map[types.UID]refusal{}
	for range maxAttempts {
		pc, ep, err := f.route(t, refused)
		if err != nil {
			if f.ctx.Err() == nil {
				f.warn(t, err.Error())
			}
			return
		}
		outcome, msg := f.pipe(conn, local, pc, ep.port, t)
		f.release(pc)
		switch outcome {
		case pipeDone:
			return
		case pipeBroken:
			// The connection broke since the pod was picked: the next
			// pick dials afresh.
			f.retire(pc)
		case pipeRefused:
			refused[pc.uid] = refusal{ep.pod.ResourceVersion, fmt.Sprintf("pod %s, port %d: %s", pc.name, ep.port, msg)}
		}
		local.rewind()
	}
	f.warn(t, fmt.Sprintf("gave up on a connection after %d attempts: %s", maxAttempts, joinRefusals(refused)))
}

// maxAttempts bounds the pods one local connection is sent to.
const maxAttempts = 5

// refusal is a pod that ended a local connection without answering, as
// it was then: once it changes (it restarted, say), it may be tried again.
type refusal struct {
	resourceVersion string
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
// connection and did not change since, waiting up to f.readyWait for one,
// and returns a connection to it and the pod with its port.
func (f *Forwarder) route(t *target, refused map[types.UID]refusal) (*podConn, endpoint, error) {
	deadline := time.Now().Add(f.readyWait)
	var dialErr error
	for {
		changed := t.cache.changes()
		eps, why := t.endpoints(f)
		eps = slices.DeleteFunc(eps, func(ep endpoint) bool {
			r, ok := refused[ep.pod.UID]
			return ok && r.resourceVersion == ep.pod.ResourceVersion
		})
		for _, ep := range f.prefer(eps) {
			pc, err := f.connect(ep.pod)
			if err == nil {
				return pc, ep, nil
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
		case <-time.After(min(left, time.Second)):
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
	fmt.Fprintf(f.out, "WARN: port-forward %s in namespace %s (%s): %s\n", t.desc, t.namespace, t.local, text)
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
// message.
func (f *Forwarder) pipe(conn net.Conn, local *replayReader, pc *podConn, port int32, t *target) (pipeOutcome, string) {
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(int(port)))
	headers.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(pc.nextRequestID(), 10))
	errorStream, err := pc.conn.CreateStream(headers)
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
	data, err := pc.conn.CreateStream(headers)
	if err != nil {
		errorStream.Reset()
		<-remoteErr
		return pipeBroken, err.Error()
	}
	defer pc.conn.RemoveStreams(data)

	var answered atomic.Bool
	remoteDone := make(chan struct{})
	go func() {
		defer close(remoteDone)
		io.Copy(conn, noticeReader{data, &answered})
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
	clientLeft := localEnded && localErr != nil && localErr != errPodWrite
	clientDone := localEnded && localErr == nil
	if !answered.Load() && replayable(msg, local, clientLeft, clientDone) {
		if !localEnded {
			// Stop reading the client without losing a byte: what was read
			// is kept for the replay.
			conn.SetReadDeadline(time.Now())
			<-localDone
			conn.SetReadDeadline(time.Time{})
		}
		if msg == "" {
			msg = "closed the connection without an answer"
		}
		return pipeRefused, msg
	}
	conn.Close()
	if !localEnded {
		<-localDone
	}
	if msg != "" && f.ctx.Err() == nil {
		f.warn(t, fmt.Sprintf("pod %s, port %d: %s", pc.name, port, msg))
	}
	return pipeDone, ""
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

// copyToPod copies what the client sends to the pod's stream, and
// half-closes the stream when the client is done sending. It returns nil
// then, errPodWrite when the stream takes no more, or the client's error.
func copyToPod(data httpstream.Stream, local io.Reader) error {
	buf := make([]byte, 32<<10)
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

// noticeReader records that something was read.
type noticeReader struct {
	r    io.Reader
	read *atomic.Bool
}

func (n noticeReader) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	if c > 0 {
		n.read.Store(true)
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

// podConn is one port-forward connection to a pod, shared by all local
// connections to it.
type podConn struct {
	namespace, name string
	uid             types.UID
	ready           chan struct{} // closed once dialled
	conn            httpstream.Connection
	err             error

	requestID atomic.Int64 // numbers each stream pair on conn

	// Guarded by Forwarder.mu.
	users   int  // local connections using it
	retired bool // no new users; closed when the last one leaves
}

func (pc *podConn) nextRequestID() int64 { return pc.requestID.Add(1) }

// connect returns the connection to pod, dialling it when there is none.
// The caller releases it.
func (f *Forwarder) connect(pod *corev1.Pod) (*podConn, error) {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return nil, errors.New("the forwarder is stopped")
	}
	pc, ok := f.conns[pod.UID]
	if !ok {
		pc = &podConn{namespace: pod.Namespace, name: pod.Name, uid: pod.UID, ready: make(chan struct{})}
		f.conns[pod.UID] = pc
		f.wg.Add(1)
		go f.open(pc)
	}
	pc.users++
	f.mu.Unlock()
	<-pc.ready
	if pc.err != nil {
		f.release(pc)
		return nil, pc.err
	}
	return pc, nil
}

// open dials pc, then retires it when the connection closes.
func (f *Forwarder) open(pc *podConn) {
	defer f.wg.Done()
	conn, err := f.dial(pc.namespace, pc.name)
	f.mu.Lock()
	pc.conn, pc.err = conn, err
	if err != nil {
		f.forgetLocked(pc)
	}
	close(pc.ready)
	f.mu.Unlock()
	if err != nil {
		return
	}
	select {
	case <-conn.CloseChan():
	case <-f.ctx.Done():
	}
	f.retire(pc)
	conn.Close()
}

// release ends one use of pc, closing it when it is retired and unused.
func (f *Forwarder) release(pc *podConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pc.users--
	f.closeIfDoneLocked(pc)
}

// retire stops new uses of pc; it closes once its users are done.
func (f *Forwarder) retire(pc *podConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgetLocked(pc)
	f.closeIfDoneLocked(pc)
}

// retirePod retires the connection to a pod that went away or is no
// longer ready.
func (f *Forwarder) retirePod(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pc, ok := f.conns[uid]; ok {
		f.forgetLocked(pc)
		f.closeIfDoneLocked(pc)
	}
}

func (f *Forwarder) forgetLocked(pc *podConn) {
	pc.retired = true
	if f.conns[pc.uid] == pc {
		delete(f.conns, pc.uid)
	}
}

func (f *Forwarder) closeIfDoneLocked(pc *podConn) {
	if pc.retired && pc.users == 0 && pc.conn != nil {
		pc.conn.Close()
	}
}

// dialPod opens a port-forward connection to a pod through the API
// server: a websocket tunnel, or SPDY from servers that lack it, as
// kubectl does.
func (f *Forwarder) dialPod(namespace, pod string) (httpstream.Connection, error) {
	if f.kc == nil || f.kc.REST == nil {
		return nil, errors.New("no cluster connection to forward through")
	}
	u := f.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(f.kc.REST)
	if err != nil {
		return nil, fmt.Errorf("kube context %q: %w", f.kc.Context, err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, f.kc.REST); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	conn, protocol, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("opening a port-forward connection through the API server: %w", err)
	}
	if protocol != portforward.PortForwardProtocolV1Name {
		conn.Close()
		return nil, fmt.Errorf("the API server speaks port-forward protocol %q, not %q", protocol, portforward.PortForwardProtocolV1Name)
	}
	return conn, nil
}
