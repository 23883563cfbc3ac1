package event

import (
	"encoding/json"
	"fmt"
	"io"
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
