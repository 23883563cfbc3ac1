package sync

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// fakeDockerAPI is a DockerAPI whose execs echo their stdin to stdout and
// write "warning\n" to stderr, over a loopback connection framed as the
// Engine frames them, and exit with exitCode.
type fakeDockerAPI struct {
	t         *testing.T
	createErr error
	exitCode  int
	running   int  // ExecInspect answers Running this many times first
	noStdin   bool // the command ends without reading stdin, as one that does not exist

	created client.ExecCreateOptions
}

func (f *fakeDockerAPI) ExecCreate(_ context.Context, container string, o client.ExecCreateOptions) (client.ExecCreateResult, error) {
	f.created = o
	if f.createErr != nil {
		return client.ExecCreateResult{}, f.createErr
	}
	return client.ExecCreateResult{ID: "exec-" + container}, nil
}

func (f *fakeDockerAPI) ExecAttach(context.Context, string, client.ExecAttachOptions) (client.ExecAttachResult, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	// Accept before the listener closes: closing it with the connection
	// still in its backlog would reset the connection.
	srv, err := l.Accept()
	if err != nil {
		f.t.Fatal(err)
	}
	go func() {
		c := srv
		defer c.Close()
		var in []byte
		if !f.noStdin {
			in, _ = io.ReadAll(c) // until the executor closes stdin
		}
		frame := func(stream byte, p []byte) {
			h := make([]byte, 8)
			h[0] = stream
			binary.BigEndian.PutUint32(h[4:], uint32(len(p)))
			c.Write(append(h, p...))
		}
		frame(1, in)
		frame(2, []byte("warning\n"))
		if f.noStdin {
			// End the output, and take stdin until the executor closes
			// the connection: closing with stdin unread would reset it.
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
		}
	}()
	return client.ExecAttachResult{HijackedResponse: client.NewHijackedResponse(c, "application/vnd.docker.multiplexed-stream")}, nil
}

func (f *fakeDockerAPI) ExecInspect(context.Context, string, client.ExecInspectOptions) (client.ExecInspectResult, error) {
	if f.running > 0 {
		f.running--
		return client.ExecInspectResult{Running: true}, nil
	}
	return client.ExecInspectResult{ExitCode: f.exitCode}, nil
}

func TestDockerExecutor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		target    Target
		api       fakeDockerAPI
		stdout    string
		wantCode  int    // an *ExitError with this code
		wantUnav  string // an ErrUnavailable saying this
		wantError string // another error saying this
	}{
		{name: "echo", target: DockerTarget("web"), stdout: "hello\n"},
		{name: "exit code lags the output", target: DockerTarget("web"), api: fakeDockerAPI{running: 3}, stdout: "hello\n"},
		{name: "fails", target: DockerTarget("web"), api: fakeDockerAPI{exitCode: 3}, wantCode: 3},
		{name: "no such command", target: DockerTarget("web"), api: fakeDockerAPI{exitCode: 127}, wantCode: 127},
		{name: "no such container", target: DockerTarget("web"),
			api:      fakeDockerAPI{createErr: cerrdefs.ErrNotFound.WithMessage("No such container: web")},
			wantUnav: "container web does not exist"},
		{name: "stopped", target: DockerTarget("web"),
			api:      fakeDockerAPI{createErr: cerrdefs.ErrConflict.WithMessage("container abc is not running")},
			wantUnav: "container web is not running (container abc is not running); sync again once it runs, `docker logs web`"},
		{name: "engine down", target: DockerTarget("web"),
			api:       fakeDockerAPI{createErr: errors.New("Cannot connect to the Docker daemon")},
			wantError: "exec in container web: Cannot connect to the Docker daemon; check that the Docker Engine runs"},
		{name: "a pod target", target: Target{Namespace: "ns", Pod: "p", Container: "web"},
			wantError: "a Docker container is addressed by Target.Container alone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := tt.api
			api.t = t
			var stdout, stderr bytes.Buffer
			err := NewDockerExecutor(&api).Exec(t.Context(), tt.target, []string{"cat"}, strings.NewReader(tt.stdout), &stdout, &stderr)
			var ee *ExitError
			switch {
			case tt.wantCode != 0:
				if !errors.As(err, &ee) || ee.Code != tt.wantCode {
					t.Errorf("Exec() = %v, want exit code %d", err, tt.wantCode)
				}
			case tt.wantUnav != "":
				if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantUnav) {
					t.Errorf("Exec() = %v, want ErrUnavailable saying %q", err, tt.wantUnav)
				}
			case tt.wantError != "":
				if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantError) {
					t.Errorf("Exec() = %v, want an error saying %q", err, tt.wantError)
				}
			default:
				if err != nil || stdout.String() != tt.stdout || stderr.String() != "warning\n" {
					t.Errorf("Exec() = %v, stdout %q, stderr %q; want nil, %q, %q", err, stdout.String(), stderr.String(), tt.stdout, "warning\n")
				}
				if c := api.created; !c.AttachStdin || !c.AttachStdout || !c.AttachStderr || c.TTY || len(c.Cmd) != 1 || c.Cmd[0] != "cat" {
					t.Errorf("ExecCreate options = %+v; want cat with stdin, stdout and stderr attached, no TTY", c)
				}
			}
		})
	}
}

// TestDockerExecutorAgentMissing checks that AgentTransport reads the
// Engine's code 127 for a command that is not in the image as ErrNoAgent.
func TestDockerExecutorAgentMissing(t *testing.T) {
	t.Parallel()
	api := &fakeDockerAPI{t: t, exitCode: 127, noStdin: true}
	op := Op{Kind: Delete, Local: "/src/a", Dest: "/app/a", Root: "/app"}
	err := (&AgentTransport{Exec: NewDockerExecutor(api)}).Sync(t.Context(), DockerTarget("web"), []Op{op})
	if !errors.Is(err, ErrNoAgent) {
		t.Errorf("Sync() = %v, want ErrNoAgent", err)
	}
}
