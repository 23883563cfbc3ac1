package watch

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type ev struct{ at, paths int } // ms after t0; paths collected after it
	tests := []struct {
		name   string
		events []ev
		want   int // due, ms after t0; -1 for nothing due
	}{
		{"nothing", nil, -1},
		{"one change waits the short quiet time", []ev{{0, 1}}, 5},
		{"an editor's save (temp file, rename, chmod) waits the short quiet time after its last event",
			[]ev{{0, 1}, {1, 2}, {1, 2}, {2, 2}}, 7},
		{"a save's events keep the batch open while they come", []ev{{0, 1}, {4, 2}, {8, 3}}, 13},
		{"exactly BurstPaths paths are not yet a burst", []ev{{0, 1}, {1, BurstPaths}}, 6},
		{"a burst waits the long quiet time after its last event", []ev{{0, 1}, {1, BurstPaths + 1}, {3, 40}}, 23},
		{"a burst that paused for longer than the short quiet time goes on", []ev{{0, BurstPaths + 1}, {12, 20}}, 32},
		{"a stream is cut at MaxWait", []ev{{0, 1}, {100, 1}, {200, 1}, {248, 1}}, 250},
		{"a burst is cut at MaxWait", []ev{{0, 50}, {100, 500}, {240, 1000}}, 250},
		{"MaxWait counts from the first event", []ev{{10, 1}, {150, 1}, {258, 1}}, 260},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := debouncer{quiet: ms(5), burst: ms(20), max: ms(250)}
			for _, e := range tt.events {
				d.event(t0.Add(ms(e.at)), e.paths)
			}
			due, ok := d.due()
			if tt.want < 0 {
				if ok {
					t.Fatalf("due at %v, want nothing due", due)
				}
				return
			}
			if !ok || !due.Equal(t0.Add(ms(tt.want))) {
				t.Fatalf("due %v (%v), want +%dms", due.Sub(t0), ok, tt.want)
			}
			d.reset()
			if _, ok := d.due(); ok {
				t.Error("due after reset")
			}
			// After a reset, a batch starts small again.
			d.event(t0, 1)
			if due, _ := d.due(); !due.Equal(t0.Add(ms(5))) {
				t.Errorf("after reset, one change due %v, want +5ms", due.Sub(t0))
			}
		})
	}
}

func TestNewDebounceDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      Options
		quiet     time.Duration
		burstWait time.Duration
	}{
		{"zero options", Options{}, DefaultDebounce, DefaultBurstDebounce},
		{"a long debounce lengthens the burst's", Options{Debounce: time.Second}, time.Second, time.Second},
		{"a burst debounce shorter than the debounce is raised to it",
			Options{Debounce: 30 * time.Millisecond, BurstDebounce: 10 * time.Millisecond}, 30 * time.Millisecond, 30 * time.Millisecond},
		{"both set", Options{Debounce: 2 * time.Millisecond, BurstDebounce: 50 * time.Millisecond}, 2 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := New([]string{t.TempDir()}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.debounce.quiet != tt.quiet || w.debounce.burst != tt.burstWait {
				t.Errorf("quiet %v, burst %v; want %v, %v", w.debounce.quiet, w.debounce.burst, tt.quiet, tt.burstWait)
			}
		})
	}
	if DefaultDebounce >= DefaultBurstDebounce {
		t.Errorf("DefaultDebounce %v is not shorter than DefaultBurstDebounce %v", DefaultDebounce, DefaultBurstDebounce)
	}
}
