package cli

import (
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/internal/event"
)

// eventBuffer is how many events the event log file may lag behind the
// engine before it loses some.
const eventBuffer = 8192

// eventLog writes the session's events to the --event-log-file file.
type eventLog struct {
	bus  *event.Bus
	file *os.File
	// done closes when the writer has written the last event; err is its
	// failure.
	done chan struct{}
	err  error
}

// openEvents starts the session's event stream when --event-log-file is
// given to a command that records events.
func (a *app) openEvents(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("event-log-file")
	if f == nil || f.Value.String() == "" || !slices.Contains(f.Annotations[annotationEffectIn], cmd.Name()) {
		return nil
	}
	file, err := os.Create(f.Value.String())
	if err != nil {
		return fmt.Errorf("--event-log-file: %w; give a file in a directory that exists and you can write to", err)
	}
	l := &eventLog{bus: event.NewBus(0), file: file, done: make(chan struct{})}
	sub := l.bus.Subscribe(eventBuffer)
	go func() {
		defer close(l.done)
		l.err = event.WriteJSONLines(file, sub)
	}()
	a.events = l
	return nil
}

// closeEvents ends the event stream, waits for the file to hold every
// event, and closes it.
func (a *app) closeEvents() error {
	l := a.events
	if l == nil {
		return nil
	}
	a.events = nil
	l.bus.Close()
	<-l.done
	err := l.err
	if cerr := l.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the event log: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("--event-log-file %s: %w", l.file.Name(), err)
	}
	return nil
}

// eventBus is the bus the engine publishes on; nil when nothing records.
func (a *app) eventBus() *event.Bus {
	if a.events == nil {
		return nil
	}
	return a.events.bus
}
