package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"skiff.dev/skiff/internal/api/v2pb"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/runner"
)

// GRPCServer serves Skaffold's v2 gRPC service (proto.v2.SkaffoldV2Service,
// skiff dev --rpc-port) from the same Options as the HTTP Server: Events
// and ApplicationLogs stream the session's events from its start,
// GetState is /v2/state, Execute and AutoBuild, AutoSync, AutoDeploy drive
// the loop. Handle (a client publishing an event) is not served.
//
// It needs no guard against web pages as the HTTP Server does: it speaks
// HTTP/2 without TLS only, which browsers never send, so a page (of
// another site, or of a rebound host name) cannot call it.
type GRPCServer struct {
	opts Options
	srv  *grpc.Server
	ln   net.Listener
	done chan error
}

// NewGRPC returns a GRPCServer of opts.
func NewGRPC(opts Options) *GRPCServer {
	g := &GRPCServer{opts: opts, srv: grpc.NewServer()}
	v2pb.RegisterSkaffoldV2ServiceServer(g.srv, &service{opts: opts})
	return g
}

// Start listens on 127.0.0.1:port (0: a free port) and serves in the
// background; it returns the address it listens on.
func (g *GRPCServer) Start(port int) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("listening for the gRPC API on 127.0.0.1:%d: %w; give a free port, or 0 for any", port, err)
	}
	g.Serve(ln)
	return ln.Addr().String(), nil
}

// Serve serves on ln in the background (Start, or a test's listener).
func (g *GRPCServer) Serve(ln net.Listener) {
	g.ln = ln
	g.done = make(chan error, 1)
	go func() { g.done <- g.srv.Serve(ln) }()
}

// Close stops the server and its connections; the streams end. It
// returns what made the server stop, if not Close.
func (g *GRPCServer) Close() error {
	if g.done == nil {
		return nil
	}
	g.srv.Stop()
	if err := <-g.done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("the gRPC API server on %s: %w", g.ln.Addr(), err)
	}
	return nil
}

// service implements v2pb.SkaffoldV2ServiceServer on Options.
type service struct {
	v2pb.UnimplementedSkaffoldV2ServiceServer
	opts Options
}

func (s *service) GetState(context.Context, *emptypb.Empty) (*v2pb.State, error) {
	return toProtoState(s.opts.state()), nil
}

func (s *service) Events(_ *emptypb.Empty, stream v2pb.SkaffoldV2Service_EventsServer) error {
	return s.stream(stream, func(event.Event) bool { return true })
}

func (s *service) ApplicationLogs(_ *emptypb.Empty, stream v2pb.SkaffoldV2Service_ApplicationLogsServer) error {
	return s.stream(stream, func(e event.Event) bool { return e.ApplicationLogEvent != nil })
}

// eventSender is the server side of Events and ApplicationLogs.
type eventSender interface {
	Send(*v2pb.Event) error
	Context() context.Context
}

// stream sends the events that keep says, from the session's start,
// until the session or the call ends.
func (s *service) stream(out eventSender, keep func(event.Event) bool) error {
	sub := s.opts.Events.Subscribe(event.DefaultHistory + streamBuffer)
	defer sub.Cancel()
	for {
		select {
		case <-out.Context().Done():
			return nil
		case e, open := <-sub.C:
			if !open {
				return nil
			}
			if !keep(e) {
				continue
			}
			if err := out.Send(toProtoEvent(e)); err != nil {
				return err // the client went
			}
		}
	}
}

func (s *service) Execute(_ context.Context, in *v2pb.UserIntentRequest) (*emptypb.Empty, error) {
	if s.opts.Control == nil {
		return nil, status.Error(codes.Unimplemented, s.opts.noLoop())
	}
	i := in.GetIntent()
	s.opts.Control.Trigger(intent{Build: i.GetBuild(), Sync: i.GetSync(), Deploy: i.GetDeploy(), Devloop: i.GetDevloop()}.phases())
	return &emptypb.Empty{}, nil
}

func (s *service) AutoBuild(_ context.Context, in *v2pb.TriggerRequest) (*emptypb.Empty, error) {
	return s.auto(runner.PhaseBuild, in)
}

func (s *service) AutoSync(_ context.Context, in *v2pb.TriggerRequest) (*emptypb.Empty, error) {
	return s.auto(runner.PhaseSync, in)
}

func (s *service) AutoDeploy(_ context.Context, in *v2pb.TriggerRequest) (*emptypb.Empty, error) {
	return s.auto(runner.PhaseDeploy, in)
}

// auto turns phase's automatic run on or off as in asks.
func (s *service) auto(phase string, in *v2pb.TriggerRequest) (*emptypb.Empty, error) {
	if s.opts.Control == nil {
		return nil, status.Error(codes.Unimplemented, s.opts.noLoop())
	}
	var enabled *bool
	if v, ok := in.GetState().GetVal().(*v2pb.TriggerState_Enabled); ok {
		enabled = &v.Enabled
	}
	if code, msg := s.opts.setAuto(phase, enabled); code != codeOK {
		return nil, status.Error(codes.Code(code), msg)
	}
	return &emptypb.Empty{}, nil
}

// Handle is Skaffold's way for a client to add an event to the stream;
// skiff's events come from the engine only.
func (s *service) Handle(context.Context, *v2pb.Event) (*emptypb.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "skiff does not take events from clients: its events come from the session itself; read them with Events")
}
