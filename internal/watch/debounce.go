package watch

import "time"

// debouncer says when collected changes are due: Debounce after the last
// change, but no later than MaxWait after the first.
type debouncer struct {
	quiet, max  time.Duration
	first, last time.Time // zero while nothing is collected
}

// event records a change at now.
func (d *debouncer) event(now time.Time) {
	if d.first.IsZero() {
		d.first = now
	}
	d.last = now
}

// due returns when the collected changes are due; false if there are none.
func (d *debouncer) due() (time.Time, bool) {
	if d.first.IsZero() {
		return time.Time{}, false
	}
	quiet, max := d.last.Add(d.quiet), d.first.Add(d.max)
	if max.Before(quiet) {
		return max, true
	}
	return quiet, true
}

// reset forgets the collected changes, once they are delivered.
func (d *debouncer) reset() { d.first, d.last = time.Time{}, time.Time{} }
