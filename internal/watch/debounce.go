package watch

import "time"

// debouncer says when collected changes are due: quiet after the last
// change while they touch at most BurstPaths paths, burst after it once
// they touch more, but no later than max after the first.
type debouncer struct {
	quiet, burst, max time.Duration
	first, last       time.Time // zero while nothing is collected
	paths             int       // how many paths are collected
}

// event records a change at now, after which paths paths are collected.
func (d *debouncer) event(now time.Time, paths int) {
	if d.first.IsZero() {
		d.first = now
	}
	d.last = now
	d.paths = paths
}

// due returns when the collected changes are due; false if there are none.
func (d *debouncer) due() (time.Time, bool) {
	if d.first.IsZero() {
		return time.Time{}, false
	}
	wait := d.quiet
	if d.paths > BurstPaths {
		wait = d.burst
	}
	quiet, max := d.last.Add(wait), d.first.Add(d.max)
	if max.Before(quiet) {
		return max, true
	}
	return quiet, true
}

// reset forgets the collected changes, once they are delivered.
func (d *debouncer) reset() { d.first, d.last, d.paths = time.Time{}, time.Time{}, 0 }
