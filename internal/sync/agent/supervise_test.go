//go:build unix

package agent

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// The test binary is also the supervised child: childEnv selects what it
// does, childName names it in its output.
const (
	childEnv  = "SKIFF_SUPERVISE_CHILD"
	childName = "SKIFF_SUPERVISE_NAME"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "exit":
		fmt.Printf("out: %s\n", strings.Join(os.Args[1:], " "))
		fmt.Fprintln(os.Stderr, "err")
		os.Exit(3)
	case "trap":
		// Ends with 7 on SIGTERM; other signals act as they would.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		name := os.Getenv(childName)
		if name == "" {
			name = "first"
		}
		fmt.Printf("ready %s %s\n", name, strings.Join(os.Args, " "))
		<-sigs
		fmt.Printf("%s got terminated\n", name)
		os.Exit(7)
	case "listen":
		// Listens on the address of listenEnv (after listenDelay, for a
		// child named "second") until SIGTERM.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		if os.Getenv(childName) == "second" {
			time.Sleep(listenDelay)
		}
		l, err := net.Listen("tcp", os.Getenv(listenEnv))
		if err != nil {
			fmt.Printf("listen: %v\n", err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s\n", cmp.Or(os.Getenv(childName), "first"))
				c.Close()
			}
		}()
		fmt.Println("listening")
		<-sigs
		if hook := os.Getenv(stopHookEnv); hook != "" {
			// Stops once the test has done what it does meanwhile.
			if c, err := net.Dial("tcp", hook); err == nil {
				_, _ = io.Copy(io.Discard, c)
			}
		}
		os.Exit(0)
	}
	os.Exit(100)
}

// listenEnv is the address the "listen" child listens on; listenDelay is
// how long a restarted one takes to start listening.
// stopHookEnv is an address the "listen" child connects to on SIGTERM,
// ending once it is closed.
const (
	listenEnv   = "SKIFF_SUPERVISE_LISTEN"
	listenDelay = 300 * time.Millisecond
	stopHookEnv = "SKIFF_SUPERVISE_STOP_HOOK"
)

// supervised is a Supervisor of the test binary in mode, with its output
// readable line by line.
type supervised struct {
	*Supervisor
	signals chan os.Signal
	out     *bufio.Reader
	stderr  bytes.Buffer
	code    chan int
}

func supervise(t *testing.T, mode string, args ...string) *supervised {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, mode)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	s := &supervised{signals: make(chan os.Signal, 1), out: bufio.NewReader(r), code: make(chan int, 1)}
	s.Supervisor = &Supervisor{
		Argv: append([]string{self}, args...), Stdin: strings.NewReader(""), Stdout: w, Stderr: &s.stderr,
		Signals: s.signals, Restarts: make(chan RestartRequest),
	}
	return s
}

func (s *supervised) start() { go func() { s.code <- s.Run() }() }

func (s *supervised) line(t *testing.T) string {
	t.Helper()
	l, err := s.out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's output: %v", err)
	}
	return strings.TrimSuffix(l, "\n")
}

func (s *supervised) listen(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := s.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return sock
}

func TestSuperviseKeepsOutputAndExitCode(t *testing.T) {
	s := supervise(t, "exit", "a", "b c")
	s.start()
	if got := s.line(t); got != "out: a b c" {
		t.Errorf("stdout: %q, want the child's %q", got, "out: a b c")
	}
	if code := <-s.code; code != 3 {
		t.Errorf("exit code %d, want the child's 3", code)
	}
	if got := s.stderr.String(); got != "err\n" {
		t.Errorf("stderr: %q, want the child's", got)
	}
}

func TestSuperviseForwardsSignals(t *testing.T) {
	s := supervise(t, "trap", "x")
	s.start()
	if got := s.line(t); !strings.HasPrefix(got, "ready first ") || !strings.HasSuffix(got, " x") {
		t.Fatalf("child said %q", got)
	}
	s.signals <- syscall.SIGTERM
	if got := s.line(t); got != "first got terminated" {
		t.Errorf("after SIGTERM the child said %q", got)
	}
	if code := <-s.code; code != 7 {
		t.Errorf("exit code %d, want the child's 7", code)
	}
}

func TestSuperviseEndsWithTheSignalThatKilledTheChild(t *testing.T) {
	s := supervise(t, "trap")
	s.start()
	s.line(t)
	// The child dies of it. (Not SIGHUP: under nohup the child inherits
	// it ignored, and a Go child ignores the other catchable signals it
	// is not told of; it lived on and the test hung.)
	s.signals <- syscall.SIGKILL
	select {
	case code := <-s.code:
		if code != 128+int(syscall.SIGKILL) {
			t.Errorf("exit code %d, want %d (128 + SIGKILL)", code, 128+int(syscall.SIGKILL))
		}
	case <-time.After(time.Minute): // a bound against a hang, not a figure
		t.Fatal("the supervisor did not end within a minute of its child's SIGKILL")
	}
}

func TestSuperviseRestartsFromANewExecutable(t *testing.T) {
	s := supervise(t, "trap", "arg")
	sock := s.listen(t)
	s.start()
	first := s.line(t)
	self := s.Argv[0]
	next := filepath.Join(t.TempDir(), "next")
	script := fmt.Sprintf("#!/bin/sh\n%s=second exec %q \"$@\"\n", childName, self)
	if err := os.WriteFile(next, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Restart(sock, next) }()
	if got := s.line(t); got != "first got terminated" {
		t.Fatalf("a restart should stop the child with SIGTERM; it said %q", got)
	}
	// The new executable gets the same argv[0] and arguments.
	if got, want := s.line(t), strings.Replace(first, "first", "second", 1); got != want {
		t.Errorf("restarted child said %q, want %q", got, want)
	}
	if err := <-done; err != nil {
		t.Fatalf("Restart: %v", err)
	}
	s.signals <- syscall.SIGTERM
	if got := s.line(t); got != "second got terminated" {
		t.Errorf("SIGTERM after the restart: the child said %q", got)
	}
	if code := <-s.code; code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
}

// superviseListener supervises a "listen" child on a free loopback
// address, which it returns, and starts it, with wait as its restarts'
// listen wait (0: listenWait); the caller sets the child's other
// variables first.
func superviseListener(t *testing.T, wait time.Duration) (s *supervised, sock, addr string) {
	t.Helper()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = free.Addr().String()
	free.Close()
	t.Setenv(listenEnv, addr)
	s = supervise(t, "listen")
	s.listenWait = wait
	sock = s.listen(t)
	s.start()
	if got := s.line(t); got != "listening" {
		t.Fatalf("child said %q", got)
	}
	return s, sock, addr
}

// executable writes script as a new executable and returns its path.
func executable(t *testing.T, script string) string {
	t.Helper()
	next := filepath.Join(t.TempDir(), "next")
	if err := os.WriteFile(next, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return next
}

// servedBySecond checks that, right after a restart, the child named
// "second" answers at addr, then ends the supervisor.
func (s *supervised) servedBySecond(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("right after the restart, connecting to %s: %v; the restart should end once the new process listens", addr, err)
	}
	defer c.Close()
	if got, err := bufio.NewReader(c).ReadString('\n'); got != "second\n" {
		t.Errorf("the new process answered %q (%v), want \"second\"", got, err)
	}
	s.signals <- syscall.SIGTERM
	if code := <-s.code; code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// A restart is done once the new process listens where the old one did:
// skiff then sends connections to it again.
func TestSuperviseRestartEndsOnceTheNewProcessListens(t *testing.T) {
	s, sock, addr := superviseListener(t, 0)
	next := executable(t, fmt.Sprintf("#!/bin/sh\n%s=second exec %q \"$@\"\n", childName, s.Argv[0]))
	if err := Restart(sock, next); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	s.servedBySecond(t, addr)
}

// The restart waits for the sockets of the supervised processes only: a
// sidecar of the pod (here the test) that closes a port while the old
// process stops does not hold it, and the new process is found listening
// when it runs as a child of a shell.
func TestSuperviseRestartWaitsForTheSupervisedProcessesOnly(t *testing.T) {
	sidecar, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sidecar.Close()
	hook, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hook.Close()
	go func() {
		// While the old process stops, the sidecar closes its port.
		c, err := hook.Accept()
		hook.Close()
		if err != nil {
			return
		}
		sidecar.Close()
		c.Close()
	}()
	t.Setenv(stopHookEnv, hook.Addr().String())
	s, sock, addr := superviseListener(t, time.Hour)
	next := executable(t, fmt.Sprintf("#!/bin/sh\ntrap 'kill $!; wait $!; exit 0' TERM\n%s=second %q \"$@\" &\nwait $!\n", childName, s.Argv[0]))
	done := make(chan error, 1)
	go func() { done <- Restart(sock, next) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Restart: %v", err)
		}
	case <-time.After(time.Minute): // a bound against a hang, not a figure
		t.Fatal("the restart did not end within a minute: it waits for the sidecar's closed port")
	}
	s.servedBySecond(t, addr)
}

func TestSuperviseKeepsTheChildWhenTheNewExecutableIsBad(t *testing.T) {
	s := supervise(t, "trap")
	sock := s.listen(t)
	s.start()
	s.line(t)
	notExec := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(t.TempDir(), "missing"), notExec} {
		err := Restart(sock, bad)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Restart(%s): %v, want an error naming it", bad, err)
		}
	}
	// The first child still runs: SIGTERM is its first news.
	s.signals <- syscall.SIGTERM
	if got := s.line(t); got != "first got terminated" {
		t.Errorf("the child said %q", got)
	}
	if code := <-s.code; code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
}

func TestRestartWithoutSupervisor(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none")
	err := Restart(sock, "")
	if err == nil || !strings.Contains(err.Error(), "does not run under skiff-agent run") {
		t.Errorf("Restart with no supervisor: %v", err)
	}
}

func TestApplyRestartFrame(t *testing.T) {
	// A short root: a Unix socket's path has at most 107 bytes.
	root, err := os.MkdirTemp("", "sk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	sockDir := filepath.Join(root, filepath.FromSlash(agentproto.AppDir))
	if err := os.MkdirAll(sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := supervise(t, "trap")
	l, err := s.Listen(filepath.Join(root, filepath.FromSlash(agentproto.ControlSocket)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s.start()
	s.line(t)
	a, err := New(root, []string{agentproto.AppDir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var out bytes.Buffer
	in := encode(t,
		other(agentproto.KindRestart, "/elsewhere/app", 0),
		other(agentproto.KindRestart, "", 0),
		op{f: agentproto.Frame{Kind: agentproto.KindEnd}},
	)
	done := make(chan error, 1)
	go func() { done <- a.Serve(bytes.NewReader(in), &out) }()
	if got := s.line(t); got != "first got terminated" {
		t.Fatalf("the child said %q", got)
	}
	s.line(t) // started again
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rs := results(t, out.Bytes())
	if len(rs) != 3 || rs[0].kind != "failed" || !strings.Contains(rs[0].msg, "outside the allowed destinations") || rs[1].kind != "ok" {
		t.Errorf("results %+v: want the restart from outside /skiff/app refused, the other done", rs)
	}
	s.signals <- syscall.SIGTERM
	<-s.code
}
