package kube

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// podConn is one port-forward connection to a pod, shared by all local
// connections to it.
type podConn struct {
	namespace, name string
	uid             types.UID
	ready           chan struct{} // closed once dialled
	conn            httpstream.Connection
	err             error

	requestID atomic.Int64 // numbers each stream pair on conn

	// gone is closed when pc is retired: a stream it has not opened yet
	// is opened on a new connection instead (see createStream).
	gone chan struct{}

	// Guarded by Forwarder.mu.
	users   int  // local connections using it
	retired bool // no new users; closed when the last one leaves
	// warm is set while pc was opened ahead (warm) and no local connection
	// has used it yet.
	warm bool
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
		pc = f.dialLocked(pod)
	}
	pc.users++
	pc.warm = false
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

// warm opens a connection to pod ahead of its first use: pod is a pod
// that a forward will send connections to once it is ready, whose
// containers run but which is not ready yet. When it turns ready (in a
// rollout, typically a few milliseconds later), connections to it need not
// wait for a port-forward connection to be dialled through the API server
// and the kubelet, which costs 0.1-0.3 s on a loaded node. A pod that
// already has a connection that served it while it was ready has it
// retired instead, as any pod that stops being ready (newNSCache).
func (f *Forwarder) warm(pod *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pc, ok := f.conns[pod.UID]; ok {
		if !pc.warm {
			f.forgetLocked(pc)
			f.closeIfDoneLocked(pc)
		}
		return
	}
	if f.stopped {
		return
	}
	f.dialLocked(pod)
}

// dialLocked starts dialling a new connection to pod, warm (no local
// connection uses it yet), and returns it. f.mu is held and f is not
// stopped.
func (f *Forwarder) dialLocked(pod *corev1.Pod) *podConn {
	pc := &podConn{namespace: pod.Namespace, name: pod.Name, uid: pod.UID, ready: make(chan struct{}), gone: make(chan struct{}), warm: true}
	f.conns[pod.UID] = pc
	f.wg.Add(1)
	go f.open(pc)
	return pc
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
	if !pc.retired {
		close(pc.gone)
	}
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
// server: SPDY tunnelled through a websocket (tunnelDialer), or SPDY from
// servers that lack the tunnel, as kubectl does.
func (f *Forwarder) dialPod(namespace, pod string) (httpstream.Connection, error) {
	if f.kc == nil || f.kc.REST == nil {
		return nil, errors.New("no cluster connection to forward through")
	}
	u := f.api.CoreREST().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(f.kc.REST)
	if err != nil {
		return nil, fmt.Errorf("kube context %q: %w", f.kc.Context, err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if ws, err := newTunnelDialer(u, f.kc.REST); err == nil {
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
