package kube

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/kube/typed"
	"skiff.dev/skiff/internal/log"
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
	api typed.API
	out io.Writer
	log *log.Logger
	// dial opens a port-forward connection to a pod; tests replace it.
	dial func(namespace, pod string) (httpstream.Connection, error)
	// readyWait is how long a local connection waits for a ready pod.
	readyWait time.Duration
	// Events receives a PortForwardEvent per forward started; nil: none.
	// Set it before the first Add.
	Events *event.Bus

	ctx       context.Context // ends on Stop
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	informers typed.Informers // the caches', run until ctx ends

	mu          sync.Mutex
	stopped     bool
	caches      map[string]*nsCache    // by namespace
	conns       map[types.UID]*podConn // open connections, by pod
	podForwards map[string]bool        // ForwardPods' keys
	owners      map[types.UID]string   // controller -> top-level owner, "kind/name"
	warned      map[*target]warning    // the last warning of each target
	listeners   []net.Listener
	steered     map[string]int          // "namespace/pod" -> Steer calls not released
	active      map[string]int          // "namespace/pod" -> local connections forwarded to it, not answered yet
	early       map[types.UID]*earlyPod // pods tried before they are reported ready
	ahead       map[types.UID]bool      // pods dialAhead dials
	// steerChanged is closed, and replaced, when a pod is released from a
	// Steer; idle likewise when a connection to a pod ends.
	steerChanged chan struct{}
	idle         chan struct{}
}

// NewForwarder returns a Forwarder for the cluster kc; api is a client
// for it. It reports each forward on out, and warns on lg (nil drops the
// warnings) about connections and pods it could not forward.
func NewForwarder(kc *Config, api typed.API, out io.Writer, lg *log.Logger) *Forwarder {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{
		kc:           kc,
		api:          api,
		out:          out,
		log:          lg,
		readyWait:    30 * time.Second,
		ctx:          ctx,
		cancel:       cancel,
		caches:       map[string]*nsCache{},
		conns:        map[types.UID]*podConn{},
		podForwards:  map[string]bool{},
		owners:       map[types.UID]string{},
		warned:       map[*target]warning{},
		steered:      map[string]int{},
		active:       map[string]int{},
		early:        map[types.UID]*earlyPod{},
		ahead:        map[types.UID]bool{},
		steerChanged: make(chan struct{}),
		idle:         make(chan struct{}),
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
	return f.start(t, fw.Address, local, remote, remotePortText(fw.Port, remote))
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
// there until Stop, and reports it; port is the remote port, remote how
// the report names it.
func (f *Forwarder) start(t *target, address string, localPort int, port int32, remote string) (string, error) {
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
	f.Events.Publish(forwardEvent(t, l.Addr().(*net.TCPAddr), port))
	return t.local, nil
}

// forwardEvent is the PortForwardEvent of t, listening on local, to the
// remote port.
func forwardEvent(t *target, local *net.TCPAddr, port int32) event.Event {
	kind, name, _ := strings.Cut(t.desc, "/")
	return event.Event{PortEvent: &event.PortForwardEvent{
		ID: t.desc + ":" + strconv.Itoa(int(port)), TaskID: "PortForward",
		ResourceType: kind, ResourceName: name, Namespace: t.namespace,
		Address: local.IP.String(), LocalPort: int32(local.Port), TargetPort: event.IntOrString{IntVal: port},
	}}
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
	listeners := f.listeners
	f.listeners = nil
	f.mu.Unlock()
	f.cancel()
	for _, l := range listeners {
		l.Close()
	}
	f.informers.Wait()
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
