package runner

import (
	"fmt"
	"slices"
	"strings"
	gosync "sync"
)

// Phases names phases of the dev loop for Control.Trigger.
type Phases struct {
	// Build rebuilds (and redeploys, when auto-deploy is on) the
	// artifacts whose changes auto-build held back, or else every
	// artifact; with Images, those artifacts only.
	Build bool
	// Sync syncs the changes auto-sync held back; with Images, those of
	// these artifacts only.
	Sync bool
	// Images limits Build and Sync to these artifacts (image names): a
	// dashboard's buttons per artifact. Empty means every artifact.
	Images []string
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
	mu   gosync.Mutex
	auto Auto
	// artifacts are the loop's image names, once it has started: Trigger
	// refuses others.
	artifacts []string
	pending   request
	// released are the phases whose auto switch was turned on since the
	// loop last looked: what they held back runs.
	released Phases
	wake     chan struct{}
}

// request is what the triggers since the loop last looked ask for.
type request struct {
	build, sync want
	deploy      bool
}

// want says whether a phase is asked for, and for which artifacts: all
// of them, or images.
type want struct {
	on, all bool
	images  []string
}

// add adds a trigger of the phase (on) for images (none: all).
func (w *want) add(on bool, images []string) {
	if !on {
		return
	}
	w.on = true
	if len(images) == 0 {
		w.all = true
	}
	w.images = append(w.images, images...)
}

// only returns the images asked for, sorted, when not all are.
func (w want) only() []string {
	if w.all {
		return nil
	}
	im := slices.Clone(w.images)
	slices.Sort(im)
	return slices.Compact(im)
}

// NewControl returns a Control with the auto switches as given.
func NewControl(auto Auto) *Control {
	return &Control{auto: auto, wake: make(chan struct{}, 1)}
}

// Trigger asks the loop to run p now; requests made before the loop gets
// to them add up. It refuses images that are not the loop's artifacts,
// once the loop has said which these are.
func (c *Control) Trigger(p Phases) error {
	c.mu.Lock()
	if c.artifacts != nil {
		for _, im := range p.Images {
			if !slices.Contains(c.artifacts, im) {
				c.mu.Unlock()
				return fmt.Errorf("no artifact %q in this session; its artifacts are %s", im, strings.Join(c.artifacts, ", "))
			}
		}
	}
	c.pending.build.add(p.Build, p.Images)
	c.pending.sync.add(p.Sync, p.Images)
	c.pending.deploy = c.pending.deploy || p.Deploy
	c.mu.Unlock()
	c.signal()
	return nil
}

// setArtifacts tells which image names Trigger may be given.
func (c *Control) setArtifacts(names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.artifacts = slices.Clone(names)
	if c.artifacts == nil {
		c.artifacts = []string{}
	}
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

// take returns what was triggered and the phases whose auto switch was
// turned on since the last take, and forgets them.
func (c *Control) take() (triggered request, released Phases) {
	c.mu.Lock()
	defer c.mu.Unlock()
	triggered, released = c.pending, c.released
	c.pending, c.released = request{}, Phases{}
	return triggered, released
}
