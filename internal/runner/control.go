package runner

import (
	"fmt"
	gosync "sync"
)

// Phases names phases of the dev loop for Control.Trigger.
type Phases struct {
	// Build rebuilds (and redeploys, when auto-deploy is on) the
	// artifacts whose changes auto-build held back, or Images, or else
	// every artifact.
	Build bool
	// Images limits Build to these image names (a dashboard's button per
	// artifact); empty means as Build says.
	Images []string
	// Sync syncs the changes auto-sync held back.
	Sync bool
	// Deploy redeploys now, with the images built so far.
	Deploy bool
}

// The phases of Control.SetAuto, as Skaffold's API names them
// (/v2/build/auto_execute...).
const (
	PhaseBuild  = "build"
	PhaseSync   = "sync"
	PhaseDeploy = "deploy"
)

// Auto says which phases of the dev loop run by themselves on changes.
type Auto struct {
	Build, Sync, Deploy bool
}

// Control drives a dev loop from outside it (the HTTP API, a dashboard):
// Trigger runs phases now, SetAuto turns the automatic build, sync or
// deploy off and on (as --auto-build, --auto-sync, --auto-deploy). It is
// safe for concurrent use; the loop (DevOptions.Control) acts on it
// between iterations. The zero Control is not usable: use NewControl.
type Control struct {
	mu      gosync.Mutex
	auto    Auto
	pending Phases
	// buildAll says a Trigger asked for Build without Images.
	buildAll bool
	// released are the phases whose auto switch was turned on since the
	// loop last looked: what they held back runs.
	released Phases
	wake     chan struct{}
}

// NewControl returns a Control with the auto switches as given.
func NewControl(auto Auto) *Control {
	return &Control{auto: auto, wake: make(chan struct{}, 1)}
}

// Trigger asks the loop to run p now; requests made before the loop gets
// to them add up.
func (c *Control) Trigger(p Phases) {
	c.mu.Lock()
	if p.Build {
		if len(p.Images) == 0 {
			c.buildAll = true
		}
		c.pending.Images = append(c.pending.Images, p.Images...)
	}
	c.pending.Build = c.pending.Build || p.Build
	c.pending.Sync = c.pending.Sync || p.Sync
	c.pending.Deploy = c.pending.Deploy || p.Deploy
	c.mu.Unlock()
	c.signal()
}

// SetAuto turns the automatic phase (PhaseBuild, PhaseSync, PhaseDeploy)
// on or off; turning it on runs what it held back. It returns whether
// the switch changed, and an error for an unknown phase.
func (c *Control) SetAuto(phase string, on bool) (bool, error) {
	c.mu.Lock()
	var sw *bool
	switch phase {
	case PhaseBuild:
		sw = &c.auto.Build
	case PhaseSync:
		sw = &c.auto.Sync
	case PhaseDeploy:
		sw = &c.auto.Deploy
	default:
		c.mu.Unlock()
		return false, fmt.Errorf("no phase %q to turn automatic; use %s, %s or %s", phase, PhaseBuild, PhaseSync, PhaseDeploy)
	}
	if *sw == on {
		c.mu.Unlock()
		return false, nil
	}
	*sw = on
	if on {
		switch phase {
		case PhaseBuild:
			c.released.Build = true
		case PhaseSync:
			c.released.Sync = true
		case PhaseDeploy:
			c.released.Deploy = true
		}
	}
	c.mu.Unlock()
	if on {
		c.signal()
	}
	return true, nil
}

// Auto returns the auto switches.
func (c *Control) Auto() Auto {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auto
}

func (c *Control) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // already signalled
	}
}

// take returns the phases triggered and those whose auto switch was
// turned on since the last take, and forgets them.
func (c *Control) take() (triggered, released Phases) {
	c.mu.Lock()
	defer c.mu.Unlock()
	triggered, released = c.pending, c.released
	if c.buildAll {
		triggered.Images = nil
	}
	c.pending, c.released, c.buildAll = Phases{}, Phases{}, false
	return triggered, released
}
