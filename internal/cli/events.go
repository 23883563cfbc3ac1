package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/api"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/runner"
	"skiff.dev/skiff/internal/ui"
	"skiff.dev/skiff/internal/version"
)

// eventBuffer is how many events the event log file may lag behind the
// engine before it loses some.
const eventBuffer = 8192

// eventLog is the session's event stream and what reads it: the
// --event-log-file file, the HTTP API (--rpc-http-port, --enable-rpc),
// the gRPC API (--rpc-port) and the dashboard on the HTTP API's server
// (--ui).
type eventLog struct {
	bus *event.Bus
	// file, when set, gets every event; done closes when the writer has
	// written the last one, err is its failure.
	file *os.File
	done chan struct{}
	err  error
	// server is the HTTP API, grpc the gRPC API, and tracker their
	// state, when they run.
	server  *api.Server
	grpc    *api.GRPCServer
	tracker *event.Tracker
}

// openEvents starts the session's event stream when --event-log-file,
// --rpc-http-port, --enable-rpc, --ui or --rpc-port is given to a
// command that records events; the HTTP API for --rpc-http-port,
// --enable-rpc and --ui, with the dashboard for --ui; the gRPC API for
// --rpc-port. For dev and debug it makes the runner.Control that the
// APIs drive the loop with (a.control).
func (a *app) openEvents(cmd *cobra.Command) error {
	logFile := effectiveFlag(cmd, "event-log-file")
	port, serve, err := rpcPort(cmd)
	if err != nil {
		return err
	}
	grpcPort, serveGRPC, err := portFlag(cmd, "rpc-port")
	if err != nil {
		return err
	}
	dashboard := uiFlag(cmd)
	serve = serve || dashboard
	if logFile == "" && !serve && !serveGRPC {
		return nil
	}
	l := &eventLog{bus: event.NewBus(0)}
	info := version.Get()
	l.bus.Publish(event.Event{MetaEvent: &event.MetaEvent{Entry: fmt.Sprintf("Starting skiff: {Version:%s GitCommit:%s GoVersion:%s Platform:%s}", info.Version, info.Commit, info.GoVersion, info.Platform)}})
	if logFile != "" {
		file, err := os.Create(logFile)
		if err != nil {
			return fmt.Errorf("--event-log-file: %w; give a file in a directory that exists and you can write to", err)
		}
		l.file, l.done = file, make(chan struct{})
		sub := l.bus.Subscribe(eventBuffer)
		go func() {
			defer close(l.done)
			l.err = event.WriteJSONLines(file, sub)
		}()
	}
	a.events = l
	if !serve && !serveGRPC {
		return nil
	}
	opts := api.Options{Events: l.bus, Command: cmd.Name()}
	if cmd.Name() == "dev" || cmd.Name() == "debug" {
		auto := runner.Auto{}
		auto.Build, _ = cmd.Flags().GetBool("auto-build")
		auto.Sync, _ = cmd.Flags().GetBool("auto-sync")
		auto.Deploy, _ = cmd.Flags().GetBool("auto-deploy")
		a.control = runner.NewControl(auto)
		opts.Control = a.control
	}
	l.tracker = event.Track(l.bus, event.NewState("", nil, event.Auto{}))
	opts.State = l.tracker
	if serveGRPC {
		l.grpc = api.NewGRPC(opts)
		addr, err := l.grpc.Start(grpcPort)
		if err != nil {
			return fmt.Errorf("--rpc-port: %w", err)
		}
		fmt.Fprintf(a.streams.ErrOut, "Serving Skaffold's v2 gRPC API (proto.v2.SkaffoldV2Service) on %s\n", addr)
	}
	if !serve {
		return nil
	}
	l.server = api.New(opts)
	if dashboard {
		ui.Register(l.server)
	}
	addr, err := l.server.Start(port)
	if err != nil {
		return fmt.Errorf("--rpc-http-port: %w", err)
	}
	fmt.Fprintf(a.streams.ErrOut, "Serving Skaffold's v2 HTTP API on http://%s (/v2/events, /v2/state, /v2/execute)\n", addr)
	if dashboard {
		fmt.Fprintf(a.streams.ErrOut, "Serving the dashboard on http://%s/\n", addr)
	}
	return nil
}

// uiFlag says whether --ui asks for the dashboard (dev, debug, run).
func uiFlag(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("ui")
	return f != nil && f.Value.String() == "true"
}

// rpcPort is the port of the HTTP API: --rpc-http-port, or a free one
// (0) for --enable-rpc alone; serve says whether to serve it.
func rpcPort(cmd *cobra.Command) (port int, serve bool, err error) {
	if port, serve, err := portFlag(cmd, "rpc-http-port"); serve || err != nil {
		return port, serve, err
	}
	return 0, effectiveFlag(cmd, "enable-rpc") == "true", nil
}

// portFlag is the port a flag of ignoredFlags gives (0: a free one);
// given says whether it is given where it has an effect.
func portFlag(cmd *cobra.Command, name string) (port int, given bool, err error) {
	v := effectiveFlag(cmd, name)
	if v == "" {
		return 0, false, nil
	}
	port, err = strconv.Atoi(v)
	if err != nil || port < 0 || port > 65535 {
		return 0, false, &UsageError{Command: commandName(cmd), Err: fmt.Errorf("--%s=%s: give a port number (0 for a free one)", name, v)}
	}
	return port, true, nil
}

// effectiveFlag is the value of a flag of ignoredFlags on a command
// where it has an effect; "" elsewhere.
func effectiveFlag(cmd *cobra.Command, name string) string {
	f := cmd.Flags().Lookup(name)
	if f == nil || !slices.Contains(f.Annotations[annotationEffectIn], cmd.Name()) {
		return ""
	}
	return f.Value.String()
}

// closeEvents ends the event stream (the APIs' streams end with it),
// stops the APIs, waits for the file to hold every event, and closes it.
func (a *app) closeEvents() error {
	l := a.events
	if l == nil {
		return nil
	}
	a.events = nil
	l.bus.Close()
	var errs []error
	if l.server != nil {
		errs = append(errs, l.server.Close())
	}
	if l.grpc != nil {
		errs = append(errs, l.grpc.Close())
	}
	if l.tracker != nil {
		l.tracker.Stop()
	}
	if l.file != nil {
		<-l.done
		err := l.err
		if cerr := l.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing the event log: %w", cerr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--event-log-file %s: %w", l.file.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// eventBus is the bus the engine publishes on; nil when nothing records.
func (a *app) eventBus() *event.Bus {
	if a.events == nil {
		return nil
	}
	return a.events.bus
}
