package runner

import (
	"context"
	"maps"
	"slices"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/watch"
)

// test tests the images just built and those waiting to be tested again
// (retest), as they were built, unless the tests are off (--skip-tests).
// Images whose tests failed wait to be tested again. The dependencies
// commands of the tests that ran are run again after them, as Skaffold
// asks them on every change: what they list may have changed.
func (d *dev) test(ctx context.Context, built []artifact.Image) error {
	if !d.opts.Build.Test {
		return nil
	}
	for _, im := range built {
		d.retest[im.Name] = true
	}
	imgs := d.toRetest()
	if len(imgs) == 0 {
		return nil
	}
	err := d.r.Test(ctx, imgs)
	if err == nil {
		for _, im := range imgs {
			delete(d.retest, im.Name)
		}
	}
	tested := imageNames(imgs)
	for _, t := range d.in.tests {
		if t.command == "" || !slices.Contains(tested, t.image) {
			continue
		}
		if lerr := t.list(ctx, d.r.opts.Environ); lerr != nil && ctx.Err() == nil {
			d.printf("WARNING: %v; dev keeps watching the paths it listed before\n", lerr)
		}
	}
	return err
}

// toRetest are the images, as built, whose tests wait to run again, by
// name; an image not built yet is tested after its build.
func (d *dev) toRetest() []artifact.Image {
	var out []artifact.Image
	for _, n := range slices.Sorted(maps.Keys(d.retest)) {
		if im, ok := d.built[n]; ok {
			out = append(out, im)
		}
	}
	return out
}

// retests are the images (of those -w watches) whose tests depend on a
// path of b.
func (d *dev) retests(b watch.Batch) []string {
	out := map[string]bool{}
	note := func(path string, dir bool) {
		for _, t := range d.in.tests {
			if !out[t.image] && d.watched(t.image) && t.owns(path, dir) {
				out[t.image] = true
			}
		}
	}
	for _, p := range b.Changed {
		note(p, false)
	}
	for _, p := range b.Removed {
		note(p, slices.Contains(b.RemovedDirs, p))
	}
	return slices.Sorted(maps.Keys(out))
}

// imageNames are the names of imgs.
func imageNames(imgs []artifact.Image) []string {
	out := make([]string, len(imgs))
	for i, im := range imgs {
		out[i] = im.Name
	}
	return out
}
