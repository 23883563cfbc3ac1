package watch

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		events []int // ms after t0
		want   int   // due, ms after t0; -1 for nothing due
	}{
		{"nothing", nil, -1},
		{"one event waits the quiet period", []int{0}, 20},
		{"a burst waits for quiet after its last event", []int{0, 5, 10, 15}, 35},
		{"a stream is cut at MaxWait", []int{0, 100, 200, 240}, 250},
		{"MaxWait counts from the first event", []int{10, 150, 255}, 260},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := debouncer{quiet: ms(20), max: ms(250)}
			for _, e := range tt.events {
				d.event(t0.Add(ms(e)))
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
		})
	}
}
