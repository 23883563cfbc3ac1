package agent

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"skiff.dev/skiff/internal/sync/agentproto"
)

// stopGrace is how long a restart waits for the child to end after
// SIGTERM before it kills it.
const stopGrace = 10 * time.Second

// Supervisor runs a program as its child (skiff-agent run): it forwards
// the signals it receives to the child, restarts it on request (with the
// same arguments, from the same or another executable) and ends with the
// child's exit status. The child inherits the supervisor's standard
// input, output and error, so its logs are unchanged.
type Supervisor struct {
	// Argv is the program and its arguments; Argv[0] is the program's
	// path, also passed as argv[0] to a restarted executable.
	Argv []string
	// Stdin, Stdout and Stderr are the child's.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals are forwarded to the child.
	Signals <-chan os.Signal
	// Restarts are restart requests, from Listen's control socket.
	Restarts chan RestartRequest

	// listenWait bounds a restart's wait for the new process to listen;
	// zero is listenWait.
	listenWait time.Duration
}

// RestartRequest asks the supervisor to stop its child and start Binary
// ("" for the program it was started with) with the same arguments. The
// outcome goes to Done: nil once the new child has started and listens on
// the TCP sockets the old one listened on (see awaitListening), so that
// connections sent to it from then on are served.
type RestartRequest struct {
	Binary string
	Done   chan<- error
}

type exit struct {
	cmd   *exec.Cmd
	state *os.ProcessState
	err   error
}

// Run starts the child and supervises it until it ends on its own (or
// after a forwarded signal), then returns its exit code: its own, or 128
// plus the signal that killed it, as a shell reports it. It returns 127
// when the program cannot be started.
func (s *Supervisor) Run() int {
	exited := make(chan exit, 1)
	cmd, err := s.start(s.Argv[0], exited)
	if err != nil {
		fmt.Fprintf(s.Stderr, "skiff-agent run: %v\n", err)
		return 127
	}
	for {
		select {
		case sig := <-s.Signals:
			_ = cmd.Process.Signal(sig)
		case e := <-exited:
			return exitCode(e)
		case req := <-s.Restarts:
			next, quit, err := s.restart(cmd, req.Binary, exited)
			if quit != nil {
				req.Done <- cmpErr(err, errors.New("the container is stopping"))
				return exitCode(*quit)
			}
			cmd = next
			req.Done <- err
		}
	}
}

// restart stops cmd and starts binary in its place; when binary cannot be
// started, it starts the previous executable again and returns why. A
// signal forwarded while cmd stops makes its end the supervisor's (quit),
// as does a failure to start either executable.
func (s *Supervisor) restart(cmd *exec.Cmd, binary string, exited chan exit) (*exec.Cmd, *exit, error) {
	if binary == "" {
		binary = s.Argv[0]
	}
	if err := checkExecutable(binary); err != nil {
		return cmd, nil, err
	}
	// What the old process listens on: its own sockets, not those of the
	// pod's other containers, which share the network namespace.
	before, _ := treeListening(cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	kill := time.NewTimer(stopGrace)
	defer kill.Stop()
	signalled := false
	for done := false; !done; {
		select {
		case sig := <-s.Signals:
			signalled = true
			_ = cmd.Process.Signal(sig)
		case <-kill.C:
			_ = cmd.Process.Kill()
		case e := <-exited:
			if signalled {
				return nil, &e, nil
			}
			done = true
		}
	}
	// Of those, the addresses its end freed.
	closed := closedBy(before, listeningSockets(nil))
	next, err := s.start(binary, exited)
	if err == nil {
		quit, err := s.awaitListening(next, closed, exited)
		return next, quit, err
	}
	prev, perr := s.start(cmd.Path, exited)
	if perr != nil {
		// Nothing runs: end as a failed start would.
		e := exit{err: fmt.Errorf("%w; starting %s again: %w", err, cmd.Path, perr)}
		fmt.Fprintf(s.Stderr, "skiff-agent run: %v\n", e.err)
		return nil, &e, e.err
	}
	return prev, nil, fmt.Errorf("%w; %s runs again", err, cmd.Path)
}

// awaitListening waits until cmd, just started, or a process it started,
// listens on every address of addrs (the old process's), so that a
// restart is done when the new process can take connections, up to
// listenWait (it may listen elsewhere now). A child that ends meanwhile, or a signal forwarded to it, ends the
// wait; the child's end is then the supervisor's (quit).
func (s *Supervisor) awaitListening(cmd *exec.Cmd, addrs []string, exited chan exit) (*exit, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	give := time.NewTimer(cmp.Or(s.listenWait, listenWait))
	defer give.Stop()
	tick := time.NewTicker(listenPoll)
	defer tick.Stop()
	for {
		if now, _ := treeListening(cmd.Process.Pid); allIn(addrs, now) {
			return nil, nil
		}
		select {
		case sig := <-s.Signals:
			_ = cmd.Process.Signal(sig)
			return nil, nil
		case e := <-exited:
			return &e, fmt.Errorf("%s ended (%s) before it listened where the previous process did", cmd.Path, exitText(e))
		case <-give.C:
			return nil, nil
		case <-tick.C:
		}
	}
}

// exitText says how the process of e ended, as a shell would.
func exitText(e exit) string {
	code := exitCode(e)
	if code > 128 && e.state != nil {
		if ws, ok := e.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
	}
	return fmt.Sprintf("exit code %d", code)
}

// cmpErr is err, or else def.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// start starts binary with the supervisor's arguments, and sends its end
// to exited.
func (s *Supervisor) start(binary string, exited chan exit) (*exec.Cmd, error) {
	cmd := exec.Command(binary, s.Argv[1:]...)
	cmd.Args[0] = s.Argv[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() {
		err := cmd.Wait()
		exited <- exit{cmd: cmd, state: cmd.ProcessState, err: err}
	}()
	return cmd, nil
}

// checkExecutable says why binary cannot be run, before the running child
// is stopped for it.
func checkExecutable(binary string) error {
	fi, err := os.Stat(binary)
	switch {
	case err != nil:
		return fmt.Errorf("the new executable: %w", err)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("the new executable %s is not an executable file (mode %s)", binary, fi.Mode())
	}
	return nil
}

// exitCode is the code a shell would report for e.
func exitCode(e exit) int {
	if e.state == nil {
		return 127
	}
	if ws, ok := e.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return e.state.ExitCode()
}

// Listen serves restart requests on the Unix socket sock until l is
// closed, one line per connection: "restart [BINARY]", answered "ok" or
// "error: WHY". A stale socket file at sock is replaced.
func (s *Supervisor) Listen(sock string) (net.Listener, error) {
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return l, nil
}

func (s *Supervisor) serve(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(io.LimitReader(c, agentproto.MaxPath+64)).ReadString('\n')
	if err != nil {
		return
	}
	cmd, binary, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	if cmd != "restart" {
		fmt.Fprintf(c, "error: unknown request %q\n", cmd)
		return
	}
	done := make(chan error, 1)
	s.Restarts <- RestartRequest{Binary: binary, Done: done}
	if err := <-done; err != nil {
		fmt.Fprintf(c, "error: %v\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Fprintln(c, "ok")
}

// Restart asks the supervisor listening on sock to restart its child
// from binary ("" for its own program), and waits until it has and the
// new process listens where the old one did.
func Restart(sock, binary string) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("no supervisor at %s (%w): the container's process does not run under skiff-agent run", sock, unwrapPath(err))
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "restart %s\n", binary); err != nil {
		return fmt.Errorf("asking the supervisor at %s to restart: %w", sock, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the supervisor at %s did not answer the restart: %w", sock, err)
	}
	line = strings.TrimSuffix(line, "\n")
	if line != "ok" {
		return fmt.Errorf("restarting the process: %s", strings.TrimPrefix(line, "error: "))
	}
	return nil
}

// runSupervised is skiff-agent run: args are [--control SOCKET] --
// PROGRAM [ARG...]. Without a control socket (its directory not
// writable), the child runs and cannot be restarted, which is said on
// stderr.
func runSupervised(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	fl.SetOutput(stderr)
	control := fl.String("control", agentproto.ControlSocket, "the Unix socket restart requests come through")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	s := &Supervisor{Argv: fl.Args(), Stdin: stdin, Stdout: stdout, Stderr: stderr, Signals: sigs, Restarts: make(chan RestartRequest)}
	l, err := s.Listen(*control)
	if err != nil {
		fmt.Fprintf(stderr, "skiff-agent run: no restart control at %s (%v): a hot swap cannot restart %s, skiff rebuilds and redeploys instead\n", *control, unwrapPath(err), s.Argv[0])
	} else {
		defer l.Close()
	}
	return s.Run()
}
