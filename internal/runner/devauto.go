package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/buildpacks"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/docker"
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
	src, done, err := d.r.imageSource(ctx, im.Ref)
	if err != nil {
		return buildpacks.SyncRules{}, fmt.Errorf("reading the sync rules of %s: %w", im.Ref, err)
	}
	defer done()
	return buildpacks.ReadSyncRules(src)
}

// imageSource reads the configuration of the image ref, and its layers on
// demand: from the registry images were pushed to, else from the Docker
// daemon they were loaded into (saved to a temporary file the first time
// a layer is asked for; done removes it).
func (r *Runner) imageSource(ctx context.Context, ref string) (buildpacks.ImageSource, func(), error) {
	img, regErr := r.registry(r.insecureRegistries(r.lastBuild)).Image(ctx, ref, nil)
	if regErr == nil {
		src, err := sourceOf(ref, img)
		return src, func() {}, err
	}
	cli, err := docker.NewClient()
	if err != nil {
		return buildpacks.ImageSource{}, nil, errors.Join(regErr, err)
	}
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		cli.Close()
		return buildpacks.ImageSource{}, nil, fmt.Errorf("not in its registry (%v) nor in the Docker daemon (%v)", regErr, err)
	}
	src := buildpacks.ImageSource{Ref: ref}
	if c := res.Config; c != nil {
		src.Labels, src.WorkingDir = c.Labels, c.WorkingDir
	}
	var saved string
	src.Layer = func(diffID string) (io.ReadCloser, error) {
		if saved == "" {
			f, err := os.CreateTemp("", "skiff-image-*.tar")
			if err != nil {
				return nil, err
			}
			saved = f.Name()
			rc, err := cli.ImageSave(ctx, []string{ref})
			if err == nil {
				_, err = io.Copy(f, rc)
				rc.Close()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, fmt.Errorf("saving %s from the Docker daemon: %w", ref, err)
			}
		}
		img, err := tarball.ImageFromPath(saved, nil)
		if err != nil {
			return nil, err
		}
		return uncompressedLayer(img, diffID)
	}
	return src, func() {
		cli.Close()
		if saved != "" {
			os.Remove(saved)
		}
	}, nil
}

// sourceOf is the ImageSource of an image read from a registry.
func sourceOf(ref string, img v1.Image) (buildpacks.ImageSource, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return buildpacks.ImageSource{}, fmt.Errorf("reading the configuration of %s: %w", ref, err)
	}
	return buildpacks.ImageSource{
		Ref: ref, Labels: cf.Config.Labels, WorkingDir: cf.Config.WorkingDir,
		Layer: func(diffID string) (io.ReadCloser, error) { return uncompressedLayer(img, diffID) },
	}, nil
}

func uncompressedLayer(img v1.Image, diffID string) (io.ReadCloser, error) {
	h, err := v1.NewHash(diffID)
	if err != nil {
		return nil, err
	}
	l, err := img.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return l.Uncompressed()
}
