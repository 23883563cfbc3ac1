package kube

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/testutil"
)

// A hot swap restarts one pod's app at a time and steers the forward off
// it meanwhile: new connections go to another pod, or wait for it when
// there is none, and the steer waits for the connections in flight.
func TestForwarderSteersConnectionsOffARestartingPod(t *testing.T) {
	t.Parallel()
	f, _, _, out := newTestForwarder(t, webDeployment(), webPod("web-a", 8080, true, time.Hour), webPod("web-b", 8080, true, 0))
	addr, err := f.Add(t.Context(), Forward{Type: "deployment", Name: "web", Port: intstr.FromInt32(8080), LocalPort: testutil.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, addr); got != "web-b:8080" {
		t.Fatalf("answer %q, want the newest pod's, web-b:8080", got)
	}

	// A connection in flight to web-b: Steer returns once web-b answered it.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		n := f.active["ns/web-b"]
		f.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection did not reach web-b within 10s")
		}
	}
	steered := make(chan struct{})
	var releaseB func()
	go func() {
		releaseB = f.Steer(t.Context(), "ns", "web-b")
		close(steered)
	}()
	time.Sleep(50 * time.Millisecond) // Steer waits meanwhile
	select {
	case <-steered:
		t.Error("Steer returned while a connection to web-b was in flight")
	default:
	}
	fmt.Fprintf(conn, "hello\n")
	if line, _ := bufio.NewReader(conn).ReadString('\n'); line != "web-b:8080 hello\n" {
		t.Errorf("the connection in flight got %q, want web-b's answer", line)
	}
	<-steered

	// Steered away: web-a takes the new connections.
	for range 3 {
		if got := ask(t, addr); got != "web-a:8080" {
			t.Errorf("answer %q while web-b restarts, want web-a:8080", got)
		}
	}
	// Both steered away: a connection waits until one is released.
	releaseA := f.Steer(t.Context(), "ns", "web-a")
	answer := make(chan string)
	go func() { answer <- ask(t, addr) }()
	time.Sleep(100 * time.Millisecond) // the connection waits meanwhile
	select {
	case got := <-answer:
		t.Fatalf("answer %q while every pod was steered away", got)
	default:
	}
	releaseB()
	releaseB() // a second call does nothing
	if got := <-answer; got != "web-b:8080" {
		t.Errorf("answer %q once web-b was released, want web-b:8080", got)
	}
	releaseA()
	if got := ask(t, addr); got != "web-b:8080" {
		t.Errorf("answer %q once both were released, want the newest pod's, web-b:8080", got)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		steered, active := len(f.steered), len(f.active)
		f.mu.Unlock()
		if steered == 0 && active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pods left steered and %d with connections counted; want none", steered, active)
		}
	}
	if strings.Contains(out.String(), "WARN") {
		t.Errorf("a warning while pods were steered away:\n%s", out)
	}
}
