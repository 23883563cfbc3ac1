// Package api serves Skaffold's v2 API for a session: over HTTP (skiff
// dev --rpc-http-port, Server) and over gRPC (--rpc-port, GRPCServer,
// with the messages of v2pb). The HTTP API serves the event stream
// (/v2/events, /v2/applicationLogs, also as server-sent events), the
// state (/v2/state) and the control of the dev loop (/v2/execute,
// /v2/{build,sync,deploy}/auto_execute), in the JSON shapes of Skaffold's grpc-gateway: a stream is one
// {"result": event} object a line, an error is {"code", "message",
// "details"} with the HTTP status of its gRPC code.
//
// Plugging in: New and NewGRPC take the session's event bus, its state
// tracker and the dev loop's runner.Control (nil for commands without a
// loop) in Options; Handle adds more routes (a dashboard's pages and
// assets) to the HTTP server, before Start. The routes of the HTTP API
// are all in routes; the gRPC calls share their logic (Options.state,
// intent.phases, Options.setAuto).
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/runner"
)

// Options say what a Server serves.
type Options struct {
	// Events is the session's event stream; required.
	Events *event.Bus
	// State is the state made from Events; required.
	State *event.Tracker
	// Control drives the dev loop (a *runner.Control); nil when the
	// command has none (build, run, deploy): /v2/execute and
	// auto_execute then answer 501.
	Control Controller
	// Command names the command for the errors of a missing Control.
	Command string
}

// Controller drives a dev loop: runner.Control.
type Controller interface {
	Trigger(runner.Phases) error
	SetAuto(phase string, on bool) (bool, error)
	Auto() runner.Auto
}

// streamBuffer is how many events a streaming client may lag behind the
// session (beyond the history replayed first) before it loses some.
const streamBuffer = 1024

// Server is the HTTP server of the API.
type Server struct {
	opts Options
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// New returns a Server of opts with the API's routes.
func New(opts Options) *Server {
	s := &Server{opts: opts, mux: http.NewServeMux()}
	for pattern, h := range s.routes() {
		s.mux.HandleFunc(pattern, h)
	}
	return s
}

// routes are the API's routes, in net/http's pattern syntax.
func (s *Server) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /v2/state":               s.state,
		"GET /v2/events":              s.stream(func(event.Event) bool { return true }),
		"GET /v2/applicationLogs":     s.stream(func(e event.Event) bool { return e.ApplicationLogEvent != nil }),
		"POST /v2/execute":            s.execute,
		"PUT /v2/build/auto_execute":  s.autoExecute(runner.PhaseBuild),
		"PUT /v2/sync/auto_execute":   s.autoExecute(runner.PhaseSync),
		"PUT /v2/deploy/auto_execute": s.autoExecute(runner.PhaseDeploy),
	}
}

// Handle adds a route (net/http's pattern syntax) to the server, such as
// a dashboard's; call it before Start.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// Handler is the server's handler, for tests.
func (s *Server) Handler() http.Handler { return guard(s.mux) }

// guard refuses what a web page elsewhere could make a browser send to
// the server on 127.0.0.1: a request for another host name (DNS
// rebinding: a name of the attacker's that now points at 127.0.0.1) and
// a request that changes something (POST, PUT) from a page of another
// origin (cross-site request forgery). IDEs and curl send neither an
// Origin nor another host; the dashboard's own requests have its origin.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1" {
			writeError(w, codePermissionDenied, fmt.Sprintf("the API answers requests for 127.0.0.1 or localhost only, not for %q", r.Host))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && r.Method != http.MethodGet && r.Method != http.MethodHead && origin != "http://"+r.Host {
			writeError(w, codePermissionDenied, fmt.Sprintf("a page of %s may not drive skiff through the API; only the dashboard at http://%s/ and clients that send no Origin may", origin, r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Start listens on 127.0.0.1:port (0: a free port) and serves in the
// background; it returns the address it listens on.
func (s *Server) Start(port int) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("listening for the API on 127.0.0.1:%d: %w; give a free port, or 0 for any", port, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: guard(s.mux), ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// Close stops the server and its connections; the streams end. It
// returns what made the server stop, if not Close.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	cerr := s.srv.Close()
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("the API server on %s: %w", s.ln.Addr(), err)
	}
	return cerr
}

// state is GetState: the State, with the auto switches of the loop.
func (s *Server) state(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.state())
}

// state is the tracked State with the loop's auto switches.
func (o Options) state() event.State {
	st := o.State.State()
	if c := o.Control; c != nil {
		a := c.Auto()
		st.SetAuto(event.Auto{Build: a.Build, Sync: a.Sync, Deploy: a.Deploy})
	}
	return st
}

// stream sends the events that keep says, from the session's start,
// until the session or the request ends: as server-sent events when the
// client accepts text/event-stream, else as grpc-gateway streams them.
func (s *Server) stream(keep func(event.Event) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sse := acceptsEventStream(r)
		sub := s.opts.Events.Subscribe(event.DefaultHistory + streamBuffer)
		defer sub.Cancel()
		if sse {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(http.StatusOK)
		flusher, _ := w.(http.Flusher)
		if flusher != nil {
			flusher.Flush()
		}
		n := 0
		for {
			var e event.Event
			var open bool
			select {
			case <-r.Context().Done():
				return
			case e, open = <-sub.C:
			}
			if !open {
				return
			}
			if !keep(e) {
				continue
			}
			n++
			if err := writeEvent(w, e, sse, n); err != nil {
				return // the client went
			}
			if flusher != nil && len(sub.C) == 0 {
				flusher.Flush()
			}
		}
	}
}

// eventJSON writes a proto.v2.Event as Skaffold's grpc-gateway does:
// with the proto field names and every field, empty ones too (but for the
// event kinds of its oneof that are not set).
var eventJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// writeEvent writes e as the n-th server-sent event, or as a line of
// grpc-gateway's stream, in eventJSON's form.
func writeEvent(w io.Writer, e event.Event, sse bool, n int) error {
	b, err := eventJSON.Marshal(toProtoEvent(e))
	if err != nil {
		return err
	}
	// protojson varies its spacing on purpose; one line, always the same.
	var line bytes.Buffer
	if err := json.Compact(&line, b); err != nil {
		return err
	}
	if sse {
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", n, line.Bytes())
		return err
	}
	_, err = fmt.Fprintf(w, "{\"result\":%s}\n", line.Bytes())
	return err
}

func acceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			if mt, _, _ := strings.Cut(part, ";"); strings.TrimSpace(mt) == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

// intent is Skaffold's proto.v2.Intent, the body of /v2/execute, with
// skiff's extension Artifacts: Skaffold's intent has no artifact, so a
// build or sync is of every artifact; skiff's dashboard names the one of
// a row's button. Skaffold's clients do not send it.
type intent struct {
	Build   bool `json:"build"`
	Sync    bool `json:"sync"`
	Deploy  bool `json:"deploy"`
	Devloop bool `json:"devloop"`
	// Artifacts limits build and sync to these artifacts (image names).
	Artifacts []string `json:"artifacts,omitempty"`
}

// execute is Execute: it runs the phases asked for now.
func (s *Server) execute(w http.ResponseWriter, r *http.Request) {
	if s.opts.Control == nil {
		s.noLoop(w)
		return
	}
	var in intent
	if err := decode(r, &in); err != nil {
		writeError(w, codeInvalidArgument, fmt.Sprintf("reading the intent: %v; send {\"build\": true, \"sync\": true, \"deploy\": true} or some of them", err))
		return
	}
	if err := s.opts.Control.Trigger(in.phases()); err != nil {
		writeError(w, codeInvalidArgument, fmt.Sprintf("%v; name artifacts of the session in \"artifacts\", or leave it out for all", err))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// phases are the phases an intent asks for; devloop is all of them.
func (in intent) phases() runner.Phases {
	return runner.Phases{Build: in.Build || in.Devloop, Sync: in.Sync || in.Devloop, Deploy: in.Deploy || in.Devloop, Images: in.Artifacts}
}

// triggerState is Skaffold's proto.v2.TriggerState, the body of
// auto_execute.
type triggerState struct {
	Enabled *bool `json:"enabled"`
}

// autoExecute is AutoBuild, AutoSync or AutoDeploy: it turns the phase's
// automatic run on or off.
func (s *Server) autoExecute(phase string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Control == nil {
			s.noLoop(w)
			return
		}
		var in triggerState
		if err := decode(r, &in); err != nil {
			in.Enabled = nil
		}
		if code, msg := s.opts.setAuto(phase, in.Enabled); code != codeOK {
			writeError(w, code, msg)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

// setAuto turns phase's automatic run on or off (enabled nil: not said),
// with a Control; it returns the gRPC code and message of its failure, or
// codeOK.
func (o Options) setAuto(phase string, enabled *bool) (int, string) {
	if enabled == nil {
		return codeInvalidArgument, "missing required boolean parameter 'enabled': send {\"enabled\": true} or {\"enabled\": false}"
	}
	changed, err := o.Control.SetAuto(phase, *enabled)
	if err != nil {
		return codeInvalidArgument, err.Error()
	}
	if !changed {
		return codeAlreadyExists, fmt.Sprintf("auto %s is already set to %t", phase, *enabled)
	}
	return codeOK, ""
}

func (s *Server) noLoop(w http.ResponseWriter) {
	writeError(w, codeUnimplemented, s.opts.noLoop())
}

// noLoop is the message for a request that drives a loop to a command
// without one.
func (o Options) noLoop() string {
	return fmt.Sprintf("skiff %s has no dev loop to drive; Execute (/v2/execute) and auto_execute work with skiff dev and skiff debug", o.Command)
}

// decode reads r's JSON body into v; an empty body leaves v as it is.
func decode(r *http.Request, v any) error {
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// The gRPC codes the API answers with, and their HTTP statuses as
// grpc-gateway maps them.
const (
	codeOK               = 0
	codeInvalidArgument  = 3
	codeAlreadyExists    = 6
	codePermissionDenied = 7
	codeUnimplemented    = 12
)

var httpStatus = map[int]int{
	codeInvalidArgument:  http.StatusBadRequest,
	codeAlreadyExists:    http.StatusConflict,
	codePermissionDenied: http.StatusForbidden,
	codeUnimplemented:    http.StatusNotImplemented,
}

// writeError writes grpc-gateway's error body.
func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, httpStatus[code], struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []any  `json:"details"`
	}{code, message, []any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went
}
