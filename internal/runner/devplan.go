package runner

import (
	"maps"
	"slices"
	"strings"

	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/watch"
)

// plan decides what a batch of changes means: operations to sync per
// artifact, the artifacts to rebuild (with those that require them) and
// whether the manifests changed.
func (d *dev) plan(b watch.Batch) (syncs map[string][]sync.Op, rebuild []string, redeploy bool) {
	type change struct{ changed, removed []string }
	per := map[string]*change{}
	note := func(path string, removed bool) {
		if d.in.manifest(path, false) {
			redeploy = true
		}
		dir := removed && slices.Contains(b.RemovedDirs, path)
		for _, a := range d.in.artifacts {
			if !d.watched(a.art.ImageName) || !a.owns(path, dir) {
				continue
			}
			c := per[a.art.ImageName]
			if c == nil {
				c = &change{}
				per[a.art.ImageName] = c
			}
			if removed {
				c.removed = append(c.removed, path)
			} else {
				c.changed = append(c.changed, path)
			}
		}
	}
	for _, p := range b.Changed {
		note(p, false)
	}
	for _, p := range b.Removed {
		note(p, true)
	}
	// A removed directory may have gone without its files being listed
	// (moved away): what was synced from below it is deleted too.
	for name, c := range per {
		im, ok := d.images[name]
		if !ok || d.syncer == nil {
			continue
		}
		listed := map[string]bool{}
		for _, p := range c.removed {
			listed[p] = true
		}
		for _, dir := range b.RemovedDirs {
			if !listed[dir] {
				continue
			}
			for _, f := range d.syncer.SyncedUnder(im.Ref, dir) {
				if !listed[f] {
					listed[f] = true
					c.removed = append(c.removed, f)
				}
			}
		}
	}
	syncs = map[string][]sync.Op{}
	need := map[string]bool{}
	for name, c := range per {
		if d.stale[name] {
			need[name] = true
			continue
		}
		ops, covered := d.rules[name].Plan(c.changed, c.removed)
		if covered {
			syncs[name] = ops
		} else {
			need[name] = true
			d.noteImageChange(name, slices.Concat(c.changed, c.removed))
		}
	}
	for name := range dependents(d.r.opts.Project.Artifacts(), need) {
		need[name] = true
		delete(syncs, name)
	}
	return syncs, slices.Sorted(maps.Keys(need)), redeploy
}

// watched reports whether changes to the artifact of image name are acted
// on (DevOptions.Watch).
func (d *dev) watched(name string) bool {
	return len(d.opts.Watch) == 0 || slices.ContainsFunc(d.opts.Watch, func(w string) bool { return strings.Contains(name, w) })
}

// dependents are the artifacts that require one of names, directly or
// through others, and names themselves.
func dependents(arts []*schema.Artifact, names map[string]bool) map[string]bool {
	out := maps.Clone(names)
	for changed := true; changed; {
		changed = false
		for _, a := range arts {
			if out[a.ImageName] {
				continue
			}
			for _, dep := range a.Dependencies {
				if dep != nil && out[dep.ImageName] {
					out[a.ImageName] = true
					changed = true
					break
				}
			}
		}
	}
	return out
}

// reloads reports whether b changes a config file.
func (d *dev) reloads(b watch.Batch) bool { return len(d.changedConfigs(b)) > 0 }

// withoutConfigs is b without the config files.
func (d *dev) withoutConfigs(b watch.Batch) watch.Batch {
	keep := func(p string) bool { return d.in.configs[p] }
	b.Changed = slices.DeleteFunc(slices.Clone(b.Changed), keep)
	b.Removed = slices.DeleteFunc(slices.Clone(b.Removed), keep)
	return b
}

func (d *dev) changedConfigs(b watch.Batch) []string {
	var out []string
	for _, p := range slices.Concat(b.Changed, b.Removed) {
		if d.in.configs[p] {
			out = append(out, p)
		}
	}
	return out
}
