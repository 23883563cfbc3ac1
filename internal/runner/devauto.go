package runner

import (
	"context"
	"fmt"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/buildpacks"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/sync"
)

// autoRules gives the artifacts with sync.auto the sync rules their newly
// built images declare (buildpacks.ReadSyncRules): each rebuild reads
// them again, and an image that declares none rebuilds on every change,
// which is said once per artifact.
func (d *dev) autoRules(ctx context.Context, built []artifact.Image) {
	arts := map[string]*schema.Artifact{}
	for _, a := range d.r.opts.Project.Artifacts() {
		arts[a.ImageName] = a
	}
	for _, im := range built {
		a := arts[im.Name]
		if a == nil || !build.AutoSync(a) || a.BuildpackArtifact == nil {
			continue
		}
		rules, err := d.readAutoRules(ctx, im)
		if err != nil {
			d.r.opts.Log.Warnf("%v; changes to %s rebuild it", err, im.Name)
			d.rules[im.Name] = nil
			continue
		}
		for _, w := range rules.Warnings {
			d.r.opts.Log.Warnf("%s", w)
		}
		if len(rules.Rules) == 0 {
			d.rules[im.Name] = nil
			if !d.noRulesSaid[im.Name] {
				d.noRulesSaid[im.Name] = true
				d.printf("%s: the buildpacks declared no sync rules; rebuilding on changes\n", im.Name)
			}
			continue
		}
		r, err := sync.NewRules(a, sync.WithAutoRules(rules.Rules))
		if err != nil {
			d.r.opts.Log.Warnf("%v; changes to %s rebuild it", err, im.Name)
			d.rules[im.Name] = nil
			continue
		}
		if d.rules[im.Name] == nil || d.autoFrom[im.Name] != rules.From {
			d.printf("%s: syncing %s, the rules its image declares in %s\n", im.Name, describeRules(rules), rules.From)
		}
		d.autoFrom[im.Name] = rules.From
		d.rules[im.Name] = r
	}
}

// describeRules says what rules sync: "**/*.go to /workspace".
func describeRules(r buildpacks.SyncRules) string {
	s := ""
	for i, rule := range r.Rules {
		if i > 0 {
			s += ", "
		}
		s += rule.Src + " to " + rule.Dest
	}
	return s
}

// readAutoRules reads the sync rules of the built image im, from the
// registry it was pushed to or else the Docker daemon it was loaded into.
func (d *dev) readAutoRules(ctx context.Context, im artifact.Image) (buildpacks.SyncRules, error) {
	bi, err := d.r.readImage(ctx, im.Ref)
	if err != nil {
		return buildpacks.SyncRules{}, fmt.Errorf("reading the sync rules of %s: %w", im.Ref, err)
	}
	defer bi.done()
	return buildpacks.ReadSyncRules(buildpacks.ImageSource{Ref: im.Ref, Labels: bi.Config.Labels, WorkingDir: bi.Config.WorkingDir, Layer: bi.Layer})
}
