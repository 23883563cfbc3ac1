package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"
)

// DefaultHistory is how many events a Bus keeps for new subscribers when
// Options.History is 0.
const DefaultHistory = 4096

// Bus fans events out to its subscribers. A nil *Bus is valid and drops
// every event, so the engine publishes without checking.
type Bus struct {
	mu      gosync.Mutex
	history []Event // a ring of at most cap events
	next    int     // where the next event goes once the ring is full
	subs    map[*Subscription]struct{}
	closed  bool
	now     func() time.Time
	// iteration is the dev loop's iteration: 0 for the first build and
	// deploy, then one more at each DevLoop task.
	iteration int32
}

// NewBus returns a Bus that keeps the last history events (0:
// DefaultHistory) to replay to each new subscriber.
func NewBus(history int) *Bus {
	if history <= 0 {
		history = DefaultHistory
	}
	return &Bus{history: make([]Event, 0, history), subs: map[*Subscription]struct{}{}, now: time.Now}
}

// Subscription receives the events of a Bus on C, in the order they were
// published, until the Bus closes or Cancel is called; then C is closed.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	bus     *Bus
	dropped atomic.Int64
}

// Dropped is how many events this subscriber lost because its buffer was
// full when they were published.
func (s *Subscription) Dropped() int64 { return s.dropped.Load() }

// Cancel stops the subscription and closes C.
func (s *Subscription) Cancel() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

// Subscribe returns a subscription with room for buffer events (at least
// the history it replays first). Read C promptly: events that find the
// buffer full are dropped for this subscriber, never waited for.
func (b *Bus) Subscribe(buffer int) *Subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	past := b.pastLocked()
	if buffer < len(past) {
		buffer = len(past)
	}
	c := make(chan Event, buffer)
	for _, e := range past {
		c <- e
	}
	s := &Subscription{C: c, c: c, bus: b}
	if b.closed {
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// pastLocked is the history, oldest first.
func (b *Bus) pastLocked() []Event {
	if len(b.history) < cap(b.history) {
		return append([]Event(nil), b.history...)
	}
	return append(append([]Event(nil), b.history[b.next:]...), b.history[:b.next]...)
}

// Publish stamps e with the time (unless set) and hands it to every
// subscriber with room for it. It never blocks.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = b.now()
	}
	b.qualifyLocked(&e)
	if len(b.history) < cap(b.history) {
		b.history = append(b.history, e)
	} else {
		b.history[b.next] = e
		b.next = (b.next + 1) % cap(b.history)
	}
	for s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// TaskStarted publishes the start (InProgress) of a task (TaskBuild...)
// of the current iteration; a DevLoop task starts the next iteration.
func (b *Bus) TaskStarted(task, description string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if task == TaskDevLoop {
		b.iteration++
	}
	it := b.iteration
	b.mu.Unlock()
	b.Publish(Event{TaskEvent: &TaskEvent{ID: taskID(task, it), Task: task, Description: description, Iteration: it, Status: InProgress}})
}

// TaskEnded publishes the end of a task of the current iteration:
// Succeeded, or Failed with err.
func (b *Bus) TaskEnded(task string, err error) {
	if b == nil {
		return
	}
	b.mu.Lock()
	it := b.iteration
	b.mu.Unlock()
	e := &TaskEvent{ID: taskID(task, it), Task: task, Iteration: it, Status: Succeeded}
	if err != nil {
		e.Status, e.ActionableErr = Failed, Err(err)
	}
	b.Publish(Event{TaskEvent: e})
}

// TaskID is the id of task in the current iteration ("Build-2"), which
// its subtask events give as their task_id; "" for a nil Bus.
func (b *Bus) TaskID(task string) string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return taskID(task, b.iteration)
}

// qualifyLocked turns the task_id of a subtask event, given as the
// task's name ("Build"), into the task's id in the current iteration
// ("Build-0"), as Skaffold's events link a subtask to its task. The event
// is copied first: publishers may keep theirs.
func (b *Bus) qualifyLocked(e *Event) {
	var id *string
	switch {
	case e.BuildSubtaskEvent != nil:
		c := *e.BuildSubtaskEvent
		e.BuildSubtaskEvent, id = &c, &c.TaskID
	case e.DeploySubtaskEvent != nil:
		c := *e.DeploySubtaskEvent
		e.DeploySubtaskEvent, id = &c, &c.TaskID
	case e.StatusCheckSubtaskEvent != nil:
		c := *e.StatusCheckSubtaskEvent
		e.StatusCheckSubtaskEvent, id = &c, &c.TaskID
	case e.PortEvent != nil:
		c := *e.PortEvent
		e.PortEvent, id = &c, &c.TaskID
	case e.FileSyncEvent != nil:
		c := *e.FileSyncEvent
		e.FileSyncEvent, id = &c, &c.TaskID
	case e.DebuggingContainerEvent != nil:
		c := *e.DebuggingContainerEvent
		e.DebuggingContainerEvent, id = &c, &c.TaskID
	case e.SkaffoldLogEvent != nil:
		c := *e.SkaffoldLogEvent
		e.SkaffoldLogEvent, id = &c, &c.TaskID
	}
	if id != nil && *id != "" && !strings.Contains(*id, "-") {
		*id = taskID(*id, b.iteration)
	}
}

func taskID(task string, iteration int32) string {
	return fmt.Sprintf("%s-%d", task, iteration)
}

// Close ends every subscription (their C close once drained); later
// events are dropped.
func (b *Bus) Close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}

// WriteJSONLines writes each event of s to w as one line of JSON until s
// ends (--event-log-file). It returns the first write error, after
// cancelling s.
func WriteJSONLines(w io.Writer, s *Subscription) error {
	enc := json.NewEncoder(w)
	for e := range s.C {
		if err := enc.Encode(e); err != nil {
			s.Cancel()
			return fmt.Errorf("writing the event log: %w", err)
		}
	}
	if n := s.Dropped(); n > 0 {
		return fmt.Errorf("the event log lost %d events because it was written more slowly than they came; write it to a faster disk", n)
	}
	return nil
}

// maxLogLines is how many lines a LogWriter publishes; the rest would
// push the session's other events out of the bus's history.
const maxLogLines = 500

// LogWriter publishes what is written to it as SkaffoldLogEvents, one a
// line, up to maxLogLines lines; Flush publishes a last line without its
// newline. Writes never fail. It is not safe for concurrent use.
type LogWriter struct {
	bus           *Bus
	task, subtask string
	partial       []byte
	lines         int
}

// LogWriter returns a writer of the output of subtask (an artifact) in
// task (TaskBuild) of the current iteration.
func (b *Bus) LogWriter(task, subtask string) *LogWriter {
	return &LogWriter{bus: b, task: task, subtask: subtask}
}

// Write publishes each line p completes.
func (w *LogWriter) Write(p []byte) (int, error) {
	if w.bus == nil {
		return len(p), nil
	}
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.publish(append(w.partial, rest[:i]...))
		w.partial = w.partial[:0]
		rest = rest[i+1:]
	}
	if w.lines < maxLogLines && len(w.partial) < 64<<10 {
		w.partial = append(w.partial, rest...)
	}
	return len(p), nil
}

// Flush publishes the last line when it has no newline.
func (w *LogWriter) Flush() {
	if len(w.partial) > 0 {
		w.publish(w.partial)
		w.partial = w.partial[:0]
	}
}

func (w *LogWriter) publish(line []byte) {
	w.lines++
	msg := strings.TrimSuffix(string(line), "\r")
	switch {
	case w.lines == maxLogLines+1:
		msg = fmt.Sprintf("(more output than the %d lines the events carry; the terminal has it all)", maxLogLines)
	case w.lines > maxLogLines:
		return
	}
	w.bus.Publish(Event{SkaffoldLogEvent: &SkaffoldLogEvent{TaskID: w.task, SubtaskID: w.subtask, Level: -1, Message: msg}})
}
