package kube

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/testutil"
)

// spdyPod is one pod's side of port-forward connections over real SPDY on
// loopback, as the kubelet serves them: each local connection is a pair
// of streams (error, data) with the same request ID. When the app is
// down, it writes the failure to the error stream and closes both
// streams without reading the data stream, as the kubelet does when its
// dial of the app is refused. Otherwise the app reads a line and answers
// "POD:PORT LINE".
type spdyPod struct {
	t    *testing.T
	name string
	l    net.Listener

	mu     sync.Mutex
	down   bool
	turned int // connections turned away while down
	dials  int
}

func newSPDYPod(t *testing.T, name string) *spdyPod {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &spdyPod{t: t, name: name, l: l}
	t.Cleanup(func() { l.Close() })
	go p.accept()
	return p
}

func (p *spdyPod) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func (p *spdyPod) turnedAway() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.turned
}

func (p *spdyPod) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		streams := make(chan httpstream.Stream, 64)
		conn, err := spdy.NewServerConnection(c, func(s httpstream.Stream, _ <-chan struct{}) error {
			streams <- s
			return nil
		})
		if err != nil {
			p.t.Errorf("pod %s: serving SPDY: %v", p.name, err)
			c.Close()
			continue
		}
		go p.pair(conn, streams)
	}
}

// pair matches each connection's error and data streams by request ID
// and serves each pair.
func (p *spdyPod) pair(conn httpstream.Connection, streams chan httpstream.Stream) {
	defer conn.Close()
	errs := map[string]httpstream.Stream{}
	datas := map[string]httpstream.Stream{}
	for {
		select {
		case <-conn.CloseChan():
			return
		case s := <-streams:
			id := s.Headers().Get(corev1.PortForwardRequestIDHeader)
			if s.Headers().Get(corev1.StreamType) == corev1.StreamTypeError {
				errs[id] = s
			} else {
				datas[id] = s
			}
			if errs[id] != nil && datas[id] != nil {
				go p.serve(errs[id], datas[id])
				delete(errs, id)
				delete(datas, id)
			}
		}
	}
}

func (p *spdyPod) serve(errStream, data httpstream.Stream) {
	defer errStream.Close()
	defer data.Close()
	port := data.Headers().Get(corev1.PortHeader)
	p.mu.Lock()
	down := p.down
	if down {
		p.turned++
	}
	p.mu.Unlock()
	if down {
		// What the client sent is left unread, as the kubelet leaves it.
		fmt.Fprintf(errStream, "error forwarding port %s to pod %s: failed to connect to localhost:%s inside namespace: connect: connection refused", port, p.name, port)
		return
	}
	line, _ := bufio.NewReader(data).ReadString('\n')
	fmt.Fprintf(data, "%s:%s %s", p.name, port, line)
}

// dial is a Forwarder's dial to this pod.
func (p *spdyPod) dial(_, _ string) (httpstream.Connection, error) {
	p.mu.Lock()
	p.dials++
	p.mu.Unlock()
	c, err := net.Dial("tcp", p.l.Addr().String())
	if err != nil {
		return nil, err
	}
	return spdy.NewClientConnection(c)
}

// waitTurned waits until the pod turned away n connections in all.
func (p *spdyPod) waitTurned(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.turnedAway() < n {
		if time.Now().After(deadline) {
			t.Fatalf("pod %s turned away %d connections within 10s; want %d", p.name, p.turnedAway(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A hot swap restarts the app of a ready pod: connections in that moment
// are refused by the pod side, which leaves unread what the client sent.
// Over SPDY that unread data stalls every later stream that shares its
// frame worker on the pod side, so a connection that was refused must not
// leave the pod connection in use: every connection after the restart,
// and those held during it, are answered (before, about one in five hung
// until the client gave up).
func TestForwarderServesAfterAPodRefusedOverSPDY(t *testing.T) {
	t.Parallel()
	f, _, _, out := newTestForwarder(t, webDeployment(), webPod("web-a", 8080, true, 0))
	pod := newSPDYPod(t, "web-a")
	f.dial = pod.dial
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, addr); got != "web-a:8080" {
		t.Fatalf("answer %q before any restart; want web-a:8080", got)
	}
	for restart := range 3 {
		// The app restarts while connections come in, one at first, then
		// several at once.
		pod.setDown(true)
		before := pod.turnedAway()
		waiting := 1 + 3*restart
		answers := make(chan string, waiting)
		for range waiting {
			go func() { answers <- ask(t, addr) }()
		}
		pod.waitTurned(t, before+waiting)
		pod.setDown(false)
		for range waiting {
			if got := <-answers; got != "web-a:8080" {
				t.Errorf("restart %d: a held connection got %q; want web-a:8080 once the app listens", restart+1, got)
			}
		}
		for i := range 10 {
			if got := ask(t, addr); got != "web-a:8080" {
				t.Fatalf("restart %d, connection %d after it: answer %q; want web-a:8080\n%s", restart+1, i+1, got, out)
			}
		}
	}
}
